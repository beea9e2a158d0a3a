"""The S3 drop sensor against a real S3 server (SeaweedFS), plus a scripted client for exact timestamps."""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from media_assets.core.fingerprint import fingerprint_ranges, partition_key_for
from media_assets.sources import SOURCE_NAME, load_source
from resources.media_store import LocalBackend, MediaStore
from sensors import build_inbox_sensor, build_s3_sensor
from sensors.s3_drop import S3Cursor
from tests.s3_server import S3Server
from tests.sensors.conftest import FakeDaemon, media_source


def key_of(data: bytes, name: str) -> str:
    """The partition key of ``data`` first seen as the S3 object ``name``."""
    return partition_key_for(name, fingerprint_ranges(len(data), lambda start, length: data[start : start + length]))


def make_sensor(bucket: str, prefix: str, store: Any, **kwargs: Any) -> dg.SensorDefinition:
    return build_s3_sensor(media_source, bucket=bucket, prefix=prefix, store=store, **kwargs)


@pytest.fixture
def prefix(s3_server: S3Server) -> str:
    return s3_server.unique_prefix("drop") + "/"


@pytest.fixture
def s3_daemon(instance: dg.DagsterInstance, s3_server: S3Server) -> FakeDaemon:
    return FakeDaemon(instance, resources={"s3": s3_server.s3_resource()})


@pytest.fixture
def store(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "store")


# ---------------------------------------------------------------------------------------------------------------
# Against the real server
# ---------------------------------------------------------------------------------------------------------------


def test_objects_become_partitions_once_across_restarts(s3_server, s3_bucket, prefix, instance, tmp_path, monkeypatch):
    for name, value in s3_server.env().items():  # the S3 media store uses the default credential chain
        monkeypatch.setenv(name, value)
    client = s3_server.client()
    media_store = MediaStore(
        root=f"s3://{s3_bucket}/{s3_server.unique_prefix('store')}",
        endpoint_url=s3_server.endpoint_url,
        cache_dir=str(tmp_path / "cache"),
    )
    daemon = FakeDaemon(instance, resources={"s3": s3_server.s3_resource(), "media_store": media_store})
    contents = {f"{prefix}clip_{i}.mp4": f"video {i}".encode() for i in range(5)}
    contents[f"{prefix}sub/dir/song.m4a"] = b"audio bytes"
    for key, data in contents.items():
        client.put_object(Bucket=s3_bucket, Key=key, Body=data)
    client.put_object(Bucket=s3_bucket, Key=f"{prefix}sub/", Body=b"")  # "folder" placeholder
    client.put_object(Bucket=s3_bucket, Key=f"{prefix}readme.txt", Body=b"not media")

    def sensor() -> dg.SensorDefinition:  # a fresh definition object each time (a restarted daemon)
        return build_s3_sensor(media_source, bucket=s3_bucket, prefix=prefix, store_resource_key="media_store")

    data = daemon.tick(sensor())
    expected = {key_of(d, k) for k, d in contents.items()}
    assert {r.partition_key for r in data.run_requests} == expected
    assert daemon.partitions == expected
    for key, body in contents.items():
        record = load_source(media_store, key_of(body, key))
        assert record.uri == f"s3://{s3_bucket}/{key}"
        assert record.etag and record.size_bytes == len(body)

    assert daemon.tick(sensor()).run_requests == []
    client.put_object(Bucket=s3_bucket, Key=f"{prefix}later.webm", Body=b"late")
    assert [r.partition_key for r in daemon.tick(sensor()).run_requests] == [key_of(b"late", "later.webm")]
    assert daemon.tick(sensor()).run_requests == []

    daemon.cursor = None  # even a lost cursor does not request known partitions again
    assert daemon.tick(sensor()).run_requests == []
    daemon.assert_no_duplicate_runs()
    assert len(daemon.run_keys) == 7


