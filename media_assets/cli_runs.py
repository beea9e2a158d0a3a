"""How the CLI executes a Dagster run: liveness lock, waiting for pool slots, and a prompt stop on Ctrl-C / SIGTERM.

The run executes in a worker thread; the main thread only waits. A signal therefore always reaches Python code in
the main thread, never a model's native callback in the middle of inference (where an interrupt can be swallowed).
On a signal, :class:`StopRequested` is raised in the main thread. The caller marks the run canceled, frees its
pool slots, records the partitions that were in flight as interrupted and removes what they were writing, then
ends the process with :func:`hard_exit` (the worker thread cannot be stopped from outside, and exiting while it
runs loses nothing: every artifact is written atomically and nothing of the run counts as materialized).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from media_assets.run_liveness import (
    SlotHolder,
    holding_run_lock,
    liveness_tags,
    patch_dagster_claim_backoff,
    wait_for_pools,
)

JOIN_POLL_S = 0.1


class StopRequested(BaseException):
    """SIGINT or SIGTERM arrived (a BaseException, so that no ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise :class:`StopRequested` in the main thread on the first SIGINT/SIGTERM; a second one exits at once."""
    received: list[int] = []

    def handler(signum: int, _frame: Any) -> None:
        if received:
            hard_exit(128 + signum)
        received.append(signum)
        raise StopRequested(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def hard_exit(code: int) -> None:
    """End the process now, whatever the worker threads are doing."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


@dataclass
class RunHandle:
    run_id: str
    result: Any = None
    error: BaseException | None = None


def pools_of(job: dg.JobDefinition) -> list[str]:
    """The concurrency pools the job's steps claim slots in."""
    return sorted({node.definition.pool for node in job.graph.node_dict.values() if node.definition.pool})


def execute_run(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    *,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
    handle: RunHandle,
    on_reaped: Callable[[Any], None],
    on_wait: Callable[[list[SlotHolder], float], None],
) -> Any:
    """Execute ``job`` in-process on a worker thread under a liveness lock, after reaping dead runs and waiting
    for its pools. Returns the result of ``execute_in_process``; :class:`StopRequested` propagates."""
    patch_dagster_claim_backoff()
    with holding_run_lock(instance, handle.run_id):
        wait_for_pools(instance, pools_of(job), on_wait=on_wait, on_reaped=on_reaped)

        def target() -> None:
            try:
                handle.result = job.execute_in_process(
                    instance=instance,
                    run_id=handle.run_id,
                    tags={**tags, **liveness_tags(handle.run_id)},
                    raise_on_error=False,
                    run_config=dict(run_config),
                )
            except BaseException as exc:  # reported by the caller
                handle.error = exc

        worker = threading.Thread(target=target, name=f"run-{handle.run_id[:8]}", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(JOIN_POLL_S)
    if handle.error is not None:
        raise handle.error
    return handle.result


def new_handle() -> RunHandle:
    return RunHandle(run_id=str(uuid.uuid4()))


def cancel_run(instance: dg.DagsterInstance, run_id: str, reason: str) -> None:
    """Mark a run interrupted by the user as canceled (if it got that far) and free its pool slots."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        instance.report_run_canceled(run, message=reason)
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def describe_holders(holders: Sequence[SlotHolder], since: float) -> str:
    pools = sorted({h.pool for h in holders})
    who = ", ".join(f"run {h.run_id[:8]} ({h.step_key})" for h in holders[:3])
    started = time.strftime("%H:%M:%S", time.localtime(since))
    return f"waiting for a slot in pool {', '.join(pools)} held by {who}, since {started} ({time.time() - since:.0f}s)"
