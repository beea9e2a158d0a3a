"""A batch with a corrupt file: Dagster itself shows exactly that file's partitions as failed, the others as
materialized, and a "failed and missing" backfill would select exactly it (media_assets.assets.partial)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from media_assets.asset_graph import CPU_TIER_ASSETS
from media_assets.partitions import videos_partitions
from resources.media_store import MediaStore
from tests.assets.harness import cpu_tier_job, register, run_range

GOOD = ["video/psd_fades.mp4", "video/psd_counter.mp4", "video/psd_delayed_start.mp4"]
CORRUPT = "broken/truncated_no_moov.mp4"


def _status(instance: dg.DagsterInstance, asset: str) -> tuple[set[str], set[str]]:
    """(materialized, failed) partitions as the UI's partition bar reads them."""
    value = get_and_update_asset_status_cache_value(instance, dg.AssetKey(asset), videos_partitions)
    assert value is not None
    return (
        set(value.deserialize_materialized_partition_subsets(videos_partitions).get_partition_keys()),
        set(value.deserialize_failed_partition_subsets(videos_partitions).get_partition_keys()),
    )


def test_a_corrupt_file_fails_its_partitions_only(tmp_path: Path, media_dir: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for rel in [*GOOD, CORRUPT]:
        shutil.copy(media_dir / rel, media / Path(rel).name)
    store = MediaStore(root=str(tmp_path / "out"))
    keys = register(store, media, [Path(r).name for r in [*GOOD, CORRUPT]])
    bad = keys[-1]
    job = cpu_tier_job(store)
    ordered = sorted(keys)  # one run over the whole range, the corrupt file somewhere inside it
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("videos", ordered)
        result = run_range(job, instance, ordered)
        assert not result.success
        failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
        assert failure is not None and bad in (failure.description or "")
        assert "truncated_no_moov.mp4" in (failure.description or "")
        for asset in CPU_TIER_ASSETS:  # the asset itself and everything downstream of it
            materialized, failed = _status(instance, asset)
            assert materialized == set(keys) - {bad}, asset
            assert failed == {bad}, asset
            missing_or_failed = set(ordered) - materialized  # what "backfill failed and missing" selects
            assert missing_or_failed == {bad}
        # the good files' materializations carry Dagster's own code- and data-version tags
        for ev in result.get_asset_materialization_events():
            m = ev.event_specific_data.materialization
            assert m.partition != bad
            assert m.tags["dagster/code_version"] and m.tags["dagster/data_version"]
        # the failure is readable on the partition: the processed check names the file and the problem
        evaluations = [
            e for e in result.get_asset_check_evaluations() if e.partition == bad and e.check_name == "processed"
        ]
        assert {e.asset_key.to_user_string() for e in evaluations} == set(CPU_TIER_ASSETS)
        assert all(not e.passed and "truncated_no_moov.mp4" in (e.description or "") for e in evaluations)
