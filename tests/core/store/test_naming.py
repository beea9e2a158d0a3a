"""Partition keys, names and prefixes are validated on both backends."""

from __future__ import annotations

import pytest

from tests.core.store.conftest import KEY

# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------

BAD_KEYS = ["", "..", ".", "../x", "a/b", "/abs", "a\\b", "nul\x00", "new\nline", ".hidden", "x" * 256, "C:"]
BAD_NAMES = [
    "",
    "..",
    "../escape.json",
    "a/../../escape",
    "./x",
    "/etc/passwd",
    "a\\b.json",
    "C:\\x",
    "C:/x",
    "nul\x00.json",
    "tab\tname",
    "a//b",
    "trailing/",
    ".hidden",
    "dir/.tmp-x",
    "x" * 256,
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_partition_keys(backend, key):
    with pytest.raises(ValueError):
        backend.put_bytes(key, "a.json", b"x")
    with pytest.raises(ValueError):
        backend.exists(key, "a.json")
    with pytest.raises(ValueError):
        backend.list(key)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names(backend, name):
    with pytest.raises(ValueError):
        backend.put_bytes(KEY, name, b"x")
    with pytest.raises(ValueError):
        backend.get_bytes(KEY, name)
    with pytest.raises(ValueError):
        backend.uri(KEY, name)


def test_bad_prefixes(backend):
    for prefix in ["../", "/x", "a\\", "..", "a//"]:
        with pytest.raises(ValueError):
            backend.list(KEY, prefix)
        with pytest.raises(ValueError):
            backend.delete_prefix(KEY, prefix)


def test_good_names(backend):
    for name in ["keyframes/000123.jpg", "a..b/c..d.json", "unicode é/日本.txt", "sp ace.json", "x" * 255]:
        backend.put_bytes(KEY, name, b"ok")
        assert backend.get_bytes(KEY, name) == b"ok"
