"""Partition keys, names and prefixes: validation, and parsing ``s3://`` URIs.

Partition keys and names are validated (no ``..``/``.`` components, no absolute paths, no backslashes, no NUL
or other control characters, no hidden components, each component at most 255 UTF-8 bytes); names may
contain ``/`` for subfolders, e.g. ``keyframes/000123.jpg``. Hidden names are reserved for the store's own
temporary files and staging folders.
"""

from __future__ import annotations

import re

MAX_COMPONENT_BYTES = 255
MAX_NAME_BYTES = 900  # leaves room for "<prefix>/<partition_key>/" under S3's 1,024-byte key limit

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


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


def _join(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}" if prefix else rel
