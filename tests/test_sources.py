"""Describing and registering sources (local files and S3 objects)."""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from media_assets.core.fingerprint import (
    FULL_HASH_LIMIT,
    content_id_for,
    fingerprint_file,
    partition_key_for,
    sample_ranges,
)
from media_assets.core.store import LocalBackend, S3Backend
from media_assets.sources import (
    DEFAULT_INCLUDE_GLOBS,
    SOURCE_NAME,
    SourceChangedError,
    SourceRecord,
    describe_local,
    describe_s3,
    find_key,
    is_candidate_name,
    iso_utc,
    iso_utc_ns,
    load_source,
    register_source,
)
from tests.s3_server import S3Server

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path):
    if request.param == "local":
        return LocalBackend(tmp_path / "store")
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return S3Backend(f"s3://{bucket}/{server.unique_prefix()}", client=server.client())


def test_describe_local(tmp_path):
    path = tmp_path / "dir with space" / "clip é.mp4"
    path.parent.mkdir()
    path.write_bytes(b"not really a video")
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    record = describe_local(path)
    fingerprint = fingerprint_file(path)
    assert record.fingerprint == fingerprint
    assert record.key == partition_key_for("clip é.mp4", fingerprint)
    assert record.key == f"clip-e-{content_id_for(fingerprint)[:8]}"
    assert record.uri == str(path)
    assert record.size_bytes == len(b"not really a video")
    assert record.mtime == "2023-11-14T22:13:20.123456Z"
    assert ISO_Z.match(record.registered_at)
    assert record.etag is None and record.aliases == []


def test_describe_local_relative_path_is_made_absolute(tmp_path, monkeypatch):
    (tmp_path / "a.wav").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert describe_local("a.wav").uri == str(tmp_path / "a.wav")


def test_describe_local_detects_changes(tmp_path):
    path = tmp_path / "growing.mp4"
    path.write_bytes(b"part one")
    st = path.stat()
    with pytest.raises(SourceChangedError):
        describe_local(path, expect=(st.st_size + 1, st.st_mtime_ns))
    assert describe_local(path, expect=(st.st_size, st.st_mtime_ns)).size_bytes == st.st_size
    with pytest.raises(FileNotFoundError):
        describe_local(tmp_path / "gone.mp4")
    with pytest.raises(IsADirectoryError):
        describe_local(tmp_path)


def test_iso_helpers():
    assert iso_utc(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_utc(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)) == "2024-05-06T07:08:09.000000Z"
    assert iso_utc_ns(1_500_000_000_999_999_999) == "2017-07-14T02:40:00.999999Z"
    assert ISO_Z.match(iso_utc())


@pytest.mark.parametrize("size", [5, FULL_HASH_LIMIT + 3 * 1024 * 1024 + 11])
def test_same_bytes_same_key_in_folder_and_s3(tmp_path, s3_server, s3_bucket, size):
    data = os.urandom(size)
    path = tmp_path / "clip.mov"
    path.write_bytes(data)
    client = s3_server.new_client()
    key = f"{s3_server.unique_prefix()}/drop/clip copy ü.mov"
    client.put_object(Bucket=s3_bucket, Key=key, Body=data)
    ranges = []
    client.meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **kw: ranges.append(params["Range"])
    )

    local = describe_local(path)
    remote = describe_s3(client, s3_bucket, key)  # size/etag/last_modified from a HEAD
    assert remote.fingerprint == local.fingerprint
    assert remote.content_id == local.content_id
    assert (local.key, remote.key) == (
        f"clip-{local.content_id[:8]}",
        f"clip-copy-u-{local.content_id[:8]}",
    )  # named as seen: registering maps both to the first (test_register_source)
    assert remote.uri == f"s3://{s3_bucket}/{key}"
    assert remote.size_bytes == size
    assert remote.etag and not remote.etag.startswith('"')
    assert ISO_Z.match(remote.mtime)
    read = sum(int(b) - int(a) + 1 for a, b in (r.removeprefix("bytes=").split("-") for r in ranges))
    assert read == sum(length for _, length in sample_ranges(size))  # range GETs only
    if size > FULL_HASH_LIMIT:
        assert read <= 3 * 1024 * 1024 < size  # a few MiB, not the whole object


def test_describe_s3_with_listing_values_and_replaced_object(s3_server, s3_bucket):
    client = s3_server.client()
    key = f"{s3_server.unique_prefix()}/a.mp4"
    client.put_object(Bucket=s3_bucket, Key=key, Body=b"first version")
    listed = client.list_objects_v2(Bucket=s3_bucket, Prefix=key)["Contents"][0]
    record = describe_s3(client, s3_bucket, key, listed["Size"], listed["ETag"], listed["LastModified"])
    assert record.size_bytes == len(b"first version")
    client.put_object(Bucket=s3_bucket, Key=key, Body=b"second version")  # replaced after listing
    with pytest.raises(Exception, match=r"PreconditionFailed|412"):
        describe_s3(client, s3_bucket, key, listed["Size"], listed["ETag"], listed["LastModified"])


def _record(tmp_path: Path, name: str, data: bytes) -> SourceRecord:
    path = tmp_path / name
    path.write_bytes(data)
    return describe_local(path)


