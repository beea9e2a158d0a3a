"""Content fingerprints that name partitions.

The same bytes always give the same key, wherever they were dropped (inbox folder or S3 bucket), so a file
dropped twice is one partition. Files up to ``FULL_HASH_LIMIT`` are hashed whole; larger ones are hashed
from their size plus fixed samples (head, tail and evenly spaced blocks), which reads a few MiB even for a
film of many GiB and can be computed with S3 range reads without downloading the object.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

FULL_HASH_LIMIT = 16 * 1024 * 1024
EDGE_BYTES = 1024 * 1024
SAMPLE_BYTES = 64 * 1024
SAMPLES = 16
KEY_BYTES = 10  # 80 bits -> 16 base32 characters

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


def partition_key_for(fingerprint: str) -> str:
    """Short URL-safe partition key (16 lowercase base32 characters) from a hex fingerprint."""
    raw = bytes.fromhex(fingerprint)[:KEY_BYTES]
    return base64.b32encode(raw).decode("ascii").lower().rstrip("=")
