"""The media store: every artifact of a partition lives at ``<root>/<partition_key>/<name>``.

One interface, two backends, picked from the root:

* a local directory (``./media_data``, ``/srv/media``) -> :class:`LocalBackend`;
* an S3 prefix (``s3://bucket/prefix``) -> :class:`S3Backend` (boto3).

The backends are plain Python (usable without Dagster); :class:`MediaStore` is a thin Dagster resource that
builds one from its config and delegates to it.

Writes are atomic: the local backend writes a hidden temporary file in the destination folder, fsyncs it and
``os.replace``-s it onto the final name; S3 uses a single ``put_object`` (or boto3's ``upload_file``, whose
multipart upload only becomes visible when it completes and is aborted on failure). A crashed write never
leaves a half-written file under the final name.

Partition keys and names are validated (no ``..``/``.`` components, no absolute paths, no backslashes, no NUL
or other control characters, no hidden components, each component at most 255 UTF-8 bytes); names may
contain ``/`` for subfolders, e.g. ``keyframes/000123.jpg``. Hidden names are reserved for the store's own
temporary files and staging folders.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import IO, Any, BinaryIO, Protocol, runtime_checkable
from urllib.parse import unquote, urlparse

import dagster as dg
from pydantic import BaseModel, Field, PrivateAttr

from media_assets.errors import SourceNotFoundError

DEFAULT_ROOT = "./media_data"
ENV_STORE_ROOT = "MEDIA_ASSETS_STORE_ROOT"
ENV_S3_ENDPOINT_URL = "MEDIA_ASSETS_S3_ENDPOINT_URL"
ENV_S3_REGION = "MEDIA_ASSETS_S3_REGION"
ENV_CACHE_DIR = "MEDIA_ASSETS_CACHE_DIR"

MAX_COMPONENT_BYTES = 255
MAX_NAME_BYTES = 900  # leaves room for "<prefix>/<partition_key>/" under S3's 1,024-byte key limit
TMP_PREFIX = ".tmp-"
_HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
ORPHAN_AGE_S = 24 * 3600.0  # another host's temporary files are left alone unless this old
COPY_CHUNK = 1024 * 1024
S3_DELETE_BATCH = 1000
PUBLISH_WORKERS = 8

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,12}$")


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------


def _check_component(part: str, what: str, whole: str) -> None:
    if not part:
        raise ValueError(f"invalid {what} {whole!r}: empty path component")
    if part in (".", ".."):
        raise ValueError(f"invalid {what} {whole!r}: '.' and '..' are not allowed")
    if part.startswith("."):
        raise ValueError(f"invalid {what} {whole!r}: hidden components (starting with '.') are reserved")
    try:
        size = len(part.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"invalid {what} {whole!r}: not valid unicode") from None
    if size > MAX_COMPONENT_BYTES:
        raise ValueError(f"invalid {what} {whole!r}: a component is longer than {MAX_COMPONENT_BYTES} bytes")


def _check_common(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"invalid {what}: expected a string, got {type(value).__name__}")
    if "\\" in value:
        raise ValueError(f"invalid {what} {value!r}: backslashes are not allowed")
    if _CONTROL_CHARS.search(value):
        raise ValueError(f"invalid {what} {value!r}: NUL and control characters are not allowed")
    if value.startswith("/") or value.startswith("~") or _DRIVE.match(value):
        raise ValueError(f"invalid {what} {value!r}: absolute paths are not allowed")
    return value


def validate_partition_key(key: str) -> str:
    """Return ``key`` if it is a safe single path component, else raise ``ValueError``."""
    _check_common(key, "partition key")
    if "/" in key:
        raise ValueError(f"invalid partition key {key!r}: '/' is not allowed")
    _check_component(key, "partition key", key)
    return key


def validate_name(name: str) -> str:
    """Return ``name`` if it is a safe relative name (``/`` allowed between components), else raise."""
    _check_common(name, "name")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ValueError(f"invalid name {name[:40]!r}...: longer than {MAX_NAME_BYTES} bytes")
    for part in name.split("/"):
        _check_component(part, "name", name)
    return name


def validate_prefix(prefix: str) -> str:
    """A name prefix for ``list``/``delete_prefix``: ``""``, a name, or a name ending in ``/``."""
    if prefix == "":
        return prefix
    validate_name(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def _folder_prefix(name_prefix: str) -> str:
    """Normalise a folder name used by ``publish_dir``/``local_dir`` (``""`` means the partition root)."""
    if name_prefix == "":
        return ""
    return validate_name(name_prefix[:-1] if name_prefix.endswith("/") else name_prefix)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")`` (the key is returned verbatim)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"missing bucket in {uri!r}")
    return bucket, key


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


def _json_default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def dumps_json(obj: Any) -> bytes:
    """The store's JSON encoding: sorted keys, indent 2, UTF-8 (not ASCII-escaped), trailing newline."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    text = json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, default=_json_default)
    return (text + "\n").encode("utf-8")


