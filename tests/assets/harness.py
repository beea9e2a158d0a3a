"""What every asset test does around its assertions: register media as partitions, run a partition range in
one Dagster run (the backfill path), and read back the per-partition materialization metadata."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from media_assets.sources import describe_local, register_source
from resources.media_store import MediaStore


def register(store: MediaStore, media_dir: Path, rels: list[str]) -> list[str]:
    """Register each file under ``media_dir`` with the store; their partition keys, in order."""
    keys = []
    for rel in rels:
        keys.append(register_source(store, describe_local(media_dir / rel)).key)
    return keys


def cpu_tier_job(store: MediaStore) -> dg.JobDefinition:
    """The model-free assets and their checks over ``store`` (what the `cpu_tier` job runs)."""
    from media_assets.assets import CPU_TIER
    from media_assets.assets.checks import output_checks
    from resources.catalog import CatalogResource
    from resources.processing import ProcessingSettings

    return dg.Definitions(
        assets=CPU_TIER,
        asset_checks=[output_checks],
        jobs=[dg.define_asset_job("cpu", selection=dg.AssetSelection.assets(*CPU_TIER))],
        resources={"media_store": store, "processing": ProcessingSettings(), "catalog": CatalogResource()},
    ).resolve_job_def("cpu")


def instance_with(keys: list[str]) -> dg.DagsterInstance:
    """An ephemeral instance whose `videos` partitions are ``keys``."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("videos", list(dict.fromkeys(keys)))
    return instance


def run_range(job: dg.JobDefinition, instance: dg.DagsterInstance, keys: list[str]) -> dg.ExecuteInProcessResult:
    """One run over the partition range ``keys[0]..keys[-1]``, failures recorded rather than raised."""
    return job.execute_in_process(
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]},
        raise_on_error=False,
    )


def materializations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dict]:
    """(asset, partition) -> that materialization's metadata values."""
    out = {}
    for ev in result.get_asset_materialization_events():
        m = ev.event_specific_data.materialization
        out[(m.asset_key.to_user_string(), m.partition)] = {k: v.value for k, v in m.metadata.items()}
    return out
