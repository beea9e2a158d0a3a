"""The local backend's writes are atomic: a crash midway leaves neither a half-written file nor a temp file."""

from __future__ import annotations

import pytest

from media_assets.core.store import LocalBackend, files, local
from tests.core.store.conftest import KEY, _tmp_leftovers

# ---------------------------------------------------------------------------------------------------------------
# Atomicity
# ---------------------------------------------------------------------------------------------------------------


def test_local_write_crash_before_rename(tmp_path, monkeypatch):
    store = LocalBackend(tmp_path / "store")
    store.put_bytes(KEY, "existing.json", b"old")

    def crash(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(files.os, "fsync", crash)
    with pytest.raises(OSError, match="disk on fire"):
        store.put_bytes(KEY, "new.json", b"payload")
    with pytest.raises(OSError, match="disk on fire"):
        store.put_bytes(KEY, "existing.json", b"replacement")
    with pytest.raises(OSError, match="disk on fire"):
        store.put_bytes_if_absent(KEY, "source.json", b"payload")
    assert not (tmp_path / "store" / KEY / "new.json").exists()
    assert not (tmp_path / "store" / KEY / "source.json").exists()
    assert store.get_bytes(KEY, "existing.json") == b"old"
    assert _tmp_leftovers(tmp_path / "store") == []
    assert sorted(p.name for p in (tmp_path / "store" / KEY).iterdir()) == ["existing.json"]


def test_local_put_file_crash_midway(tmp_path, monkeypatch):
    store = LocalBackend(tmp_path / "store")
    src = tmp_path / "audio.wav"
    src.write_bytes(b"a" * 1000)
    store.put_bytes(KEY, "audio.wav", b"previous")

    def half_then_crash(fsrc, fdst, chunk_size=files.COPY_CHUNK):
        fdst.write(fsrc.read(500))
        raise OSError("killed midway")

    monkeypatch.setattr(local, "copy_stream", half_then_crash)
    with pytest.raises(OSError, match="killed midway"):
        store.put_file(KEY, "audio.wav", src)
    with pytest.raises(OSError, match="killed midway"):
        store.put_file(KEY, "other.wav", src)
    assert store.get_bytes(KEY, "audio.wav") == b"previous"
    assert not store.exists(KEY, "other.wav")
    assert _tmp_leftovers(tmp_path / "store") == []
    assert store.list(KEY) == ["audio.wav"]


def test_local_dir_crash_publishes_nothing_half_written(tmp_path, monkeypatch):
    store = LocalBackend(tmp_path / "store")
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "a.jpg").write_bytes(b"a" * 10)
    calls = []
    real = local.copy_stream

    def crash_on_second(fsrc, fdst, chunk_size=files.COPY_CHUNK):
        calls.append(1)
        if len(calls) == 2:
            fdst.write(b"partial")
            raise OSError("crash")
        return real(fsrc, fdst, chunk_size)

    (staged / "b.jpg").write_bytes(b"b" * 10)
    monkeypatch.setattr(local, "copy_stream", crash_on_second)
    with pytest.raises(OSError):
        store.publish_dir(KEY, "keyframes", staged)
    assert store.list(KEY) == ["keyframes/a.jpg"]  # complete files only
    assert store.get_bytes(KEY, "keyframes/a.jpg") == b"a" * 10
    assert _tmp_leftovers(tmp_path / "store") == []