def test_same_bytes_under_two_keys_and_in_the_inbox_is_one_partition(
    s3_server, s3_bucket, prefix, s3_daemon, store, tmp_path
):
    client = s3_server.client()
    for key in ("a.mp4", "copies/a copy.MP4"):
        client.put_object(Bucket=s3_bucket, Key=prefix + key, Body=b"the same bytes")
    data = s3_daemon.tick(make_sensor(s3_bucket, prefix, store))
    assert [r.partition_key for r in data.run_requests] == [key_of(b"the same bytes", "a.mp4")]

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    local = inbox / "dropped locally too.mp4"
    local.write_bytes(b"the same bytes")
    os.utime(local, (time.time() - 60, time.time() - 60))
    assert s3_daemon.tick(build_inbox_sensor(media_source, inbox=inbox, store=store)).run_requests == []

    record = load_source(store, key_of(b"the same bytes", "a.mp4"))
    assert {record.uri, *record.aliases} == {
        f"s3://{s3_bucket}/{prefix}a.mp4",
        f"s3://{s3_bucket}/{prefix}copies/a copy.MP4",
        str(local),
    }
    s3_daemon.assert_no_duplicate_runs()


@pytest.fixture
def fresh_instance(tmp_path: Path):
    # its own instance, so the shared one does not have to forget 1,050 partitions afterwards
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def test_more_than_1000_objects_across_ticks(s3_server, s3_bucket, prefix, fresh_instance, store):
    # a ready client as the "s3" resource (the sensor takes an S3Resource or a client): building a boto3
    # client per tick costs ~0.5 s here, and this test ticks 7 times
    s3_daemon = FakeDaemon(fresh_instance, resources={"s3": s3_server.client()})
    client = s3_server.client()
    count = 1050
    bodies = {f"{prefix}batch/{i:05d}.wav": f"object number {i}".encode() for i in range(count)}
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda kv: client.put_object(Bucket=s3_bucket, Key=kv[0], Body=kv[1]), bodies.items()))
    listed = client.list_objects_v2(Bucket=s3_bucket, Prefix=prefix)
    assert listed["IsTruncated"]  # more than one page

    sensor = make_sensor(s3_bucket, prefix, store, max_per_tick=250)
    per_tick = []
    while True:
        data = s3_daemon.tick(sensor)
        if not data.run_requests:
            break
        per_tick.append(len(data.run_requests))
        cursor = json.loads(s3_daemon.cursor)
        assert list(cursor["seen"]) == [str(cursor["w"])]  # only the keys at the boundary timestamp are kept
    assert per_tick == [250, 250, 250, 250, 50]
    s3_daemon.assert_no_duplicate_runs()
    assert s3_daemon.partitions == {key_of(b, k) for k, b in bodies.items()}
    assert s3_daemon.tick(make_sensor(s3_bucket, prefix, store, max_per_tick=250)).run_requests == []


def test_hostile_keys(s3_server, s3_bucket, prefix, s3_daemon, store, tmp_path):
    client = s3_server.client()
    names = [
        "spaces in key .mp4",
        "ünïcödé 日本語 🎬.mkv",
        "new\nline.mp4",
        "quotes \"double\" 'single' <angle>.mov",
        "plus+and&amp%20percent.mp4",
        "a..b/..c/d...mp3",
        "%2e%2e%2f%2e%2e%2fetc.mp4",
        "/".join(["k" * 250] * 3) + "/" + "v" * 240 + ".mp4",  # ~1,000-byte key
        "UPPER.MP4",
    ]
    for i, name in enumerate(names):
        client.put_object(Bucket=s3_bucket, Key=prefix + name, Body=f"hostile {i}".encode())
    # skipped: "folder" placeholders and other keys ending in '/', empty objects, hidden/temporary/other names
    client.put_object(Bucket=s3_bucket, Key=prefix + "folder/", Body=b"")
    client.put_object(Bucket=s3_bucket, Key=prefix + "folder.mp4/", Body=b"")
    client.put_object(Bucket=s3_bucket, Key=prefix + "empty.mp4", Body=b"")
    for name in (".hidden.mp4", "dir/.hidden.mov", "upload.mp4.part", "notes.txt"):
        client.put_object(Bucket=s3_bucket, Key=prefix + name, Body=b"skip me")

    data = s3_daemon.tick(make_sensor(s3_bucket, prefix, store))
    assert len(data.run_requests) == len(names)
    listed = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket, Prefix=prefix)["Contents"]]
    assert max(len(k.encode()) for k in listed) > 950
    for i in range(len(names)):
        record = load_source(store, key_of(f"hostile {i}".encode(), names[i]))
        assert record.uri.startswith(f"s3://{s3_bucket}/{prefix}")
        assert record.uri.removeprefix(f"s3://{s3_bucket}/") in listed
    # keys never became paths: the store holds one folder per partition key, each with only source.json
    folders = [p for p in store.root.iterdir() if p.name != "_index"]  # _index: content id -> partition key
    assert sorted(p.name for p in folders) == sorted(r.partition_key for r in data.run_requests)
    assert {n for p in folders for n in os.listdir(p)} == {SOURCE_NAME}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    assert s3_daemon.tick(make_sensor(s3_bucket, prefix, store)).run_requests == []


