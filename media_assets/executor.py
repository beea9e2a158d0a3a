"""The project's executor: Dagster's default (multiprocess, or in-process by config) behind a liveness guard.

Before a daemon-launched run (sensor, backfill, UI) asks for pool slots, runs of this host whose process is gone
are marked failed and their slots freed, and the run takes its own liveness lock
(:mod:`media_assets.run_liveness`), so that a run that dies later cannot wedge the instance either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg

from media_assets.interruptions import report_dead_run
from media_assets.run_liveness import (
    hold_run_lock_until_exit,
    liveness_tags,
    patch_dagster_claim_backoff,
    reap_dead_runs,
)


class GuardedExecutor(dg.Executor):
    def __init__(self, inner: dg.Executor) -> None:
        self.inner = inner

    @property
    def retries(self) -> Any:
        return self.inner.retries

    @property
    def step_dependency_config(self) -> Any:
        return self.inner.step_dependency_config

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
        instance, run_id = plan_context.instance, plan_context.run_id
        patch_dagster_claim_backoff()
        hold_run_lock_until_exit(instance, run_id)
        instance.add_run_tags(run_id, liveness_tags(run_id))
        for reaped in reap_dead_runs(instance, exclude=[run_id]):
            report_dead_run(instance, reaped, plan_context.log.warning)
        yield from self.inner.execute(plan_context, execution_plan)


_DEFAULT = dg.multi_or_in_process_executor


@dg.executor(
    name="media_assets_guarded",
    config_schema=_DEFAULT.config_schema.as_field(),
    requirements=lambda config: _DEFAULT.get_requirements(config),
)
def guarded_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's default executor (``multiprocess`` unless run config picks ``in_process``), guarded."""
    return GuardedExecutor(_DEFAULT.executor_creation_fn(init_context))
