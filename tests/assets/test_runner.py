"""Partitions side by side (``run_partitions(workers=...)``): they really overlap, each is recorded on its own, a
bad one is recorded with its traceback while the others are materialized, and their cost is the group's, shared
out by media seconds."""

import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from media_assets.assets.common import PARTITIONS
from media_assets.assets.runner import recorded_error, results, run_partitions
from media_assets.core.errors import CorruptedMediaError
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from tests.assets.harness import instance_with, materializations, run_range

KEYS = ["clip-a", "clip-b", "clip-c", "clip-d"]
BAD = "clip-c"


def _job(store: MediaStore, workers: int, fail: type[Exception] | None, seen: dict) -> dg.JobDefinition:
    both_running = threading.Barrier(2, timeout=20)

    @dg.asset(name="timeline", partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.multi_run())
    def timeline(context: dg.AssetExecutionContext, media_store: MediaStore, processing: ProcessingSettings):
        def work(key: str) -> dict:
            seen.setdefault("threads", set()).add(threading.current_thread().name)
            if workers > 1 and key in KEYS[:2]:
                both_running.wait()  # raises BrokenBarrierError unless the first two run at the same time
            if key == BAD and fail is not None:
                raise fail(f"/media/{key}.mp4", "moov atom not found")
            time.sleep(0.3)  # long enough for the shared-out cost to be measurable
            media_store.put_json(key, "timeline.json", {"key": key})
            return {"timeline": {"dagster/uri": key}}

        outcome = run_partitions(
            context, ["timeline"], media_store, processing, work, catalog=CatalogResource(), workers=workers
        )
        yield from results(context, outcome)

    return dg.Definitions(
        assets=[timeline],
        jobs=[dg.define_asset_job("t", selection=[timeline])],
        resources={"media_store": store, "processing": ProcessingSettings()},
    ).resolve_job_def("t")


def _store(tmp_path: Path) -> MediaStore:
    store = MediaStore(root=str(tmp_path / "out"))
    for i, key in enumerate(KEYS):  # media seconds decide each partition's share of the group's cost
        store.put_json(key, "media_metadata.json", {"duration_s": 10.0 * (i + 1)})
    return store


def test_partitions_run_side_by_side_and_a_bad_one_is_recorded_alone(tmp_path: Path) -> None:
    store = _store(tmp_path)
    seen: dict = {}
    result = run_range(_job(store, 2, CorruptedMediaError, seen), instance_with(KEYS), KEYS)
    assert len(seen["threads"]) == 2
    meta = materializations(result)
    assert {k for (_, k) in meta} == set(KEYS) - {BAD}
    error = recorded_error(store, BAD, "timeline")
    assert error is not None and error["code"] == "corrupted" and error["file"] == f"/media/{BAD}.mp4"
    # the group's cost shared out by media seconds: 10, 20 and 40 s of 100 s (the bad one had 30)
    walls = {k: m["cost/wall_s"] for (_, k), m in meta.items()}
    assert walls["clip-d"] == pytest.approx(4 * walls["clip-a"], rel=0.05)
    assert walls["clip-b"] == pytest.approx(2 * walls["clip-a"], rel=0.05)
    assert all(m["elapsed_s"] > 0 for m in meta.values())


def test_an_unexpected_error_keeps_its_traceback(tmp_path: Path) -> None:
    store = _store(tmp_path)
    run_range(_job(store, 2, RuntimeError, {}), instance_with(KEYS), KEYS)
    error = recorded_error(store, BAD, "timeline")
    assert error is not None and error["code"] == "internal_error"
    assert "in work" in error["details"]["traceback"] and "RuntimeError" in error["details"]["traceback"]


def test_a_transient_failure_fails_the_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its retries a transient fault is the environment's, not the file's: the step fails (Dagster's retry
    policy runs it again later) and nothing is recorded against the file."""
    from media_assets.assets import runner

    monkeypatch.setattr(runner, "TRANSIENT_ATTEMPTS", 1)

    class Outage(ConnectionError):
        def __init__(self, path: str, problem: str) -> None:
            super().__init__(f"{path}: {problem}")

    store = _store(tmp_path)
    result = run_range(_job(store, 2, Outage, {}), instance_with(KEYS), KEYS)
    assert not result.success
    assert recorded_error(store, BAD, "timeline") is None


def test_one_worker_runs_in_the_step_thread(tmp_path: Path) -> None:
    seen: dict = {}
    result = run_range(_job(_store(tmp_path), 1, None, seen), instance_with(KEYS), KEYS)
    assert result.success and len(seen["threads"]) == 1
    assert {k for (_, k) in materializations(result)} == set(KEYS)
