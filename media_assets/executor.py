"""The project's executor: Dagster's (in-process or multiprocess, ``MEDIA_ASSETS_EXECUTOR``) behind a liveness guard.

Before a daemon-launched run (sensor, backfill, UI) asks for pool slots, runs of this host whose process is gone
are marked failed and their slots freed, and the run takes its own liveness lock
(:mod:`media_assets.run_liveness`), so that a run that dies later cannot wedge the instance either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
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

# What a step process needs before it can start work: Dagster, the project's definitions and the libraries the
# model steps import. With `spawn` (Dagster's default) every step process imports all of it again; a forkserver
# imports it once per run and forks each step from it.
PRELOAD_MODULES = ["media_assets.definitions", "media_assets.step_preload"]
EXECUTOR_ENV = "MEDIA_ASSETS_EXECUTOR"
EXECUTORS = ("multiprocess", "forkserver", "in_process")
# Measured on 50 clips through the inbox sensor and the daemon (BENCHMARKS.md, throughput): in_process took 17 %
# less wall time and 21 % less CPU than a spawned process per step, and kept Dagster's share of the wall time at
# 5.3 % instead of 13.6 %. The branches no longer overlap inside a run, but on a CPU they compete for the same
# cores anyway, and the accelerator pool runs one model step at a time. Models are given back after each step
# (model_cache.release), so the one process holds one model at a time.
DEFAULT_EXECUTOR = "in_process"


def effective_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The executor config for ``MEDIA_ASSETS_EXECUTOR`` where the run config leaves the choice open (the
    multiprocess default without a start method): ``in_process`` (the project's default: every step of a run in
    the run's own process, one after another), ``multiprocess`` (Dagster's default: a spawned process per step)
    or ``forkserver`` (step processes forked from a server that imported the project once)."""
    config = dict(config)
    wanted = os.environ.get(EXECUTOR_ENV, DEFAULT_EXECUTOR).strip().lower() or DEFAULT_EXECUTOR
    if wanted not in EXECUTORS:
        raise dg.DagsterInvalidConfigError(f"{EXECUTOR_ENV}={wanted!r}: use one of {', '.join(EXECUTORS)}", [], None)
    multiprocess = config.get("multiprocess")
    if not isinstance(multiprocess, Mapping) or multiprocess.get("start_method"):
        return config
    if wanted == "forkserver":
        start = {"forkserver": {"preload_modules": PRELOAD_MODULES}}
        config["multiprocess"] = {**multiprocess, "start_method": start}
    elif wanted == "in_process":
        kept = {k: multiprocess[k] for k in ("retries", "step_dependency_config") if k in multiprocess}
        config = {"in_process": {"retries": {"enabled": {}}, **kept}}
    return config


@dg.executor(
    name="media_assets_guarded",
    config_schema=_DEFAULT.config_schema.as_field(),
    requirements=lambda config: _DEFAULT.get_requirements(config),
)
def guarded_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's default executor (``multiprocess`` unless run config picks ``in_process``), guarded; optionally
    the default chosen by ``MEDIA_ASSETS_EXECUTOR`` (:func:`effective_config`)."""
    context = dg.InitExecutorContext(
        job=init_context.job,
        executor_def=init_context.executor_def,
        executor_config=effective_config(init_context.executor_config),
        instance=init_context.instance,
    )
    return GuardedExecutor(_DEFAULT.executor_creation_fn(context))
