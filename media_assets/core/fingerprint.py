"""Content fingerprints that identify media, and the readable partition keys that name it.

The same bytes always give the same content id, wherever they were dropped (inbox folder or S3 bucket), so a
file dropped twice is one partition. The partition key a person sees is a slug of the first file name plus a
short hash (``interview-march-7f3a9c2d``, :func:`partition_key_for`); the store's content index maps the
content id to that key, so the same bytes under another name find it (:mod:`media_assets.sources`).

Files up to ``FULL_HASH_LIMIT`` are hashed whole; larger ones are hashed
from their size plus fixed samples (head, tail and evenly spaced blocks), which reads a few MiB even for a
film of many GiB and can be computed with S3 range reads without downloading the object.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

FULL_HASH_LIMIT = 16 * 1024 * 1024
EDGE_BYTES = 1024 * 1024
SAMPLE_BYTES = 64 * 1024
SAMPLES = 16
KEY_BYTES = 10  # 80 bits -> 16 base32 characters: the content id (and the partition key before readable keys)
SHORT_HASH_CHARS = 8  # 40 bits after the slug: names differ far more often than this collides
MAX_SLUG_CHARS = 40
_NOT_SLUG = re.compile(r"[^a-z0-9]+")

# A range reader returns the bytes [start, start + length) of the object.
RangeReader = Callable[[int, int], bytes]


def sample_ranges(size: int) -> list[tuple[int, int]]:
    """The (start, length) ranges that are hashed for an object of ``size`` bytes."""
    if size <= FULL_HASH_LIMIT:
        return [(0, size)] if size else []
    ranges = [(0, EDGE_BYTES)]
    span = size - 2 * EDGE_BYTES - SAMPLE_BYTES
    for i in range(SAMPLES):
        ranges.append((EDGE_BYTES + span * (i + 1) // (SAMPLES + 1), SAMPLE_BYTES))
    ranges.append((size - EDGE_BYTES, EDGE_BYTES))
    return ranges


def fingerprint_ranges(size: int, read: RangeReader) -> str:
    """Fingerprint of an object of ``size`` bytes read through ``read``."""
    h = hashlib.blake2b(digest_size=32, person=b"media-assets-v1")
    h.update(size.to_bytes(8, "little"))
    for start, length in sample_ranges(size):
        chunk = read(start, length)
        if len(chunk) != length:
            raise OSError(f"short read at {start}: wanted {length} bytes, got {len(chunk)}")
        h.update(chunk)
    return h.hexdigest()


def fingerprint_file(path: str | Path) -> str:
    """Fingerprint of a local file (hex)."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size <= FULL_HASH_LIMIT:
            data = fh.read()

            def read_all(start: int, length: int) -> bytes:
                return data[start : start + length]

            return fingerprint_ranges(size, read_all)

        def read(start: int, length: int) -> bytes:
            fh.seek(start)
            return fh.read(length)

        return fingerprint_ranges(size, read)


def content_id_for(fingerprint: str) -> str:
    """Short URL-safe content id (16 lowercase base32 characters) from a hex fingerprint.

    It was the partition key itself before keys became readable, so partitions of older instances are named
    by it; :func:`media_assets.sources.register_source` keeps them.
    """
    raw = bytes.fromhex(fingerprint)[:KEY_BYTES]
    return base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def slug(name: str) -> str:
    """Lowercase ASCII words of a file name without its folder and extension, joined by ``-`` (at most
    ``MAX_SLUG_CHARS``); ``media`` when nothing readable is left (e.g. a name in another script)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii").lower()
    text = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if len(text) > MAX_SLUG_CHARS:
        text = text[:MAX_SLUG_CHARS].rsplit("-", 1)[0] if "-" in text[:MAX_SLUG_CHARS] else text[:MAX_SLUG_CHARS]
    return text.strip("-") or "media"


def partition_key_for(name: str, fingerprint: str, hash_chars: int = SHORT_HASH_CHARS) -> str:
    """A partition key a person can find by file name: ``<slug of name>-<first hash_chars of the content id>``.

    Only ``[a-z0-9-]``, so it is a safe store folder, S3 prefix and Dagster partition key whatever the name
    held (spaces, quotes, ``..``, other scripts).
    """
    return f"{slug(name)}-{content_id_for(fingerprint)[:hash_chars]}"
