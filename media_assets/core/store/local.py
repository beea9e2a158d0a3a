"""Artifacts in a local directory (:class:`LocalBackend`).

Writes are atomic: a hidden temporary file in the destination folder is fsynced and ``os.replace``-d onto the
final name, so a crashed write never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from media_assets.core.store.base import _BaseBackend
from media_assets.core.store.config import DEFAULT_ROOT
from media_assets.core.store.files import _fsync_file, _iter_local_files, atomic_write, copy_stream, sweep_orphans
from media_assets.core.store.naming import _join, validate_name, validate_partition_key, validate_prefix


class LocalBackend(_BaseBackend):
    """Artifacts in a local directory: ``<root>/<key>/<name>``."""

    def __init__(
        self,
        root: str | os.PathLike[str] = DEFAULT_ROOT,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        s3_client: Any = None,
    ) -> None:
        super().__init__(cache_dir=cache_dir, endpoint_url=endpoint_url, region_name=region_name, s3_client=s3_client)
        root_str = os.fspath(root)
        if root_str.startswith("file://"):
            root_str = unquote(urlparse(root_str).path)
        self.root = Path(root_str).expanduser().absolute()

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    def path(self, key: str, name: str) -> Path:
        return self.root / validate_partition_key(key) / validate_name(name)

    def _staging_parent(self) -> Path:
        # Inside the root, so publishing a staged file is a rename on the same filesystem.
        return self.root / ".staging"

    def uri(self, key: str, name: str) -> str:
        return str(self.path(key, name))

    def sweep_orphans(self, key: str, *, ours: bool = False) -> int:
        return super().sweep_orphans(key, ours=ours) + sweep_orphans(self.root / validate_partition_key(key), ours=ours)

    def exists(self, key: str, name: str) -> bool:
        return self.path(key, name).is_file()

    def put_bytes(self, key: str, name: str, data: bytes) -> str:
        path = self.path(key, name)
        atomic_write(path, lambda fh: fh.write(data))
        return str(path)

    def put_bytes_if_absent(self, key: str, name: str, data: bytes) -> bool:
        """Create ``<key>/<name>`` only if it does not exist (atomic); True if this call created it."""
        return atomic_write(self.path(key, name), lambda fh: fh.write(data), exclusive=True)

    def put_file(self, key: str, name: str, local_path: str | os.PathLike[str]) -> str:
        path = self.path(key, name)
        with open(local_path, "rb") as src:
            atomic_write(path, lambda fh: copy_stream(src, fh))
        return str(path)

    def get_bytes(self, key: str, name: str) -> bytes:
        return self.path(key, name).read_bytes()

    def fetch(self, key: str, name: str) -> Path:
        """Local path of an artifact (the file itself); ``FileNotFoundError`` if missing."""
        path = self.path(key, name)
        if not path.is_file():
            raise FileNotFoundError(str(path))
        return path

    def list(self, key: str, prefix: str = "") -> list[str]:
        """Names (relative to the partition, ``/``-separated, sorted) starting with ``prefix``."""
        base = self.root / validate_partition_key(key)
        validate_prefix(prefix)
        start = base
        if "/" in prefix:
            start = base / prefix.rsplit("/", 1)[0]
        if not start.is_dir():
            return []
        names = []
        for rel, _ in _iter_local_files(start):
            name = (start / rel).relative_to(base).as_posix()
            if name.startswith(prefix):
                names.append(name)
        return sorted(names)

    def delete_prefix(self, key: str, prefix: str) -> int:
        """Delete every name starting with ``prefix`` (string prefix, like S3; ``""`` = the whole partition).
        Returns how many files were deleted; empty folders left behind are removed."""
        names = self.list(key, prefix)
        base = self.root / key
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                (base / name).unlink()
        # prune empty folders (deepest first), including the partition folder itself
        if base.is_dir():
            for dirpath, _dirnames, _filenames in sorted(os.walk(base), key=lambda t: -len(t[0])):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
        return len(names)

    def _publish(self, key: str, name_prefix: str, local_dir: Path, *, replace: bool, move: bool) -> list[str]:
        files = [(_join(name_prefix, rel), src) for rel, src in _iter_local_files(local_dir)]
        for name, _ in files:
            validate_name(name)
        for name, src in files:
            dest = self.path(key, name)
            if move and not src.is_symlink():  # a staged symlink is published as a copy of its target
                _fsync_file(src)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dest)
            else:
                with open(src, "rb") as fh:
                    atomic_write(dest, lambda out, fh=fh: copy_stream(fh, out))
        published = sorted(name for name, _ in files)
        if replace:
            keep = set(published)
            for old in self.list(key, name_prefix + "/"):
                if old not in keep:
                    with contextlib.suppress(FileNotFoundError):
                        self.path(key, old).unlink()
        return published
