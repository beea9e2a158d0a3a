"""Local files: atomic writes, chunked copies, the store's JSON encoding, the cache folder, and the temporary
names of writers (so that what a killed writer left can be swept)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import IO, Any, BinaryIO

from pydantic import BaseModel

from media_assets.core.store.config import ENV_CACHE_DIR

TMP_PREFIX = ".tmp-"
_HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
ORPHAN_AGE_S = 24 * 3600.0  # another host's temporary files are left alone unless this old
COPY_CHUNK = 1024 * 1024


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