def test_register_source(store, tmp_path):
    first = _record(tmp_path, "a.mp4", b"same bytes")
    assert register_source(store, first) == (first.key, True)
    assert store.exists(first.key, SOURCE_NAME)
    assert load_source(store, first.key) == first
    assert find_key(store, first) == first.key

    assert register_source(store, first) == (first.key, False)  # same uri: nothing changes
    assert load_source(store, first.key).aliases == []

    second = _record(tmp_path, "b copy.mp4", b"same bytes")
    assert second.key == f"b-copy-{first.content_id[:8]}" != first.key
    assert register_source(store, second) == (first.key, False)  # the same bytes: the first name's key
    assert register_source(store, second) == (first.key, False)  # idempotent
    assert not store.exists(second.key, SOURCE_NAME)
    s3_alias = second.model_copy(update={"uri": "s3://bucket/drop/a.mp4", "etag": "abc"})
    assert register_source(store, s3_alias).key == first.key
    loaded = load_source(store, first.key)
    assert loaded.uri == first.uri
    assert loaded.aliases == [second.uri, "s3://bucket/drop/a.mp4"]
    assert loaded.registered_at == first.registered_at

    raw = store.get_bytes(first.key, SOURCE_NAME).decode("utf-8")
    assert raw.startswith('{\n  "aliases": [')  # sorted keys, indent 2


def test_unregistered_bytes_have_no_key(store, tmp_path):
    assert find_key(store, _record(tmp_path, "a.mp4", b"never registered")) is None


def test_register_source_keeps_keys_made_before_readable_keys(store, tmp_path):
    """An instance whose partitions are named by the content id (16 base32 characters) keeps them."""
    record = _record(tmp_path, "talk.mp4", b"old instance")
    legacy = record.content_id
    store.put_json(legacy, SOURCE_NAME, record.model_copy(update={"key": legacy}).model_dump(mode="json"))
    assert find_key(store, record) == legacy
    assert register_source(store, record) == (legacy, False)
    assert store.get_bytes("_index", f"content/{legacy}") == legacy.encode()  # indexed: one read next time
    renamed = _record(tmp_path, "renamed.mp4", b"old instance")
    assert register_source(store, renamed, prefer=True) == (legacy, False)
    assert load_source(store, legacy).uri == renamed.uri
    assert not store.exists(record.key, SOURCE_NAME) and not store.exists(renamed.key, SOURCE_NAME)


def test_same_name_and_short_hash_for_other_bytes_gets_the_whole_content_id(store, tmp_path):
    record = _record(tmp_path, "a.mp4", b"bytes one")
    register_source(store, record)
    other = record.model_copy(update={"fingerprint": "00" * 32, "uri": "/elsewhere/a.mp4"})  # forced clash
    registered = register_source(store, other)
    assert registered == (f"a-{content_id_for('00' * 32)}", True)
    assert load_source(store, record.key).uri == record.uri  # untouched


def test_register_source_rejects_a_corrupt_index(store, tmp_path):
    record = _record(tmp_path, "a.mp4", b"bytes one")
    register_source(store, record)
    other = _record(tmp_path, "b.mp4", b"bytes two")
    store.put_bytes("_index", f"content/{other.content_id}", record.key.encode())  # points at other bytes
    with pytest.raises(ValueError, match="already used"):
        register_source(store, other)


def test_register_source_concurrently_creates_once(tmp_path):
    store = LocalBackend(tmp_path / "store")
    record = _record(tmp_path, "a.mp4", b"contended")
    results = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        results.append(register_source(store, record))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    assert {r.key for r in results} == {record.key}
    assert store.list(record.key) == [SOURCE_NAME]


def test_the_same_bytes_under_many_names_at_once_are_one_partition(tmp_path):
    store = LocalBackend(tmp_path / "store")
    records = [_record(tmp_path, f"name {i}.mp4", b"contended") for i in range(8)]
    results = []
    barrier = threading.Barrier(len(records))

    def worker(record):
        barrier.wait()
        results.append(register_source(store, record))

    threads = [threading.Thread(target=worker, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.key for r in results}) == 1
    assert sum(r.created for r in results) == 1
    key = results[0].key
    assert [k for k in (r.key for r in records) if store.exists(k, SOURCE_NAME)] == [key]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("movie.mp4", True),
        ("MOVIE.MKV", True),
        ("dir/sub/song.FLAC", True),
        ("take 1 (final) ü.mov", True),
        ("track.aif", True),
        ("notes.txt", False),
        ("movie.mp4.part", False),
        ("movie.mp4.crdownload", False),
        ("movie.tmp", False),
        (".movie.mp4", False),
        ("dir/.hidden.wav", False),
        ("folder/", False),
        ("", False),
    ],
)
def test_is_candidate_name(name, expected):
    assert is_candidate_name(name) is expected


def test_include_globs_are_configurable():
    assert "*.mp4" in DEFAULT_INCLUDE_GLOBS and "*.opus" in DEFAULT_INCLUDE_GLOBS
    assert is_candidate_name("clip.bin", include=["*.bin"])
    assert not is_candidate_name("clip.mp4", include=["*.bin"])
    assert is_candidate_name("anything", include=["*"])
