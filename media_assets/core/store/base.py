"""What a store backend offers (:class:`StoreBackend`) and the parts both backends share (:class:`_BaseBackend`):
JSON helpers, staging folders, fetching sources and the S3 download cache."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlparse

from media_assets.core.errors import SourceNotFoundError
from media_assets.core.store.files import default_cache_dir, dumps_json, sweep_orphans, tmp_prefix
from media_assets.core.store.naming import _folder_prefix, parse_s3_uri, validate_partition_key
from media_assets.core.store.s3_client import _is_not_found, make_s3_client

_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,12}$")


@runtime_checkable
class StoreBackend(Protocol):
    """What both backends (and the :class:`MediaStore` resource) offer."""

    def uri(self, key: str, name: str) -> str: ...
    def exists(self, key: str, name: str) -> bool: ...
    def put_bytes(self, key: str, name: str, data: bytes) -> str: ...
    def put_bytes_if_absent(self, key: str, name: str, data: bytes) -> bool: ...
    def put_file(self, key: str, name: str, local_path: str | os.PathLike[str]) -> str: ...
    def put_json(self, key: str, name: str, obj: Any) -> str: ...
    def get_bytes(self, key: str, name: str) -> bytes: ...
    def get_json(self, key: str, name: str) -> Any: ...
    def list(self, key: str, prefix: str = "") -> list[str]: ...
    def delete_prefix(self, key: str, prefix: str) -> int: ...
    def publish_dir(
        self, key: str, name_prefix: str, local_dir: str | os.PathLike[str], *, replace: bool = False
    ) -> list[str]: ...
    def local_dir(
        self, key: str, name_prefix: str = "", *, replace: bool = False
    ) -> contextlib.AbstractContextManager[Path]: ...
    def fetch(self, key: str, name: str) -> Path: ...
    def fetch_source(self, uri: str) -> Path: ...


class _BaseBackend:
    """Shared parts: JSON helpers, staging folders and the S3 download cache (used by both backends, since a
    local store can still receive sources dropped in S3)."""

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        s3_client: Any = None,
    ) -> None:
        self._cache_dir = Path(cache_dir).expanduser() if cache_dir else None
        self.endpoint_url = endpoint_url
        self.region_name = region_name
        self._s3_client = s3_client
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------------------
    @property
    def cache_dir(self) -> Path:
        if self._cache_dir is None:
            self._cache_dir = default_cache_dir()
        return self._cache_dir

    @property
    def s3_client(self) -> Any:
        if self._s3_client is None:
            with self._lock:
                if self._s3_client is None:
                    self._s3_client = make_s3_client(self.endpoint_url, self.region_name)
        return self._s3_client

    def _staging_parent(self) -> Path:
        return self.cache_dir / "staging"

    # -- abstract -------------------------------------------------------------------------------------------
    def put_bytes(self, key: str, name: str, data: bytes) -> str:
        raise NotImplementedError

    def get_bytes(self, key: str, name: str) -> bytes:
        raise NotImplementedError

    def publish_dir(
        self, key: str, name_prefix: str, local_dir: str | os.PathLike[str], *, replace: bool = False
    ) -> list[str]:
        """Publish every (non-hidden) file under ``local_dir`` as ``<key>/<name_prefix>/<relative path>``, each
        atomically (S3: uploaded in parallel). With ``replace=True`` names under ``<name_prefix>/`` that were not
        published are deleted afterwards. Returns the published names (sorted)."""
        validate_partition_key(key)
        prefix = _folder_prefix(name_prefix)
        if replace and not prefix:
            raise ValueError("replace=True needs a non-empty name_prefix (a subfolder)")
        return self._publish(key, prefix, Path(local_dir), replace=replace, move=False)

    def _publish(self, key: str, name_prefix: str, local_dir: Path, *, replace: bool, move: bool) -> list[str]:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------------------
    def sweep_orphans(self, key: str, *, ours: bool = False) -> int:
        """Remove what killed writers left of ``key``: temporary files and staging folders (see
        :func:`sweep_orphans`)."""
        return sweep_orphans(self._staging_parent(), match=f"-{validate_partition_key(key)}-", ours=ours)

    def put_json(self, key: str, name: str, obj: Any) -> str:
        """Write ``obj`` as JSON (sorted keys, indent 2, UTF-8); pydantic models are dumped in JSON mode."""
        return self.put_bytes(key, name, dumps_json(obj))

    def get_json(self, key: str, name: str) -> Any:
        return json.loads(self.get_bytes(key, name).decode("utf-8"))

    @contextlib.contextmanager
    def local_dir(self, key: str, name_prefix: str = "", *, replace: bool = False) -> Iterator[Path]:
        """A local staging folder; on a clean exit every file written in it is published under
        ``<key>/<name_prefix>/<relative path>`` (see :meth:`publish_dir`); on an exception nothing is
        published. The folder is always removed."""
        validate_partition_key(key)
        prefix = _folder_prefix(name_prefix)
        if replace and not prefix:
            raise ValueError("replace=True needs a non-empty name_prefix (a subfolder)")
        parent = self._staging_parent()
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=tmp_prefix(f"{key}-"), dir=parent))
        try:
            yield staging
            self._publish(key, prefix, staging, replace=replace, move=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def fetch_source(self, uri: str) -> Path:
        """A local path for a source URI: local paths (or ``file://`` URIs) as they are; ``s3://`` objects are
        downloaded once into the cache dir (keyed by a hash of endpoint/bucket/key, atomically) and reused
        while their size and ETag are unchanged. Raises :class:`SourceNotFoundError` if it does not exist."""
        if uri.startswith("s3://"):
            bucket, key = parse_s3_uri(uri)
            if not key or key.endswith("/"):
                raise ValueError(f"not an object URI: {uri!r}")
            return self._download_cached(bucket, key, kind="sources", display=uri)
        path = Path(unquote(urlparse(uri).path)) if uri.startswith("file://") else Path(uri).expanduser()
        if not path.is_file():
            raise SourceNotFoundError(uri, "source file does not exist (or is not a regular file)")
        return path

    def _download_cached(self, bucket: str, key: str, *, kind: str, display: str) -> Path:
        client = self.s3_client
        try:
            head = client.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if _is_not_found(exc):
                if kind == "sources":
                    raise SourceNotFoundError(display, "source object does not exist") from exc
                raise FileNotFoundError(display) from exc
            raise
        size = int(head["ContentLength"])
        etag = str(head.get("ETag", "")).strip('"')
        ident = f"{self.endpoint_url or ''}\0{bucket}\0{key}".encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(ident).hexdigest()[:32]
        folder = self.cache_dir / kind / digest[:2] / digest
        suffix = PurePath(key.rsplit("/", 1)[-1]).suffix
        suffix = suffix if _SAFE_SUFFIX.match(suffix) else ""
        version = hashlib.sha256(f"{size}\0{etag}".encode()).hexdigest()[:16]
        target = folder / f"{version}{suffix}"
        if target.is_file() and target.stat().st_size == size:
            return target
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=tmp_prefix())
        os.close(fd)
        try:
            client.download_file(bucket, key, tmp)
            got = os.path.getsize(tmp)
            if got != size:
                raise OSError(f"{display}: downloaded {got} bytes, expected {size} (object changed?)")
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        for old in folder.iterdir():  # drop older versions of the same object
            if old != target and not old.name.startswith("."):
                with contextlib.suppress(OSError):
                    old.unlink()
        return target
