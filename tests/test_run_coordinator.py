"""Every queued run says what launched it and what it does (issue 12, item 8)."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.run_coordinator import SubmitRunContext

from media_assets.run_coordinator import MediaRunCoordinator, run_tags

COORDINATOR = {"module": "media_assets.run_coordinator", "class": "MediaRunCoordinator"}
ORIGIN = RemoteJobOrigin(
    RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("media_assets.definitions"), "__repository__"), "__ASSET_JOB"
)


def test_backfill_of_a_model_asset_is_heavy_and_says_so() -> None:
    tags = {
        "dagster/backfill": "abcd",
        "dagster/asset_partition_range_start": "a-1",
        "dagster/asset_partition_range_end": "z-9",
    }
    assert run_tags(tags, ["transcript", "diarization", "timeline"]) == {
        "media_assets/source": "backfill",
        "media_assets/heavy": "true",
        "media_assets/what": "backfill: transcript +2 for a-1..z-9",
    }


def test_model_free_runs_are_not_heavy_and_launchers_tags_are_kept() -> None:
    assert run_tags({"dagster/partition": "talk-abcdefgh"}, ["scenes"]) == {
        "media_assets/source": "ui",
        "media_assets/what": "ui: scenes for talk-abcdefgh",
    }
    added = run_tags({"media_assets/source": "inbox", "media_assets/heavy": "true"}, None)
    assert added == {"media_assets/what": "inbox: media_metadata +10"}
    assert run_tags({"dagster/from_automation_condition": "true"}, ["timeline"])["media_assets/source"] == "automation"
    assert run_tags({"dagster/sensor_name": "my_sensor"}, ["audio"])["media_assets/source"] == "sensor my_sensor"
    long = run_tags({"dagster/partition": "x" * 80}, ["audio"])["media_assets/what"]
    assert len(long) == 63 and long.endswith("...")


@dg.asset(partitions_def=dg.DynamicPartitionsDefinition(name="videos"))
def transcript() -> None: ...


@dg.asset(partitions_def=dg.DynamicPartitionsDefinition(name="videos"))
def scenes() -> None: ...


@pytest.mark.parametrize(("selected", "heavy"), [(["transcript"], True), (["scenes"], False)])
def test_the_instance_queues_runs_with_the_tags(selected: list[str], heavy: bool) -> None:
    job = dg.Definitions(assets=[transcript, scenes]).resolve_implicit_global_asset_job_def()
    with dg.instance_for_test(overrides={"run_coordinator": COORDINATOR}) as instance:
        assert isinstance(instance.run_coordinator, MediaRunCoordinator)
        run = instance.create_run_for_job(
            job_def=job,
            asset_selection=frozenset(dg.AssetKey(a) for a in selected),
            tags={"dagster/backfill": "b1", "dagster/partition": "talk-abcdefgh"},
            remote_job_origin=ORIGIN,  # a queued run must name the code location the daemon launches it from
        )
        queued = instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))
        stored = instance.get_run_by_id(run.run_id)
        assert stored is not None and stored.status == dg.DagsterRunStatus.QUEUED
        assert queued.tags == stored.tags
        assert stored.job_name == "__ASSET_JOB"  # Dagster's name for every asset backfill run: the tags say more
        assert stored.tags["media_assets/source"] == "backfill"
        assert stored.tags["media_assets/what"] == f"backfill: {selected[0]} for talk-abcdefgh"
        assert (stored.tags.get("media_assets/heavy") == "true") is heavy
