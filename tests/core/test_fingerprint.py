"""Readable partition keys: a slug of the file name plus a short content hash."""

from __future__ import annotations

import re

import pytest

from media_assets.core.fingerprint import MAX_SLUG_CHARS, content_id_for, partition_key_for, slug
from media_assets.core.store.naming import validate_partition_key

FP = "ab" * 32
KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Interview March.mp4", "interview-march"),
        ("/data/inbox/Interview March.mp4", "interview-march"),
        ("drop/2024/Q1 Review (final) v2.MOV", "q1-review-final-v2"),
        ("Crème brûlée – Café.mkv", "creme-brulee-cafe"),
        ("会议记录.mp4", "media"),
        ("../../etc/passwd", "passwd"),
        ("..mp4", "mp4"),
        (".hidden.mov", "hidden"),
        ("no_extension", "no-extension"),
        ("a\x00b\nc.wav", "a-b-c"),
        ("'; DROP TABLE videos; --.mp4", "drop-table-videos"),
        ("C:\\Users\\me\\clip 1.mp4", "clip-1"),
        ("archive.tar.gz", "archive-tar"),
    ],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_long_names_are_cut_at_a_word() -> None:
    s = slug("the quarterly all hands meeting recording for the whole company.mp4")
    assert len(s) <= MAX_SLUG_CHARS
    assert s == "the-quarterly-all-hands-meeting"


def test_key_is_slug_plus_short_content_hash_and_always_a_safe_partition_key() -> None:
    key = partition_key_for("Interview March.mp4", FP)
    assert key == f"interview-march-{content_id_for(FP)[:8]}"
    for name in ("会议.mp4", "x" * 300 + ".mp4", " .mp4", "a/b/../c.mov", "---.mp4"):
        key = partition_key_for(name, FP)
        assert KEY.match(key), key
        assert validate_partition_key(key) == key
        assert len(key) <= MAX_SLUG_CHARS + 1 + 16


def test_content_id_is_the_key_of_older_instances() -> None:
    assert content_id_for(FP) == "vov2xk5lvov2xk5l"  # 80 bits of the fingerprint, base32, as before