def default_cache_dir() -> Path:
    """``$MEDIA_ASSETS_CACHE_DIR``, else ``$XDG_CACHE_HOME/media-assets`` (``~/.cache/media-assets``), else a
    folder under the system temp dir when the home folder is not writable."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidate = Path(base) / "media-assets"
    try:
        candidate.mkdir(parents=True, exist_ok=True)
        if os.access(candidate, os.W_OK):
            return candidate
    except OSError:
        pass
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"media-assets-cache-{uid}"


def _content_type(name: str) -> str:
    if name.endswith(".json"):
        return "application/json"
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def copy_stream(src: IO[bytes], dst: IO[bytes], chunk_size: int = COPY_CHUNK) -> int:
    """Copy ``src`` to ``dst`` in chunks; returns the number of bytes copied."""
    total = 0
    while True:
        chunk = src.read(chunk_size)
        if not chunk:
            return total
        dst.write(chunk)
        total += len(chunk)


def atomic_write(path: Path, write: Callable[[BinaryIO], object], *, exclusive: bool = False) -> bool:
    """Write ``path`` atomically: a hidden temp file in the same folder, fsync, then ``os.replace``.

    With ``exclusive=True`` the file is only created if absent (``os.link`` of the finished temp file, which
    fails atomically if the name exists); returns False when it already existed. On any error the temp file is
    removed and the final name is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=tmp_prefix())
    tmp: str | None = tmp_name
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        if not exclusive:
            os.replace(tmp_name, path)
            tmp = None
            return True
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return False
        except OSError:
            # Filesystems without hard links: best effort (check, then replace).
            if path.exists():
                return False
            os.replace(tmp_name, path)
            tmp = None
        return True
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def tmp_prefix(tag: str = "") -> str:
    """Prefix of this process's temporary names (``.tmp-<host>-<pid>-``): :func:`sweep_orphans` can tell whether
    their writer is still alive."""
    return f"{TMP_PREFIX}{_HOST_TAG}-{os.getpid()}-{tag}"


_TMP_NAME = re.compile(r"^\.tmp-(?:([0-9a-f]{8})-(\d+)-)?")


def is_orphan(path: Path, *, ours: bool = False) -> bool:
    """A temporary file or folder whose writer is gone (its process died, or it is an old one of another host);
    with ``ours``, this process's own count as gone too (it is about to exit)."""
    m = _TMP_NAME.match(path.name)
    if m is None:
        return False
    host, pid = m.group(1), m.group(2)
    if ours and host == _HOST_TAG and pid == str(os.getpid()):
        return True
    if host == _HOST_TAG and pid:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    try:
        return time.time() - path.lstat().st_mtime > ORPHAN_AGE_S
    except FileNotFoundError:
        return False


