"""Registering a source: the record of where a media file came from, stored as ``<key>/source.json``.

A source is identified by the content fingerprint of its bytes (:mod:`media_assets.core.fingerprint`) and
named by a readable key: a slug of the first file name plus a short hash (``interview-march-7f3a9c2d``), so a
person finds it by name in the Dagster UI. The content index (``_index/content/<content id>`` in the store, one
atomic create per content) maps the bytes to that key: the same bytes dropped later under another name, in the
inbox folder or in an S3 bucket, are the same partition, and every other URI where they were seen is kept in
``aliases``. Partitions made before readable keys are named by the content id itself and stay valid.

What a file *is* is decided by probing its content in the assets, never by its extension; the sensors only use
a configurable include glob list (:data:`DEFAULT_INCLUDE_GLOBS`) to ignore obviously unrelated files, and skip
hidden and temporary files (:func:`is_candidate_name`).
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import stat
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field

from media_assets.core.fingerprint import content_id_for, fingerprint_ranges, partition_key_for

SOURCE_NAME = "source.json"
INDEX_KEY = "_index"  # the store folder of the content index (not a partition: keys have no "_")

VIDEO_EXTENSIONS: tuple[str, ...] = (
    "mp4", "mov", "mkv", "webm", "avi", "m4v", "mpg", "mpeg", "ts", "mts", "m2ts", "wmv", "flv", "3gp", "ogv",
    "mxf",
)  # fmt: skip
AUDIO_EXTENSIONS: tuple[str, ...] = (
    "mp3", "wav", "flac", "ogg", "oga", "opus", "m4a", "aac", "wma", "aiff", "aif",
)  # fmt: skip
DEFAULT_INCLUDE_GLOBS: tuple[str, ...] = tuple(f"*.{ext}" for ext in (*VIDEO_EXTENSIONS, *AUDIO_EXTENSIONS))
TEMP_SUFFIXES = (".part", ".tmp", ".crdownload")
DEFAULT_SETTLE_SECONDS = 2.0


class SourceChangedError(OSError):
    """The file changed (size or mtime) while it was being fingerprinted: try again later."""


class NotARegularFileError(OSError):
    """A FIFO, socket, device or folder where a media file was expected."""


class SourceRecord(BaseModel):
    """Where a partition's bytes came from (``<key>/source.json``)."""

    model_config = ConfigDict(extra="ignore")

    key: str = Field(description="Partition key: slug of the first file name plus a short content hash.")
    uri: str = Field(description="Where the bytes were first seen: absolute local path or s3://bucket/key.")
    size_bytes: int
    mtime: str = Field(description="Modification time (S3: LastModified), ISO 8601 UTC.")
    fingerprint: str = Field(description="Content fingerprint (hex).")
    etag: str | None = Field(default=None, description="S3 ETag (without quotes), if from S3.")
    registered_at: str = Field(description="When this record was written, ISO 8601 UTC.")
    aliases: list[str] = Field(default_factory=list, description="Other URIs where the same bytes were seen.")

    def candidates(self) -> list[str]:
        """Every URI where these bytes were seen, the preferred one first."""
        return list(dict.fromkeys([self.uri, *self.aliases]))

    @property
    def content_id(self) -> str:
        """What identifies the bytes, whatever their name (:func:`content_id_for`)."""
        return content_id_for(self.fingerprint)


class Registration(NamedTuple):
    """The outcome of :func:`register_source`."""

    key: str  # the partition the bytes belong to (a name seen first, or a key from before readable keys)
    created: bool  # ``source.json`` was new: the bytes were never registered before


class _SourceStore(Protocol):
    def exists(self, key: str, name: str) -> bool: ...
    def put_bytes_if_absent(self, key: str, name: str, data: bytes) -> bool: ...
    def put_json(self, key: str, name: str, obj: Any) -> str: ...
    def get_bytes(self, key: str, name: str) -> bytes: ...


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


def iso_utc(value: datetime | float | None = None) -> str:
    """ISO 8601 UTC with a ``Z`` suffix (now if ``value`` is None; floats are POSIX seconds)."""
    if value is None:
        dt = datetime.now(UTC)
    elif isinstance(value, datetime):
        dt = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        dt = datetime.fromtimestamp(float(value), UTC)
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")


