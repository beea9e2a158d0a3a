"""Materialize part of a partition range.

A step over a range of videos (a backfill, a CLI batch) returns one output for the whole range, and Dagster turns
that output into a materialization of every partition in it, including videos that failed. Dagster 1.13 has no
public way for such a step to materialize a subset of its range, nor to emit ASSET_FAILED_TO_MATERIALIZE for one
partition (``AssetMaterializationFailure`` cannot be logged from user code). So, when part of the range failed,
this builds the materializations Dagster would have built (same code-version and data-version tags, same
per-partition metadata) for the good partitions only, then returns the output with Dagster's own switch for
externally reported materializations (the ``dagster/defer_asset_events`` run tag) set for that one output: the
downstream steps still run, and the failed partitions stay unmaterialized. The run then fails in the ``processed``
checks (``media_assets.assets.checks``), which is what makes Dagster show those partitions as failed.

This leans on two private Dagster names, checked by tests/assets/test_partial_failures.py on every upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster._core.definitions.assets.definition.asset_spec import AssetExecutionType
from dagster._core.execution.plan.execute_step import _get_output_asset_events
from dagster._core.storage.tags import EXTERNALLY_MANAGED_ASSETS_TAG


def partial_results(context: dg.AssetExecutionContext, assets: Sequence[str], ok: Sequence[str]) -> Iterator[Any]:
    """Materializations of ``assets`` for the partitions ``ok`` only, then the step's outputs."""
    step = context.get_step_execution_context()
    for asset in assets:
        key = dg.AssetKey(asset)
        output_name = context.assets_def.get_output_name_for_asset_key(key)
        output_def = step.op_def.output_def_named(output_name)
        yield from _get_output_asset_events(
            key,
            list(ok),
            dg.Output(None, output_name=output_name),
            output_def,
            {},
            step,
            AssetExecutionType.MATERIALIZATION,
        )
    for asset in assets:
        with _events_reported_by_us(step):
            yield dg.MaterializeResult(asset_key=asset)


@contextmanager
def _events_reported_by_us(step: Any) -> Iterator[None]:
    """While the output is handled (Dagster handles a yielded event before resuming the step), its
    materializations are left to us."""
    plan_data = step._plan_data
    run = plan_data.dagster_run
    step._plan_data = plan_data._replace(dagster_run=run.with_tags({**run.tags, EXTERNALLY_MANAGED_ASSETS_TAG: "true"}))
    try:
        yield
    finally:
        step._plan_data = plan_data