def sweep_orphans(folder: Path, *, match: str = "", ours: bool = False) -> int:
    """Remove orphaned temporary files and folders (see :func:`is_orphan`) under ``folder`` whose names contain
    ``match``; returns how many were removed. A crashed or killed write leaves only these behind."""
    if not folder.is_dir():
        return 0
    removed = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*filenames, *dirnames]:
            if not name.startswith(TMP_PREFIX) or match not in name:
                continue
            path = Path(dirpath) / name
            if not is_orphan(path, ours=ours):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                dirnames.remove(name)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            removed += 1
    return removed


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _iter_local_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix name, path) of the regular files under ``folder``, skipping hidden entries."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            if fname.startswith("."):
                continue
            full = Path(dirpath) / fname
            if not full.is_file():
                continue
            yield full.relative_to(folder).as_posix(), full


def _client_error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is_not_found(exc: BaseException) -> bool:
    return _client_error_code(exc) in ("404", "NoSuchKey", "NotFound")


def make_s3_client(endpoint_url: str | None = None, region_name: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32)
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region_name, config=config)


# --------------------------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------------------------


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
        raise NotImplementedError

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

    def publish_dir(
        self, key: str, name_prefix: str, local_dir: str | os.PathLike[str], *, replace: bool = False
    ) -> list[str]:
        """Publish every (non-hidden) file under ``local_dir`` as ``<key>/<name_prefix>/<relative path>``, each
        atomically. With ``replace=True`` names under ``<name_prefix>/`` that were not published are deleted
        afterwards. Returns the published names (sorted)."""
        validate_partition_key(key)
        prefix = _folder_prefix(name_prefix)
        if replace and not prefix:
            raise ValueError("replace=True needs a non-empty name_prefix (a subfolder)")
        return self._publish(key, prefix, Path(local_dir), replace=replace, move=False)

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