# ---------------------------------------------------------------------------------------------------------------
# With a scripted client: exact LastModified values, keys a real server refuses, injected errors
# ---------------------------------------------------------------------------------------------------------------

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class ScriptedS3:
    """Just enough of a boto3 S3 client for ``get_objects`` (list_objects_v2 paginator) and ``describe_s3``
    (HEAD, ranged GET with If-Match), with LastModified chosen by the test and injectable errors."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, datetime, str]] = {}
        self.errors: dict[str, Exception] = {}
        self.gets: list[str] = []

    def put(self, key: str, data: bytes, last_modified: datetime) -> None:
        self.objects[key] = (data, last_modified, '"' + hashlib.md5(data).hexdigest() + '"')

    @staticmethod
    def _error(code: str, op: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": code}}, op)

    # paginator protocol
    def get_paginator(self, name: str) -> ScriptedS3:
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str = "", Delimiter: str = "", **_: Any):
        keys = sorted(k for k in self.objects if k.startswith(Prefix))
        for start in range(0, max(len(keys), 1), 1000):
            page = keys[start : start + 1000]
            yield {
                "Contents": [
                    {"Key": k, "Size": len(self.objects[k][0]), "ETag": self.objects[k][2],
                     "LastModified": self.objects[k][1]}
                    for k in page
                ]
            }  # fmt: skip

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.objects:
            raise self._error("404", "HeadObject")
        data, lm, etag = self.objects[Key]
        return {"ContentLength": len(data), "ETag": etag, "LastModified": lm}

    def get_object(self, Bucket: str, Key: str, Range: str | None = None, IfMatch: str | None = None):
        self.gets.append(Key)
        if Key in self.errors:
            raise self.errors[Key]
        if Key not in self.objects:
            raise self._error("NoSuchKey", "GetObject")
        data, _, etag = self.objects[Key]
        if IfMatch and IfMatch != etag:
            raise self._error("PreconditionFailed", "GetObject")
        start, end = (int(x) for x in Range.removeprefix("bytes=").split("-"))

        class Body:
            def read(self) -> bytes:
                return data[start : end + 1]

            def close(self) -> None:
                pass

        return {"Body": Body()}


@pytest.fixture
def scripted(instance) -> tuple[ScriptedS3, FakeDaemon]:
    fake = ScriptedS3()
    return fake, FakeDaemon(instance, resources={"s3": fake})


def test_objects_sharing_the_boundary_timestamp(scripted, store):
    fake, daemon = scripted
    for i in range(5):
        fake.put(f"same-second/{i}.mp4", f"same second {i}".encode(), T0)
    sensor = make_sensor("bucket", "", store, max_per_tick=2)
    assert [len(daemon.tick(sensor).run_requests) for _ in range(4)] == [2, 2, 1, 0]
    cursor = S3Cursor.parse(daemon.cursor)
    assert cursor.watermark == int(T0.timestamp() * 1000) and len(cursor.seen) == 5

    # listed after the tick but stamped with the same second: neither missed nor repeated
    fake.put("same-second/late.mp4", b"late, same second", T0)
    assert [r.partition_key for r in daemon.tick(sensor).run_requests] == [key_of(b"late, same second", "late.mp4")]
    fake.put("next-second.mp4", b"next second", T0 + timedelta(seconds=1))
    assert len(daemon.tick(make_sensor("bucket", "", store, max_per_tick=2)).run_requests) == 1
    assert len(S3Cursor.parse(daemon.cursor).seen) == 1  # the boundary moved: old entries dropped

    # overwritten in place: a newer LastModified, new content -> a new partition
    fake.put("same-second/0.mp4", b"new version of 0", T0 + timedelta(seconds=5))
    assert [r.partition_key for r in daemon.tick(sensor).run_requests] == [key_of(b"new version of 0", "0.mp4")]
    assert daemon.tick(sensor).run_requests == []
    daemon.assert_no_duplicate_runs()


def test_lookback_catches_late_objects_with_an_older_timestamp(scripted, store, instance):
    fake, daemon = scripted
    fake.put("a.mp4", b"a", T0 + timedelta(seconds=10))
    assert len(daemon.tick(make_sensor("bucket", "", store)).run_requests) == 1
    # e.g. a multipart upload started earlier, completed later: its LastModified is older than the watermark
    fake.put("slow-multipart.mp4", b"slow", T0 + timedelta(seconds=2))
    assert daemon.tick(make_sensor("bucket", "", store)).run_requests == []  # default: no lookback

    with_lookback = make_sensor("bucket", "", store, lookback_seconds=60)
    assert [r.partition_key for r in daemon.tick(with_lookback).run_requests] == [key_of(b"slow", "slow-multipart.mp4")]
    assert daemon.tick(with_lookback).run_requests == []
    assert len(S3Cursor.parse(daemon.cursor).seen) == 2


def test_keys_a_real_server_refuses(scripted, store, tmp_path):
    fake, daemon = scripted
    keys = ["../evil.mp4", "a/../../../etc/passwd.mp4", "/abs/olute.mp4", "x\\..\\..\\windows.mp4", "./dot.mp4"]
    for i, key in enumerate(keys):
        fake.put(key, f"evil {i}".encode(), T0)
    data = daemon.tick(make_sensor("bucket", "", store))
    assert len(data.run_requests) == len(keys)
    for i, key in enumerate(keys):
        assert load_source(store, key_of(f"evil {i}".encode(), key)).uri == f"s3://bucket/{key}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
    assert {n for p in store.root.iterdir() if p.name != "_index" for n in os.listdir(p)} == {SOURCE_NAME}


def test_read_errors(scripted, store):
    fake, daemon = scripted
    for i in range(4):
        fake.put(f"{i}.mp4", f"body {i}".encode(), T0 + timedelta(seconds=i))
    fake.errors["0.mp4"] = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")
    fake.errors["2.mp4"] = EndpointConnectionError(endpoint_url="http://s3")
    sensor = make_sensor("bucket", "", store, workers=1)

    data = daemon.tick(sensor)  # 0: forbidden -> skipped; 1: ok; 2: transient -> stop here, retry next tick
    assert [r.partition_key for r in data.run_requests] == [key_of(b"body 1", "1.mp4")]

    del fake.errors["2.mp4"]
    data = daemon.tick(sensor)
    assert [r.partition_key for r in data.run_requests] == [key_of(b"body 2", "2.mp4"), key_of(b"body 3", "3.mp4")]

    # vanished between listing and reading -> skipped without failing the tick
    fake.put("4.mp4", b"body 4", T0 + timedelta(seconds=9))
    fake.errors["4.mp4"] = ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
    fake.put("5.mp4", b"body 5", T0 + timedelta(seconds=9))
    assert [r.partition_key for r in daemon.tick(sensor).run_requests] == [key_of(b"body 5", "5.mp4")]
    assert daemon.tick(sensor).run_requests == []
    daemon.assert_no_duplicate_runs()


def test_definitions_wiring(s3_server):
    sensor = build_s3_sensor(media_source, bucket="bucket", prefix="in/", store_resource_key="media_store")
    defs = dg.Definitions(
        assets=[media_source],
        sensors=[sensor],
        resources={"s3": s3_server.s3_resource(), "media_store": MediaStore(root="/tmp/unused")},
    )
    dg.Definitions.validate_loadable(defs)
    assert sensor.name == "s3_drop_sensor" and sensor.minimum_interval_seconds == 30
    assert sensor.required_resource_keys == {"s3", "media_store"}


def test_batched_runs_cover_each_new_object_once(scripted, store):
    fake, daemon = scripted
    for i in range(7):
        fake.put(f"batch/{i}.mp4", f"batched object {i}".encode(), T0 + timedelta(seconds=i))
    sensor = make_sensor("bucket", "", store, max_per_tick=5, run_batch_size=3)
    first = daemon.tick(sensor).run_requests  # 5 objects this tick: a range of 3, a range of 2
    assert len(first) == 2 and all(r.partition_key is None for r in first)
    second = daemon.tick(sensor).run_requests  # the other 2
    assert len(second) == 1 and second[0].partition_key is None
    assert daemon.tick(sensor).run_requests == []
    assert sorted(daemon.covered) == sorted(key_of(f"batched object {i}".encode(), f"{i}.mp4") for i in range(7))
    daemon.assert_no_duplicate_runs()
