"""The inbox sensor, driven tick by tick like the sensor daemon would (see ``FakeDaemon`` in conftest)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

import media_assets.sources as sources_mod
from media_assets.core.fingerprint import fingerprint_file, partition_key_for
from media_assets.sources import SOURCE_NAME, load_source
from resources.media_store import ENV_STORE_ROOT, LocalBackend, MediaStore
from sensors import build_inbox_sensor
from sensors.inbox import ENV_INBOX, InboxCursor
from tests.sensors.conftest import FakeDaemon, media_source

OLD = time.time() - 3600  # an mtime well past the settle time


def drop(folder: Path, name: str, data: bytes, *, mtime: float | None = OLD) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def key_of(path: Path) -> str:
    """The key of a file registered first under its own name."""
    return partition_key_for(path.name, fingerprint_file(path))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def store(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "store")


def make_sensor(inbox: Path, store, **kwargs) -> dg.SensorDefinition:
    return build_inbox_sensor(media_source, inbox=inbox, store=store, **kwargs)


def test_files_become_partitions_once_across_restarts(inbox, store, daemon: FakeDaemon):
    paths = [drop(inbox, f"clip_{i}.mp4", f"video {i}".encode()) for i in range(4)]
    paths.append(drop(inbox, "nested/deeper/song.flac", b"audio"))
    expected = {key_of(p) for p in paths}

    data = daemon.tick(make_sensor(inbox, store))
    assert len(data.run_requests) == 5
    assert daemon.partitions == expected
    assert set(daemon.run_keys) == expected
    for path in paths:
        record = load_source(store, key_of(path))
        assert record.uri == str(path)

    assert daemon.tick(make_sensor(inbox, store)).run_requests == []  # same sensor state, next tick

    # restart: a fresh sensor definition, the cursor persisted by Dagster
    cursor = json.loads(daemon.cursor)
    assert set(cursor["seen"]) == {p.relative_to(inbox).as_posix() for p in paths}
    restarted = make_sensor(inbox, store)
    assert daemon.tick(restarted).run_requests == []

    # a new file after the restart: only that one
    new = drop(inbox, "later.mkv", b"late video")
    data = daemon.tick(restarted)
    assert [r.partition_key for r in data.run_requests] == [key_of(new)]

    # even a lost cursor does not request known partitions again
    daemon.cursor = None
    assert daemon.tick(make_sensor(inbox, store)).run_requests == []
    daemon.assert_no_duplicate_runs()
    assert len(daemon.run_keys) == 6


def test_same_bytes_under_two_names_is_one_partition(inbox, store, daemon: FakeDaemon):
    a = drop(inbox, "a.mp4", b"identical bytes")
    b = drop(inbox, "copies/b (copy).MOV", b"identical bytes")
    data = daemon.tick(make_sensor(inbox, store))
    assert len(data.run_requests) == 1
    assert daemon.partitions == {key_of(a)}
    record = load_source(store, key_of(a))
    assert {record.uri, *record.aliases} == {str(a), str(b)}

    c = drop(inbox, "third.webm", b"identical bytes")  # dropped again later
    assert daemon.tick(make_sensor(inbox, store)).run_requests == []
    assert str(c) in load_source(store, key_of(a)).aliases
    daemon.assert_no_duplicate_runs()


def test_cap_per_tick(inbox, store, daemon: FakeDaemon):
    for i in range(7):
        drop(inbox, f"f{i}.mp3", f"audio {i}".encode(), mtime=OLD + i)
    sensor = make_sensor(inbox, store, max_per_tick=3)
    counts = [len(daemon.tick(sensor).run_requests) for _ in range(4)]
    assert counts == [3, 3, 1, 0]
    assert len(daemon.partitions) == 7
    daemon.assert_no_duplicate_runs()


def test_file_still_being_written_is_deferred(inbox, store, daemon: FakeDaemon):
    sensor = make_sensor(inbox, store, settle_seconds=5)
    growing = drop(inbox, "growing.mp4", b"first chunk", mtime=None)  # modified just now
    assert daemon.tick(sensor).run_requests == []
    assert "growing.mp4" in json.loads(daemon.cursor)["pending"]

    with growing.open("ab") as fh:
        fh.write(b" second chunk")
    assert daemon.tick(sensor).run_requests == []

    os.utime(growing, (OLD, OLD))  # writing finished a while ago
    data = daemon.tick(sensor)
    assert [r.partition_key for r in data.run_requests] == [key_of(growing)]
    cursor = json.loads(daemon.cursor)
    assert cursor["pending"] == {} and "growing.mp4" in cursor["seen"]


def test_unchanged_file_with_future_mtime_settles_after_observation(inbox, store, daemon: FakeDaemon):
    # a clock-skewed share: the mtime is in the future, so only "unchanged for settle_seconds" can settle it
    future = time.time() + 3600
    path = drop(inbox, "skewed.mp4", b"from a skewed clock", mtime=future)
    sensor = make_sensor(inbox, store, settle_seconds=0.3)
    assert daemon.tick(sensor).run_requests == []
    time.sleep(0.35)
    assert [r.partition_key for r in daemon.tick(sensor).run_requests] == [key_of(path)]


def test_skips_hidden_temporary_and_unrelated_files(inbox, store, daemon: FakeDaemon):
    drop(inbox, ".hidden.mp4", b"hidden")
    drop(inbox, ".git/objects/x.mp4", b"in a hidden folder")
    drop(inbox, "download.mp4.part", b"partial")
    drop(inbox, "download.mp4.crdownload", b"partial 2")
    drop(inbox, "x.tmp", b"tmp")
    drop(inbox, "notes.txt", b"text")
    drop(inbox, "empty.mp4", b"")
    broken = drop(inbox, "broken.mp4", b"\x00garbage, not a real video")  # still registered
    data = daemon.tick(make_sensor(inbox, store))
    assert [r.partition_key for r in data.run_requests] == [key_of(broken)]

    # include globs are configurable
    other = LocalBackend(store.root.parent / "store2")
    inst_daemon = FakeDaemon(daemon.instance)
    data = inst_daemon.tick(make_sensor(inbox, other, include=["*.txt"]))
    assert len(data.run_requests) == 1
    assert load_source(other, data.run_requests[0].partition_key).uri == str(inbox / "notes.txt")


def test_hostile_file_names(inbox, store, daemon: FakeDaemon):
    names = [
        "spaces in name .mp4",
        "ünïcödé 日本語 🎬.mkv",
        "quotes \"double\" 'single'.mov",
        "new\nline.mp4",
        "-leading-dash.mp4",
        "double..dots...mp4",
        "..hidden-looking but a hidden file.mp4",  # starts with '.': skipped like any hidden file
        "semi;colon&amp$(rm -rf).wav",
        "x" * 251 + ".mp4",  # 255 bytes, the longest name
        "%2e%2e%2fencoded.mp4",
        "deep/" * 20 + "nested.ogg",
    ]
    paths = [drop(inbox, name, f"content {i}".encode()) for i, name in enumerate(names)]
    # a name that is not valid UTF-8 is skipped with a warning (it cannot be recorded), not a crash
    bad = os.path.join(os.fsencode(inbox), b"latin1 \xe9t\xe9.mp4")
    with open(bad, "wb") as fh:
        fh.write(b"latin-1 name")
    os.utime(bad, (OLD, OLD))

    sensor = make_sensor(inbox, store)
    data = daemon.tick(sensor)
    paths = [p for p in paths if not p.name.startswith(".")]
    assert len(data.run_requests) == len(paths) == len(names) - 1
    for path in paths:
        assert load_source(store, key_of(path)).uri == str(path)
    # file names reach the store only as slugs in partition keys (and _index, the content index)
    assert sorted(p.name for p in store.root.iterdir() if p.name != "_index") == sorted(key_of(p) for p in paths)
    assert all(os.listdir(store.root / key_of(p)) == [SOURCE_NAME] for p in paths)
    # the cursor round-trips every name
    assert daemon.tick(make_sensor(inbox, store)).run_requests == []


def test_unreadable_file_is_skipped_and_does_not_crash(inbox, store, daemon: FakeDaemon, monkeypatch):
    good = drop(inbox, "good.mp4", b"readable")
    locked = drop(inbox, "locked.mp4", b"permission denied")
    vanished = drop(inbox, "vanished.mp4", b"gone before reading")
    real = sources_mod.describe_local
    calls: list[str] = []

    def flaky(path, **kwargs):
        calls.append(Path(path).name)
        if Path(path).name == "locked.mp4":
            raise PermissionError(13, "Permission denied", str(path))
        if Path(path).name == "vanished.mp4":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path, **kwargs)

    monkeypatch.setattr(sources_mod, "describe_local", flaky)
    sensor = make_sensor(inbox, store)
    data = daemon.tick(sensor)
    assert [r.partition_key for r in data.run_requests] == [key_of(good)]
    cursor = json.loads(daemon.cursor)
    assert "locked.mp4" in cursor["failed"] and "locked.mp4" not in cursor["seen"]
    assert "vanished.mp4" not in cursor["seen"] and "vanished.mp4" not in cursor["failed"]

    calls.clear()
    assert daemon.tick(sensor).run_requests == []
    assert calls == ["vanished.mp4"]  # the failed file is not retried until it changes

    monkeypatch.setattr(sources_mod, "describe_local", real)  # permissions fixed, file touched
    os.utime(locked, (OLD + 10, OLD + 10))
    vanished.unlink()
    data = daemon.tick(sensor)
    assert [r.partition_key for r in data.run_requests] == [key_of(locked)]
    assert json.loads(daemon.cursor)["failed"] == {}
    daemon.assert_no_duplicate_runs()


def test_unlistable_folder_is_skipped_and_does_not_crash(inbox, store, daemon: FakeDaemon, monkeypatch):
    # Permission bits do not stop root, so the folder that cannot be listed is simulated at the OS call.
    good = drop(inbox, "good.mp4", b"readable")
    drop(inbox, "closed/inside.mp4", b"in a closed folder")
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "closed":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    data = daemon.tick(make_sensor(inbox, store))
    assert [r.partition_key for r in data.run_requests] == [key_of(good)]
    monkeypatch.setattr(os, "scandir", real_scandir)  # permissions fixed: the folder's file is picked up
    data = daemon.tick(make_sensor(inbox, store))
    assert len(data.run_requests) == 1 and data.run_requests[0].partition_key != key_of(good)


def test_missing_inbox_skips(tmp_path, store, daemon: FakeDaemon):
    data = daemon.tick(make_sensor(tmp_path / "nope", store))
    assert data.run_requests == [] and "does not exist" in data.skip_message


def test_corrupt_cursor_starts_over_without_repeating(inbox, store, daemon: FakeDaemon):
    drop(inbox, "a.mp4", b"a")
    assert len(daemon.tick(make_sensor(inbox, store)).run_requests) == 1
    daemon.cursor = "{not json"
    assert daemon.tick(make_sensor(inbox, store)).run_requests == []
    assert InboxCursor.parse(daemon.cursor).seen.keys() == {"a.mp4"}


def test_config_from_env_vars(tmp_path, inbox, daemon: FakeDaemon, monkeypatch):
    monkeypatch.setenv(ENV_INBOX, str(inbox))
    monkeypatch.setenv(ENV_STORE_ROOT, str(tmp_path / "env_store"))
    path = drop(inbox, "a.mp4", b"env configured")
    data = daemon.tick(build_inbox_sensor(media_source))
    assert len(data.run_requests) == 1
    assert load_source(LocalBackend(tmp_path / "env_store"), key_of(path)).uri == str(path)


def test_store_from_resource_and_definitions(tmp_path, inbox, instance):
    sensor = build_inbox_sensor(media_source, inbox=inbox, store_resource_key="media_store")
    store = MediaStore(root=str(tmp_path / "res_store"))
    defs = dg.Definitions(assets=[media_source], sensors=[sensor], resources={"media_store": store})
    dg.Definitions.validate_loadable(defs)
    path = drop(inbox, "a.mp4", b"resource configured")
    daemon = FakeDaemon(instance, resources={"media_store": store})
    assert len(daemon.tick(sensor).run_requests) == 1
    assert load_source(store, key_of(path)).uri == str(path)
    assert sensor.minimum_interval_seconds == 30
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED


def test_batched_runs_cover_each_new_partition_once(inbox, store, daemon: FakeDaemon):
    paths = [drop(inbox, f"clip_{i}.mp4", f"video {i}".encode()) for i in range(5)]
    sensor = make_sensor(inbox, store, run_batch_size=2)
    data = daemon.tick(sensor)
    assert [r.partition_key is None for r in data.run_requests] == [True, True, False]  # 2 + 2 + a single one
    for r in data.run_requests:  # they say what launched them, and that they run models (one heavy run at a time)
        assert r.tags["media_assets/source"] == "inbox" and r.tags["media_assets/heavy"] == "true"
    assert sorted(daemon.covered) == sorted(key_of(p) for p in paths) and len(daemon.covered) == 5
    assert daemon.run_until_idle(make_sensor(inbox, store, run_batch_size=2)) == 0  # restart: nothing again
    drop(inbox, "late.mp4", b"late video")
    later = daemon.tick(sensor)
    assert [r.partition_key for r in later.run_requests] == [key_of(inbox / "late.mp4")]
    daemon.assert_no_duplicate_runs()


def test_a_range_run_materializes_exactly_its_partitions(inbox, store, daemon: FakeDaemon):
    for i in range(3):
        drop(inbox, f"clip_{i}.mp4", f"video {i}".encode())
    [run] = daemon.tick(make_sensor(inbox, store, run_batch_size=10)).run_requests
    job = dg.Definitions(assets=[media_source]).resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=daemon.instance, tags=run.tags)
    assert result.success
    done = [m.partition for m in result.asset_materializations_for_node(media_source.op.name)]
    assert sorted(done) == sorted(daemon.covered) and len(done) == 3
