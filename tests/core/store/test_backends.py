"""Both backends (a local folder and a real S3 server) behave the same: round trips, listing, publishing,
staging folders, conditional writes and fetching sources."""

from __future__ import annotations

import json
import os

import pytest

from media_assets.core.errors import SourceNotFoundError
from media_assets.core.store import LocalBackend, S3Backend
from tests.core.store.conftest import KEY, _tmp_leftovers

# ---------------------------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------------------------


def test_bytes_round_trip(backend):
    assert not backend.exists(KEY, "audio.wav")
    uri = backend.put_bytes(KEY, "audio.wav", b"RIFF....")
    assert uri == backend.uri(KEY, "audio.wav")
    assert backend.exists(KEY, "audio.wav")
    assert backend.get_bytes(KEY, "audio.wav") == b"RIFF...."
    backend.put_bytes(KEY, "audio.wav", b"new")  # overwrite
    assert backend.get_bytes(KEY, "audio.wav") == b"new"
    with pytest.raises(FileNotFoundError):
        backend.get_bytes(KEY, "missing.bin")


def test_uri_layout(tmp_path, s3_server):
    local = LocalBackend(tmp_path / "store")
    assert local.uri(KEY, "keyframes/000123.jpg") == str(tmp_path / "store" / KEY / "keyframes" / "000123.jpg")
    s3 = S3Backend("s3://bucket/pre/fix/", client=s3_server.client())
    assert s3.uri(KEY, "media_metadata.json") == f"s3://bucket/pre/fix/{KEY}/media_metadata.json"
    assert S3Backend("s3://bucket", client=s3_server.client()).uri(KEY, "a.json") == f"s3://bucket/{KEY}/a.json"


def test_json_encoding(backend):
    obj = {"zeta": 1, "alpha": {"b": [1, 2], "a": "é 日本 🎬"}}
    backend.put_json(KEY, "media_metadata.json", obj)
    raw = backend.get_bytes(KEY, "media_metadata.json")
    assert raw == (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    assert "é 日本 🎬".encode() in raw
    assert backend.get_json(KEY, "media_metadata.json") == obj


def test_put_file_and_fetch(backend, tmp_path):
    src = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 7)
    src.write_bytes(data)
    backend.put_file(KEY, "audio/audio.wav", src)
    assert backend.get_bytes(KEY, "audio/audio.wav") == data
    local = backend.fetch(KEY, "audio/audio.wav")
    assert local.read_bytes() == data
    assert backend.fetch(KEY, "audio/audio.wav") == local  # cached (S3) / the file itself (local)
    with pytest.raises(FileNotFoundError):
        backend.fetch(KEY, "nope.wav")


def test_list_and_delete_prefix(backend):
    names = ["media_metadata.json", "keyframes/000001.jpg", "keyframes/000002.jpg", "keyframes.json", "a/b/c.txt"]
    for name in names:
        backend.put_bytes(KEY, name, name.encode())
    backend.put_bytes("otherkey00000000", "media_metadata.json", b"x")
    assert backend.list(KEY) == sorted(names)
    assert backend.list(KEY, "keyframes/") == ["keyframes/000001.jpg", "keyframes/000002.jpg"]
    assert backend.list(KEY, "keyframes") == ["keyframes.json", "keyframes/000001.jpg", "keyframes/000002.jpg"]
    assert backend.list(KEY, "keyframes/000002") == ["keyframes/000002.jpg"]
    assert backend.list("unknownkey000000") == []
    assert backend.delete_prefix(KEY, "keyframes/") == 2
    assert backend.list(KEY) == sorted(["media_metadata.json", "keyframes.json", "a/b/c.txt"])
    assert backend.delete_prefix(KEY, "") == 3
    assert backend.list(KEY) == []
    assert backend.list("otherkey00000000") == ["media_metadata.json"]


