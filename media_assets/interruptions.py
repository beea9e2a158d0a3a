"""What a stopped or dead run leaves undone: its unfinished (asset, partition) pairs, recorded as interrupted.

A run stopped by SIGINT/SIGTERM, or found dead by :func:`media_assets.run_liveness.reap_dead_runs`, may have
rewritten some outputs of its partitions before it stopped. Its unfinished pairs are recorded in the catalog with
status ``interrupted`` (not as bad media: no error record is written), so ``media-assets process`` redoes them
and what reads them on its next run, and what its writers left half-done is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import dagster as dg

from media_assets.partitions import RANGE_END_TAG, RANGE_START_TAG, VIDEOS_PARTITIONS_NAME

PARTITION_TAG = "dagster/partition"


def run_partitions(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[str]:
    """The ``videos`` partitions a run covers (one partition, or a range in the partitions' order)."""
    if PARTITION_TAG in run.tags:
        return [run.tags[PARTITION_TAG]]
    first, last = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    if not first or not last:
        return []
    order = list(instance.get_dynamic_partitions(VIDEOS_PARTITIONS_NAME))
    if first not in order or last not in order:
        return []
    return order[order.index(first) : order.index(last) + 1]


def run_assets(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[str]:
    """The assets the run was to materialize, read from its execution plan (a job subset has no selection)."""
    if run.asset_selection:
        return sorted(k.to_user_string() for k in run.asset_selection)
    if not run.execution_plan_snapshot_id:
        return []
    snap = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    keys = {
        out.properties.asset_key.to_user_string()
        for step in snap.steps
        for out in step.outputs
        if out.properties is not None and out.properties.asset_key is not None
    }
    return sorted(keys)


def materialized_in_run(instance: dg.DagsterInstance, run_id: str) -> set[tuple[str, str]]:
    """(asset, partition) pairs the run reported as materialized."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    out = set()
    for rec in records:
        mat = rec.event_log_entry.asset_materialization
        if mat is not None and mat.partition:
            out.add((mat.asset_key.to_user_string(), mat.partition))
    return out


def unfinished(
    instance: dg.DagsterInstance, run_id: str, assets: Iterable[str], partitions: Iterable[str]
) -> dict[str, list[str]]:
    """partition -> the run's assets it did not materialize there."""
    done = materialized_in_run(instance, run_id)
    assets = list(assets)
    out = {}
    for key in partitions:
        todo = [a for a in assets if (a, key) not in done]
        if todo:
            out[key] = todo
    return out


def record_interrupted(run_id: str, pending: dict[str, list[str]], reason: str, *, ours: bool = False) -> None:
    """Record ``pending`` (partition -> assets) as interrupted in the catalog and remove the temporary files that
    the run's writers left (``ours``: this process's own writers, when it is about to exit)."""
    from resources.catalog import CatalogResource
    from resources.media_store import MediaStore

    if not pending:
        return
    store = MediaStore.from_env()
    catalog = CatalogResource.from_env().open(store.root)
    try:
        for key, assets in sorted(pending.items()):
            for asset in assets:
                meta = {"status": "interrupted", "error": reason, "error_code": "interrupted"}
                catalog.record_materialization(key, asset, "interrupted", meta, run_id=run_id)
    finally:
        catalog.close()
    for key in pending:
        store.sweep_orphans(key, ours=ours)


def record_dead_run(instance: dg.DagsterInstance, run: dg.DagsterRun, reason: str) -> dict[str, list[str]]:
    """:func:`record_interrupted` for a run found dead; returns what it left undone."""
    pending = unfinished(instance, run.run_id, run_assets(instance, run), run_partitions(instance, run))
    record_interrupted(run.run_id, pending, reason)
    return pending


def report_dead_run(instance: dg.DagsterInstance, reaped: Any, report: Callable[[str], object]) -> None:
    """Say which dead run was marked failed and why, and record what it left unfinished for the next run."""
    report(f"run {reaped.run_id} ({reaped.job_name}) was marked failed: {reaped.message}")
    try:
        pending = record_dead_run(instance, reaped.run, reaped.message)
    except Exception as exc:  # the catalog's problem is reported by the steps that need it
        report(f"could not record what run {reaped.run_id} left unfinished: {exc}")
        return
    if pending:
        report(f"  it left {len(pending)} partition(s) unfinished: {', '.join(sorted(pending)[:5])}")
