"""A schedule that redoes what an upgrade made out of date.

Every output records the code version and preset that made it (catalog ``video_results``). After a release
bumps an asset's code version, or a model asset's model changes (its code version carries the model's
fingerprint: ``media_assets.core.model_identity``), each tick finds the partitions whose outputs are older and
requests runs for just the changed assets and the ones that read them: one run per contiguous range of
partitions (at most ``max_partitions_per_run``, like a multi-run backfill), so models load once per range. Off
by default: turn it on in the UI (Automation) or with ``dagster schedule start reprocess_outdated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from media_assets.asset_graph import ASSETS, MODEL_ASSETS, contiguous_batches, group_by_assets, outdated
from media_assets.partitions import HEAVY_TAGS, VIDEOS_PARTITIONS_NAME, partition_range_tags


def plan_reprocessing(
    current: dict[tuple[str, str], dict[str, Any]],
    partitions: list[str],
    max_partitions_per_run: int,
    versions: Mapping[str, str] | None = None,
) -> list[tuple[list[str], list[str], str]]:
    """(assets, contiguous partitions, why) per run to request; ``current`` is Catalog.current_results. Only
    outputs that exist are redone: what reads a changed asset but was never made stays unmade."""
    stale = outdated(current, partitions, ASSETS, None, versions=versions, existing_only=True)
    plan = []
    for assets, keys in group_by_assets(stale).items():
        for batch in contiguous_batches(keys, partitions, max_partitions_per_run):
            plan.append((list(assets), batch, stale[batch[0]][1]))
    return plan


def build_reprocess_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    *,
    cron_schedule: str = "0 3 * * *",
    store_resource_key: str = "media_store",
    catalog_resource_key: str = "catalog",
    max_partitions_per_run: int = 50,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
    versions: Mapping[str, str] | None = None,
) -> dg.ScheduleDefinition:
    """``versions``: each asset's current code version (the definitions' own, with model fingerprints); the
    table's by default."""

    @dg.schedule(
        name="reprocess_outdated",
        cron_schedule=cron_schedule,
        job=job,
        default_status=default_status,
        required_resource_keys={store_resource_key, catalog_resource_key},
        description="Redo outputs made by an older code version of their asset, and what reads them.",
    )
    def reprocess_outdated(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
        store = getattr(context.resources, store_resource_key)
        partitions = list(context.instance.get_dynamic_partitions(VIDEOS_PARTITIONS_NAME))
        catalog = getattr(context.resources, catalog_resource_key).open(store.root)
        try:
            current = catalog.current_results(partitions, ASSETS)
        finally:
            catalog.close()
        plan = plan_reprocessing(current, partitions, max_partitions_per_run, versions)
        if not plan:
            return dg.SkipReason(f"all outputs of {len(partitions)} videos are up to date")
        tick = context.scheduled_execution_time.strftime("%Y%m%dT%H%M") if context.scheduled_execution_time else ""
        return [
            dg.RunRequest(
                run_key=f"reprocess:{tick}:{'+'.join(assets)}:{keys[0]}:{keys[-1]}",
                asset_selection=[dg.AssetKey(a) for a in assets],
                tags={
                    **partition_range_tags(keys[0], keys[-1]),
                    "media_assets/source": "reprocess",
                    "media_assets/reason": why[:200],
                    **(HEAVY_TAGS if set(assets) & set(MODEL_ASSETS) else {}),
                },
            )
            for assets, keys, why in plan
        ]

    return reprocess_outdated