def test_publish_dir(backend, tmp_path):
    backend.put_bytes(KEY, "keyframes/stale.jpg", b"old")
    backend.put_bytes(KEY, "keyframes.json", b"{}")
    staged = tmp_path / "staged"
    (staged / "sub").mkdir(parents=True)
    for i in range(25):
        (staged / f"{i:06d}.jpg").write_bytes(f"frame {i}".encode())
    (staged / "sub" / "x.txt").write_text("nested")
    (staged / ".hidden").write_text("skipped")
    published = backend.publish_dir(KEY, "keyframes", staged, replace=True)
    assert published == sorted([f"keyframes/{i:06d}.jpg" for i in range(25)] + ["keyframes/sub/x.txt"])
    assert backend.list(KEY, "keyframes/") == published  # the stale one is gone
    assert backend.list(KEY, "keyframes.json") == ["keyframes.json"]  # a sibling with the same string prefix
    assert backend.get_bytes(KEY, "keyframes/000007.jpg") == b"frame 7"
    # without replace, existing names are kept
    (staged / "sub" / "x.txt").unlink()
    backend.publish_dir(KEY, "keyframes", staged)
    assert "keyframes/sub/x.txt" in backend.list(KEY, "keyframes/")
    with pytest.raises(ValueError):
        backend.publish_dir(KEY, "", staged, replace=True)


def test_local_dir_publishes_on_success_only(backend):
    with backend.local_dir(KEY, "scenes", replace=True) as folder:
        (folder / "scene_000.json").write_text("[]")
        (folder / "thumbs").mkdir()
        (folder / "thumbs" / "a.jpg").write_bytes(b"jpg")
        staging = folder
    assert not staging.exists()
    assert backend.list(KEY) == ["scenes/scene_000.json", "scenes/thumbs/a.jpg"]

    with pytest.raises(RuntimeError), backend.local_dir(KEY, "scenes", replace=True) as folder:
        (folder / "scene_999.json").write_text("[]")
        raise RuntimeError("asset failed")
    assert backend.list(KEY) == ["scenes/scene_000.json", "scenes/thumbs/a.jpg"]
    assert not folder.exists()

    with backend.local_dir(KEY) as folder:  # the partition root
        (folder / "audio.wav").write_bytes(b"wav")
    assert backend.get_bytes(KEY, "audio.wav") == b"wav"


def test_put_bytes_if_absent(backend):
    assert backend.put_bytes_if_absent(KEY, "source.json", b"first") is True
    assert backend.put_bytes_if_absent(KEY, "source.json", b"second") is False
    assert backend.get_bytes(KEY, "source.json") == b"first"


# ---------------------------------------------------------------------------------------------------------------
# fetch_source
# ---------------------------------------------------------------------------------------------------------------


def test_fetch_source_local_path_as_is(backend, tmp_path):
    src = tmp_path / "in box" / "vidéo.mp4"
    src.parent.mkdir()
    src.write_bytes(b"video")
    assert backend.fetch_source(str(src)) == src
    assert backend.fetch_source(src.as_uri()) == src
    with pytest.raises(SourceNotFoundError):
        backend.fetch_source(str(tmp_path / "missing.mp4"))


def test_fetch_source_s3_cached(tmp_path, s3_server, s3_bucket, monkeypatch):
    client = s3_server.new_client()
    bucket = s3_bucket
    key = f"{s3_server.unique_prefix()}/drop/My Video ü.MP4"
    client.put_object(Bucket=bucket, Key=key, Body=b"version one")
    # a local store fetching an S3 source (dropped in a bucket) uses its own S3 client
    store = LocalBackend(tmp_path / "store", cache_dir=tmp_path / "cache", s3_client=client)
    downloads = []
    real = client.download_file
    monkeypatch.setattr(client, "download_file", lambda *a, **k: (downloads.append(a), real(*a, **k))[1])

    path = store.fetch_source(f"s3://{bucket}/{key}")
    assert path.read_bytes() == b"version one"
    assert path.suffix == ".MP4" and tmp_path / "cache" in path.parents
    assert store.fetch_source(f"s3://{bucket}/{key}") == path
    assert len(downloads) == 1  # reused: same size and etag

    client.put_object(Bucket=bucket, Key=key, Body=b"version two!")
    path2 = store.fetch_source(f"s3://{bucket}/{key}")
    assert path2.read_bytes() == b"version two!"
    assert len(downloads) == 2
    assert not path.exists()  # the old version was dropped
    assert _tmp_leftovers(tmp_path / "cache") == []

    with pytest.raises(SourceNotFoundError):
        store.fetch_source(f"s3://{bucket}/nope.mp4")
    with pytest.raises(ValueError):
        store.fetch_source(f"s3://{bucket}/folder/")
