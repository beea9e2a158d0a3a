"""The media store on both backends: a local folder and a real S3 server (SeaweedFS)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

import resources.media_store as ms
from media_assets.errors import SourceNotFoundError
from resources.media_store import LocalBackend, MediaStore, S3Backend, make_backend
from tests.s3_server import S3Server

KEY = "k3j5abcdefgh2345"


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path: Path) -> LocalBackend | S3Backend:
    if request.param == "local":
        return LocalBackend(tmp_path / "store", cache_dir=tmp_path / "cache")
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    root = f"s3://{bucket}/{server.unique_prefix()}/media"
    return S3Backend(root, client=server.client(), cache_dir=tmp_path / "cache")


def _tmp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(ms.TMP_PREFIX)]


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


# ---------------------------------------------------------------------------------------------------------------
# Atomicity
# ---------------------------------------------------------------------------------------------------------------


def test_local_write_crash_before_rename(tmp_path, monkeypatch):
    store = LocalBackend(tmp_path / "store")
    store.put_bytes(KEY, "existing.json", b"old")

    def crash(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(ms.os, "fsync", crash)
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

    def half_then_crash(fsrc, fdst, chunk_size=ms.COPY_CHUNK):
        fdst.write(fsrc.read(500))
        raise OSError("killed midway")

    monkeypatch.setattr(ms, "copy_stream", half_then_crash)
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
    real = ms.copy_stream

    def crash_on_second(fsrc, fdst, chunk_size=ms.COPY_CHUNK):
        calls.append(1)
        if len(calls) == 2:
            fdst.write(b"partial")
            raise OSError("crash")
        return real(fsrc, fdst, chunk_size)

    (staged / "b.jpg").write_bytes(b"b" * 10)
    monkeypatch.setattr(ms, "copy_stream", crash_on_second)
    with pytest.raises(OSError):
        store.publish_dir(KEY, "keyframes", staged)
    assert store.list(KEY) == ["keyframes/a.jpg"]  # complete files only
    assert store.get_bytes(KEY, "keyframes/a.jpg") == b"a" * 10
    assert _tmp_leftovers(tmp_path / "store") == []


def test_s3_multipart_upload_failing_midway_leaves_nothing(tmp_path, s3_server, s3_bucket):
    from boto3.s3.transfer import TransferConfig

    client = s3_server.new_client()
    store = S3Backend(
        f"s3://{s3_bucket}/{s3_server.unique_prefix()}",
        client=client,
        transfer_config=TransferConfig(
            multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=1
        ),
    )
    src = tmp_path / "big.wav"
    src.write_bytes(os.urandom(16 * 1024 * 1024))
    parts = []

    def fail_third_part(params, **kwargs):
        parts.append(params.get("PartNumber"))
        if len(parts) == 3:
            raise ConnectionError("network dropped midway")

    client.meta.events.register("before-call.s3.UploadPart", fail_third_part)
    with pytest.raises(Exception, match="network dropped"):
        store.put_file(KEY, "audio.wav", src)
    client.meta.events.unregister("before-call.s3.UploadPart", fail_third_part)
    assert len(parts) >= 3
    assert not store.exists(KEY, "audio.wav")
    uploads = client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert [u for u in uploads if u["Key"] == store.object_key(KEY, "audio.wav")] == []  # aborted
    assert store.list(KEY) == []
    # a complete upload afterwards works, and is only visible once complete
    store.put_file(KEY, "audio.wav", src)
    assert store.get_bytes(KEY, "audio.wav") == src.read_bytes()


# ---------------------------------------------------------------------------------------------------------------
# The Dagster resource
# ---------------------------------------------------------------------------------------------------------------


def test_resource_picks_backend(tmp_path, s3_server, s3_bucket, monkeypatch):
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    local = MediaStore(root=str(tmp_path / "store"))
    assert isinstance(local.backend, LocalBackend)
    remote = MediaStore(
        root=f"s3://{s3_bucket}/{s3_server.unique_prefix()}",
        endpoint_url=s3_server.endpoint_url,
        cache_dir=str(tmp_path),
    )
    assert isinstance(remote.backend, S3Backend)
    for store in (local, remote):
        store.put_json(KEY, "media_metadata.json", {"ok": True})
        assert store.get_json(KEY, "media_metadata.json") == {"ok": True}
        assert store.list(KEY) == ["media_metadata.json"]
    assert isinstance(make_backend("s3://b/p", s3_client=object()), S3Backend)

    monkeypatch.setenv(ms.ENV_STORE_ROOT, str(tmp_path / "from_env"))
    assert MediaStore.from_env().backend.root == tmp_path / "from_env"


def test_resource_in_an_asset(tmp_path):
    @dg.asset
    def writes_artifacts(media_store: MediaStore) -> None:
        media_store.put_json(KEY, "media_metadata.json", {"duration": 1.5})
        with media_store.local_dir(KEY, "keyframes", replace=True) as folder:
            (folder / "000000.jpg").write_bytes(b"jpg")

    result = dg.materialize([writes_artifacts], resources={"media_store": MediaStore(root=str(tmp_path / "s"))})
    assert result.success
    assert LocalBackend(tmp_path / "s").list(KEY) == ["keyframes/000000.jpg", "media_metadata.json"]


def test_sweep_removes_what_killed_writers_left_and_keeps_live_ones(tmp_path):
    """A writer killed mid-write leaves a hidden temp file named after its host and pid; the next run removes it,
    never a live writer's (and this process's own only when it says it is about to exit)."""
    import subprocess
    import sys
    import time

    backend = LocalBackend(tmp_path / "root")
    backend.put_bytes("k1", "a.json", b"{}")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = ms.tmp_prefix().split("-")[1]
    orphan = tmp_path / "root" / "k1" / f".tmp-{host}-{dead_pid}-abc"
    orphan.write_bytes(b"half")
    staging = tmp_path / "root" / ".staging" / f".tmp-{host}-{dead_pid}-k1-xyz"
    staging.mkdir(parents=True)
    (staging / "keyframes.json").write_bytes(b"half")
    live = tmp_path / "root" / "k1" / f"{ms.tmp_prefix()}live"
    live.write_bytes(b"in progress")
    other_host_old = tmp_path / "root" / "k1" / ".tmp-0badc0de-1-old"
    other_host_old.write_bytes(b"x")
    os.utime(other_host_old, (time.time() - 2 * ms.ORPHAN_AGE_S,) * 2)
    assert backend.sweep_orphans("k1") == 3
    assert not orphan.exists() and not staging.exists() and not other_host_old.exists()
    assert live.exists() and (tmp_path / "root" / "k1" / "a.json").exists()
    assert backend.sweep_orphans("k1", ours=True) == 1 and not live.exists()
