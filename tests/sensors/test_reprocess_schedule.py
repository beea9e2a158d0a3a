"""The reprocessing schedule: after a code-version bump, runs for just the outdated assets, per partition range."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from media_assets.asset_graph import ASSETS, CODE_VERSIONS
from media_assets.definitions import defs, process_media_job
from media_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from sensors.reprocess import build_reprocess_schedule

KEYS = ["k1", "k2", "k3", "k4", "k5"]


@pytest.fixture
def setup(tmp_path: Path):
    store = MediaStore(root=str(tmp_path / "data"))
    catalog = CatalogResource()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("videos", KEYS)
        db = catalog.open(store.root)
        for key in KEYS:
            for asset in ASSETS:
                meta = {"media_assets/code_version": CODE_VERSIONS[asset], "media_assets/preset": "balanced"}
                db.record_materialization(key, asset, "ok", meta, run_id="r1")
        yield store, catalog, instance, db
        db.close()


def _tick(store: MediaStore, catalog: CatalogResource, instance: dg.DagsterInstance):
    schedule = build_reprocess_schedule(process_media_job, max_partitions_per_run=2)
    with dg.build_schedule_context(
        instance=instance,
        resources={"media_store": store, "catalog": catalog},
        scheduled_execution_time=datetime(2026, 11, 21, 3, 0, tzinfo=UTC),
    ) as context:
        return schedule.evaluate_tick(context)


def test_nothing_to_do_when_everything_is_current(setup) -> None:
    store, catalog, instance, _ = setup
    result = _tick(store, catalog, instance)
    assert not result.run_requests and "up to date" in (result.skip_message or "")


def test_runs_cover_only_what_changed_and_what_reads_it(setup) -> None:
    store, catalog, instance, db = setup
    old = {"media_assets/code_version": "0", "media_assets/preset": "balanced"}
    for key in ("k1", "k2", "k3"):  # an older transcript on three consecutive videos
        db.record_materialization(key, "transcript", "ok", old, run_id="r0")
    db.record_materialization("k5", "scenes", "ok", old, run_id="r0")
    db.record_materialization("k5", "diarization", "failed", old, run_id="r2")  # failure: output unchanged
    requests = _tick(store, catalog, instance).run_requests
    got = [
        (sorted(k.to_user_string() for k in r.asset_selection), r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG])
        for r in requests
    ]
    after_transcript = sorted(["transcript", "speaker_transcript", "embeddings", "timeline"])
    after_scenes = sorted(["scenes", "keyframes", "detections", "embeddings", "timeline"])
    assert got == [  # at most 2 partitions per run
        (after_transcript, "k1", "k2"),
        (after_transcript, "k3", "k3"),
        (after_scenes, "k5", "k5"),
    ]
    assert all(r.tags["media_assets/source"] == "reprocess" for r in requests)
    assert all(r.tags["media_assets/heavy"] == "true" for r in requests)  # they run models: one at a time
    assert "transcript code 0 -> " in requests[0].tags["media_assets/reason"]
    assert len({r.run_key for r in requests}) == 3  # one run per range and tick, even if the tick is retried
    assert [r.run_key for r in _tick(store, catalog, instance).run_requests] == [r.run_key for r in requests]


def test_the_schedule_is_defined_and_off_by_default() -> None:
    schedule = defs.resolve_schedule_def("reprocess_outdated")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.job_name == "process_media"