class S3Backend(_BaseBackend):
    """Artifacts in S3: ``s3://<bucket>/<prefix>/<key>/<name>``."""

    def __init__(
        self,
        root: str,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        transfer_config: Any = None,
    ) -> None:
        super().__init__(cache_dir=cache_dir, endpoint_url=endpoint_url, region_name=region_name, s3_client=client)
        self.bucket, prefix = parse_s3_uri(root)
        self.prefix = prefix.strip("/")
        if self.prefix:
            for part in self.prefix.split("/"):
                if part in ("", ".", ".."):
                    raise ValueError(f"invalid S3 root {root!r}")
        self.transfer_config = transfer_config

    def __repr__(self) -> str:
        return f"S3Backend('s3://{self.bucket}/{self.prefix}')"

    @property
    def client(self) -> Any:
        return self.s3_client

    def _partition_prefix(self, key: str) -> str:
        validate_partition_key(key)
        return f"{self.prefix}/{key}/" if self.prefix else f"{key}/"

    def object_key(self, key: str, name: str) -> str:
        return self._partition_prefix(key) + validate_name(name)

    def uri(self, key: str, name: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key, name)}"

    def exists(self, key: str, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key, name))
        except Exception as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def put_bytes(self, key: str, name: str, data: bytes) -> str:
        obj_key = self.object_key(key, name)
        self.client.put_object(Bucket=self.bucket, Key=obj_key, Body=data, ContentType=_content_type(name))
        return f"s3://{self.bucket}/{obj_key}"

    def put_bytes_if_absent(self, key: str, name: str, data: bytes) -> bool:
        """Conditional create (``If-None-Match: *``); True if this call created the object."""
        obj_key = self.object_key(key, name)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=obj_key, Body=data, ContentType=_content_type(name), IfNoneMatch="*"
            )
        except Exception as exc:
            code = _client_error_code(exc)
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            if code not in ("NotImplemented", "501"):
                raise
            # A server without conditional writes: best effort (check, then put).
            if self.exists(key, name):
                return False
            self.put_bytes(key, name, data)
        return True

    def put_file(self, key: str, name: str, local_path: str | os.PathLike[str]) -> str:
        obj_key = self.object_key(key, name)
        kwargs: dict[str, Any] = {"ExtraArgs": {"ContentType": _content_type(name)}}
        if self.transfer_config is not None:
            kwargs["Config"] = self.transfer_config
        self.client.upload_file(os.fspath(local_path), self.bucket, obj_key, **kwargs)
        return f"s3://{self.bucket}/{obj_key}"

    def get_bytes(self, key: str, name: str) -> bytes:
        obj_key = self.object_key(key, name)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=obj_key)
        except Exception as exc:
            if _is_not_found(exc):
                raise FileNotFoundError(f"s3://{self.bucket}/{obj_key}") from exc
            raise
        return response["Body"].read()

    def fetch(self, key: str, name: str) -> Path:
        """Download an artifact into the cache dir (reused while size+ETag are unchanged)."""
        obj_key = self.object_key(key, name)
        return self._download_cached(self.bucket, obj_key, kind="artifacts", display=f"s3://{self.bucket}/{obj_key}")

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"]

    def list(self, key: str, prefix: str = "") -> list[str]:
        base = self._partition_prefix(key)
        validate_prefix(prefix)
        names = []
        for obj_key in self._iter_keys(base + prefix):
            name = obj_key[len(base) :]
            if name and not name.endswith("/"):
                names.append(name)
        return sorted(names)

    def _delete_keys(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        for i in range(0, len(keys), S3_DELETE_BATCH):
            batch = keys[i : i + S3_DELETE_BATCH]
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise OSError(f"could not delete {len(errors)} objects, e.g. {first.get('Key')!r}: {first}")
        return len(keys)

    def delete_prefix(self, key: str, prefix: str) -> int:
        """Delete every object whose name starts with ``prefix`` (``""`` = the whole partition)."""
        base = self._partition_prefix(key)
        validate_prefix(prefix)
        return self._delete_keys(list(self._iter_keys(base + prefix)))

    def publish_dir(
        self, key: str, name_prefix: str, local_dir: str | os.PathLike[str], *, replace: bool = False
    ) -> list[str]:
        """Upload every (non-hidden) file under ``local_dir`` as ``<key>/<name_prefix>/<relative path>`` (in
        parallel; each object appears atomically). With ``replace=True`` names under ``<name_prefix>/`` that
        were not published are deleted afterwards. Returns the published names (sorted)."""
        validate_partition_key(key)
        prefix = _folder_prefix(name_prefix)
        if replace and not prefix:
            raise ValueError("replace=True needs a non-empty name_prefix (a subfolder)")
        return self._publish(key, prefix, Path(local_dir), replace=replace, move=False)

    def _publish(self, key: str, name_prefix: str, local_dir: Path, *, replace: bool, move: bool) -> list[str]:
        files = [(_join(name_prefix, rel), src) for rel, src in _iter_local_files(local_dir)]
        for name, _ in files:
            validate_name(name)
        if files:
            with ThreadPoolExecutor(max_workers=min(PUBLISH_WORKERS, len(files))) as pool:
                list(pool.map(lambda item: self.put_file(key, item[0], item[1]), files))
        published = sorted(name for name, _ in files)
        if replace:
            keep = set(published)
            stale = [self.object_key(key, n) for n in self.list(key, name_prefix + "/") if n not in keep]
            self._delete_keys(stale)
        return published


def _join(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}" if prefix else rel


def make_backend(
    root: str | os.PathLike[str] = DEFAULT_ROOT,
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    s3_client: Any = None,
) -> LocalBackend | S3Backend:
    """The backend for ``root``: ``s3://bucket/prefix`` -> :class:`S3Backend`, anything else -> local."""
    root_str = os.fspath(root)
    if root_str.startswith("s3://"):
        return S3Backend(
            root_str, client=s3_client, endpoint_url=endpoint_url, region_name=region_name, cache_dir=cache_dir
        )
    return LocalBackend(
        root_str, cache_dir=cache_dir, endpoint_url=endpoint_url, region_name=region_name, s3_client=s3_client
    )


# --------------------------------------------------------------------------------------------------------------
# Dagster resource
# --------------------------------------------------------------------------------------------------------------


class MediaStore(dg.ConfigurableResource):
    """Where every partition's artifacts live: ``<root>/<partition_key>/<name>``.

    ``root`` is a local directory or ``s3://bucket/prefix``. All methods delegate to the backend (see
    :class:`LocalBackend` / :class:`S3Backend`).
    """

    root: str = Field(default=DEFAULT_ROOT, description="Local directory or s3://bucket/prefix.")
    endpoint_url: str | None = Field(default=None, description="S3 endpoint (MinIO, SeaweedFS, ...).")
    region_name: str | None = Field(default=None, description="S3 region.")
    cache_dir: str | None = Field(
        default=None, description="Local cache for S3 sources/artifacts (default ~/.cache/media-assets)."
    )

    _backend: Any = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> MediaStore:
        """``MEDIA_ASSETS_STORE_ROOT`` (default ``./media_data``), ``MEDIA_ASSETS_S3_ENDPOINT_URL``,
        ``MEDIA_ASSETS_S3_REGION``, ``MEDIA_ASSETS_CACHE_DIR``."""
        return cls(
            root=os.environ.get(ENV_STORE_ROOT) or DEFAULT_ROOT,
            endpoint_url=os.environ.get(ENV_S3_ENDPOINT_URL) or None,
            region_name=os.environ.get(ENV_S3_REGION) or None,
            cache_dir=os.environ.get(ENV_CACHE_DIR) or None,
        )

    @property
    def backend(self) -> LocalBackend | S3Backend:
        if self._backend is None:
            self._backend = make_backend(
                self.root, endpoint_url=self.endpoint_url, region_name=self.region_name, cache_dir=self.cache_dir
            )
        return self._backend

    def uri(self, key: str, name: str) -> str:
        return self.backend.uri(key, name)

    def exists(self, key: str, name: str) -> bool:
        return self.backend.exists(key, name)

    def put_bytes(self, key: str, name: str, data: bytes) -> str:
        return self.backend.put_bytes(key, name, data)

    def put_bytes_if_absent(self, key: str, name: str, data: bytes) -> bool:
        return self.backend.put_bytes_if_absent(key, name, data)

    def put_file(self, key: str, name: str, local_path: str | os.PathLike[str]) -> str:
        return self.backend.put_file(key, name, local_path)

    def put_json(self, key: str, name: str, obj: Any) -> str:
        return self.backend.put_json(key, name, obj)

    def get_bytes(self, key: str, name: str) -> bytes:
        return self.backend.get_bytes(key, name)

    def get_json(self, key: str, name: str) -> Any:
        return self.backend.get_json(key, name)

    def list(self, key: str, prefix: str = "") -> list[str]:
        return self.backend.list(key, prefix)

    def delete_prefix(self, key: str, prefix: str) -> int:
        return self.backend.delete_prefix(key, prefix)

    def publish_dir(
        self, key: str, name_prefix: str, local_dir: str | os.PathLike[str], *, replace: bool = False
    ) -> list[str]:
        return self.backend.publish_dir(key, name_prefix, local_dir, replace=replace)

    def local_dir(
        self, key: str, name_prefix: str = "", *, replace: bool = False
    ) -> contextlib.AbstractContextManager[Path]:
        return self.backend.local_dir(key, name_prefix, replace=replace)

    def fetch(self, key: str, name: str) -> Path:
        return self.backend.fetch(key, name)

    def fetch_source(self, uri: str) -> Path:
        return self.backend.fetch_source(uri)

    def sweep_orphans(self, key: str, *, ours: bool = False) -> int:
        return self.backend.sweep_orphans(key, ours=ours)