def iso_utc_ns(ns: int) -> str:
    """ISO 8601 UTC from POSIX nanoseconds (exact to the microsecond)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    dt = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")


def is_candidate_name(name: str, include: Sequence[str] = DEFAULT_INCLUDE_GLOBS) -> bool:
    """Whether a file name (or an S3 key: its last segment is used) should be picked up by a sensor.

    Hidden files (``.name``) and temporary downloads (``.part``, ``.tmp``, ``.crdownload``) are skipped; the
    rest must match one of the ``include`` globs (case-insensitive, matched against the base name).
    """
    base = name.rsplit("/", 1)[-1]
    if not base or base.startswith("."):
        return False
    lower = base.lower()
    if lower.endswith(TEMP_SUFFIXES):
        return False
    return any(fnmatch.fnmatchcase(lower, pattern.lower()) for pattern in include)


def _read_exact(fh: BinaryIO, start: int, length: int) -> bytes:
    fh.seek(start)
    parts = []
    remaining = length
    while remaining > 0:
        chunk = fh.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


# --------------------------------------------------------------------------------------------------------------
# Describing sources
# --------------------------------------------------------------------------------------------------------------


def local_uri(path: str | os.PathLike[str]) -> Path:
    """The absolute, normalised path a local source is recorded under: ``..`` and symlinked folders resolved,
    the file name kept as given (a symlinked file is recorded under its own name)."""
    p = Path(path).expanduser()
    return p.parent.resolve() / p.name


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def not_a_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as a media file (None if it is a regular file), without opening it: opening a
    FIFO would block."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        try:
            target = os.readlink(path)
        except OSError:
            return "no such file or folder"
        return f"broken symbolic link (points to {target!r}, which does not exist)"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link points back to itself)"
        if exc.errno == errno.ENAMETOOLONG:
            return "file name too long"
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISREG(st.st_mode):
        return None
    for check, kind in _KINDS:
        if check(st.st_mode):
            return f"is {kind}, not a regular file"
    return "not a regular file"


def describe_local(path: str | os.PathLike[str], *, expect: tuple[int, int] | None = None) -> SourceRecord:
    """Fingerprint a local file and describe it.

    ``expect`` is an optional ``(size, mtime_ns)`` seen earlier (e.g. by a sensor's directory walk). Raises
    :class:`SourceChangedError` if the file differs from ``expect`` or changes while it is being read,
    :class:`NotARegularFileError` for FIFOs, sockets, devices and folders (checked before opening, and again
    on the opened file: a FIFO is opened without blocking), ``FileNotFoundError``/``PermissionError`` as usual.
    """
    p = local_uri(path)
    problem = not_a_file_problem(p)
    if problem == "no such file or folder":
        raise FileNotFoundError(errno.ENOENT, problem, str(p))
    if problem == "permission denied":
        raise PermissionError(errno.EACCES, problem, str(p))
    if problem is not None:
        raise (IsADirectoryError if p.is_dir() else NotARegularFileError)(f"{p}: {problem}")
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        before = os.fstat(fh.fileno())
        if not stat.S_ISREG(before.st_mode):  # replaced between the check and the open
            raise NotARegularFileError(f"{p}: not a regular file")
        os.set_blocking(fh.fileno(), True)
        if expect is not None and (before.st_size, before.st_mtime_ns) != tuple(expect):
            raise SourceChangedError(f"{p}: changed since it was listed")
        fingerprint = fingerprint_ranges(before.st_size, lambda start, length: _read_exact(fh, start, length))
        after = os.fstat(fh.fileno())
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise SourceChangedError(f"{p}: changed while it was being read")
    return SourceRecord(
        key=partition_key_for(p.name, fingerprint),
        uri=str(p),
        size_bytes=before.st_size,
        mtime=iso_utc_ns(before.st_mtime_ns),
        fingerprint=fingerprint,
        etag=None,
        registered_at=iso_utc(),
    )


def describe_s3(
    client: Any,
    bucket: str,
    key: str,
    size: int | None = None,
    etag: str | None = None,
    last_modified: datetime | None = None,
) -> SourceRecord:
    """Fingerprint an S3 object with range GETs (a few MiB at most, never the whole of a big object).

    Missing ``size``/``etag``/``last_modified`` are read with a HEAD. Every range GET carries ``If-Match`` with
    the ETag, so an object replaced while it is being fingerprinted fails (``PreconditionFailed``) instead of
    mixing two versions.
    """
    if size is None or etag is None or last_modified is None:
        head = client.head_object(Bucket=bucket, Key=key)
        size = int(head["ContentLength"]) if size is None else size
        etag = head.get("ETag") if etag is None else etag
        last_modified = head.get("LastModified") if last_modified is None else last_modified
    quoted = etag if not etag or etag.startswith('"') else f'"{etag}"'

    def read(start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Range": f"bytes={start}-{start + length - 1}",
        }
        if quoted:
            kwargs["IfMatch"] = quoted
        body = client.get_object(**kwargs)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    fingerprint = fingerprint_ranges(int(size), read)
    return SourceRecord(
        key=partition_key_for(key, fingerprint),
        uri=f"s3://{bucket}/{key}",
        size_bytes=int(size),
        mtime=iso_utc(last_modified),
        fingerprint=fingerprint,
        etag=etag.strip('"') if etag else None,
        registered_at=iso_utc(),
    )


# --------------------------------------------------------------------------------------------------------------
# Registering
# --------------------------------------------------------------------------------------------------------------


def _record_bytes(record: SourceRecord) -> bytes:
    # Same encoding as the media store's put_json: sorted keys, indent 2, UTF-8.
    text = json.dumps(record.model_dump(mode="json"), sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _index_name(content_id: str) -> str:
    return f"content/{content_id}"


def _indexed_key(store_backend: _SourceStore, content_id: str) -> str:
    return store_backend.get_bytes(INDEX_KEY, _index_name(content_id)).decode("utf-8").strip()


def find_key(store_backend: _SourceStore, record: SourceRecord) -> str | None:
    """The partition key these bytes already have (None if they were never registered)."""
    cid = record.content_id
    if store_backend.exists(INDEX_KEY, _index_name(cid)):
        return _indexed_key(store_backend, cid)
    if store_backend.exists(cid, SOURCE_NAME):  # a partition made before readable keys
        return cid
    return None


def _claim_key(store_backend: _SourceStore, record: SourceRecord) -> str:
    """The bytes' partition key: the one they already have, else ``record.key``, claimed in the content index
    by an atomic create so that two sensors registering the same bytes under two names agree."""
    found = find_key(store_backend, record)
    cid = record.content_id
    if found is not None:
        if found == cid:  # index the legacy key too, so later lookups take one read
            store_backend.put_bytes_if_absent(INDEX_KEY, _index_name(cid), cid.encode("utf-8"))
        return found
    wanted = record.key
    if store_backend.exists(wanted, SOURCE_NAME) and load_source(store_backend, wanted).fingerprint != (
        record.fingerprint
    ):  # the same name and 40-bit hash for other bytes: the whole content id tells them apart
        wanted = f"{wanted.rsplit('-', 1)[0]}-{cid}"
    if store_backend.put_bytes_if_absent(INDEX_KEY, _index_name(cid), wanted.encode("utf-8")):
        return wanted
    return _indexed_key(store_backend, cid)  # another process claimed it first


def register_source(store_backend: _SourceStore, record: SourceRecord, *, prefer: bool = False) -> Registration:
    """Give the bytes their partition key and write ``<key>/source.json`` if absent (atomic create).

    The key is the one the bytes already have (through the content index), else ``record.key``. If the record
    exists, ``record.uri`` (and its aliases) are added to the stored ``aliases`` unless already known
    (idempotent). With ``prefer`` (a path the user just named), ``record.uri`` becomes the stored ``uri``, the
    one read first, and the previous one an alias. Raises ``ValueError`` if the stored record has a different
    fingerprint for the same key (a corrupted record or index).
    """
    key = _claim_key(store_backend, record)
    record = record.model_copy(update={"key": key})
    if store_backend.put_bytes_if_absent(key, SOURCE_NAME, _record_bytes(record)):
        return Registration(key, True)
    existing = load_source(store_backend, key)
    if existing.fingerprint != record.fingerprint:
        raise ValueError(
            f"partition key {key} is already used by different content "
            f"({existing.uri}, fingerprint {existing.fingerprint[:16]}...)"
        )
    seen = [record.uri, *record.aliases]
    if prefer and existing.uri != record.uri:
        uris = list(dict.fromkeys([record.uri, existing.uri, *existing.aliases, *record.aliases]))
        updated = existing.model_copy(update={"uri": uris[0], "aliases": uris[1:]})
    else:
        known = {existing.uri, *existing.aliases}
        new = [uri for uri in dict.fromkeys(seen) if uri not in known]
        updated = existing.model_copy(update={"aliases": [*existing.aliases, *new]}) if new else existing
    if updated is not existing:
        store_backend.put_json(key, SOURCE_NAME, updated.model_dump(mode="json"))
    return Registration(key, False)


def load_source(store_backend: _SourceStore, key: str) -> SourceRecord:
    """Read ``<key>/source.json``."""
    return SourceRecord.model_validate_json(store_backend.get_bytes(key, SOURCE_NAME))
