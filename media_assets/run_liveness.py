"""Runs whose process died never wedge the instance: liveness locks, reaping dead runs, waiting for pool slots.

A run can die from SIGKILL, SIGILL, the OOM killer or a power loss. Dagster then keeps it ``STARTED`` and keeps
its pool slots claimed, and every later step of the same pool waits forever (the default run launcher cannot
check run workers, so Dagster's run monitoring does not notice either).

The process that orchestrates a run holds an exclusive ``flock`` on ``<instance>/media_assets/run_locks/<run_id>``
for the run's lifetime and tags the run with its host. The kernel drops the lock when the process dies, however
it dies. :func:`reap_dead_runs` marks unfinished runs of this host whose lock is free as failed, with a message
that says why, and frees their pool slots (and the slots of finished runs). The CLI reaps before every run and
waits for pool slots itself, sleeping between checks; the project's executor reaps before every daemon-launched
run. Runs on other hosts are left to Dagster's run monitoring.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

HOST_TAG = "media_assets/host"
LOCK_TAG = "media_assets/liveness"
PID_TAG = "media_assets/pid"
UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
POLL_S = 1.0
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def host_name() -> str:
    return socket.gethostname()


def locks_dir(instance: dg.DagsterInstance) -> Path:
    return Path(instance.root_directory) / "media_assets" / "run_locks"


def _lock_path(instance: dg.DagsterInstance, run_id: str) -> Path:
    return locks_dir(instance) / f"{run_id}.lock"


def liveness_tags(run_id: str) -> dict[str, str]:
    """Tags that let :func:`reap_dead_runs` judge the run (set before it starts, or added when it starts)."""
    return {HOST_TAG: host_name(), LOCK_TAG: run_id, PID_TAG: str(os.getpid())}


def _take_lock(instance: dg.DagsterInstance, run_id: str) -> tuple[Path, int]:
    """Create the run's lock file, take its lock and write our pid in it: (path, open descriptor)."""
    path = _lock_path(instance, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()}\n".encode())
    except BaseException:
        os.close(fd)
        raise
    return path, fd


@contextlib.contextmanager
def holding_run_lock(instance: dg.DagsterInstance, run_id: str) -> Iterator[None]:
    """Hold the run's liveness lock while the body runs (the lock file is removed afterwards)."""
    path, fd = _take_lock(instance, run_id)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)


def _lock_is_free(path: Path) -> bool:
    """True when no live process holds the lock (a missing file counts as free: its holder cleaned up or died)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


@dataclass(frozen=True)
class ReapedRun:
    run: dg.DagsterRun
    started: float | None
    message: str

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def job_name(self) -> str:
        return self.run.job_name


def _is_dead(instance: dg.DagsterInstance, run: dg.DagsterRun, host: str) -> bool:
    tags = run.tags
    if tags.get(HOST_TAG) != host or LOCK_TAG not in tags:
        return False  # another machine's run, or one without a liveness lock: Dagster's run monitoring judges it
    path = _lock_path(instance, tags[LOCK_TAG])
    if not path.exists() and run.status == dg.DagsterRunStatus.STARTING:
        return False  # tagged before its process took the lock (CLI runs are tagged at creation)
    return _lock_is_free(path)


def reap_dead_runs(instance: dg.DagsterInstance, *, exclude: Sequence[str] = ()) -> list[ReapedRun]:
    """Mark unfinished runs of this host whose process is gone as failed and free their pool slots; also free
    slots still held by finished runs. Returns the runs it marked failed."""
    host = host_name()
    reaped: list[ReapedRun] = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if run.run_id in exclude or not _is_dead(instance, run, host):
            continue
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status not in UNFINISHED:
            continue  # it finished while we looked
        pid = run.tags.get(PID_TAG)
        message = (
            f"media-assets: the process that ran this run (pid {pid or '?'} on {host}) is gone: it was killed or "
            "crashed (SIGKILL, SIGILL, out of memory or a power loss). Marked failed and its pool slots freed; "
            "what it left unfinished is redone by the next run."
        )
        instance.report_run_failed(current, message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        with contextlib.suppress(FileNotFoundError):
            _lock_path(instance, run.run_id).unlink()
        reaped.append(ReapedRun(current, record.start_time, message.split(": ", 1)[1]))
    free_slots_of_finished_runs(instance, exclude=exclude)
    return reaped


def free_slots_of_finished_runs(instance: dg.DagsterInstance, *, exclude: Sequence[str] = ()) -> int:
    """Free pool slots (and queued claims) that runs kept after they ended; returns how many runs had some."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return 0
    run_ids = [r for r in storage.get_concurrency_run_ids() if r not in exclude]
    if not run_ids:
        return 0
    finished = instance.get_run_records(filters=dg.RunsFilter(run_ids=run_ids, statuses=FINISHED))
    for record in finished:
        storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return len(finished)


@dataclass(frozen=True)
class SlotHolder:
    pool: str
    run_id: str
    step_key: str


def busy_pools(instance: dg.DagsterInstance, pools: Sequence[str]) -> list[SlotHolder]:
    """Who holds the slots of the full pools among ``pools`` (empty when a slot is free in each of them)."""
    storage = instance.event_log_storage
    if not pools or not storage.supports_global_concurrency_limits:
        return []
    holders: list[SlotHolder] = []
    for pool, info in storage.get_concurrency_infos(list(pools)).items():
        limit = info.limit
        if limit is None or len(info.claimed_slots) < limit:
            continue
        holders.extend(SlotHolder(pool, s.run_id, s.step_key) for s in info.claimed_slots)
    return holders


def wait_for_pools(
    instance: dg.DagsterInstance,
    pools: Sequence[str],
    *,
    on_wait: Callable[[list[SlotHolder], float], None],
    on_reaped: Callable[[ReapedRun], None],
    poll_s: float = POLL_S,
    report_every_s: float = 10.0,
) -> float:
    """Block until each of ``pools`` has a free slot, reaping dead runs before each check (``on_reaped`` for
    each); returns seconds waited. ``on_wait(holders, since)`` is called when waiting starts and then every
    ``report_every_s``.
    """
    started = time.time()
    last_report = 0.0
    while True:
        for reaped in reap_dead_runs(instance):
            on_reaped(reaped)
        holders = busy_pools(instance, pools)
        if not holders:
            return time.time() - started
        if time.time() - last_report >= report_every_s:
            on_wait(holders, started)
            last_report = time.time()
        time.sleep(poll_s)


def patch_dagster_claim_backoff() -> None:
    """Dagster 1.13's ``InstanceConcurrencyContext.interval_to_next_pending_claim_check`` returns
    ``min([0, ...])``, which is never positive, so a step blocked on a pool re-polls the database in a busy loop
    at 100 % CPU. Make it return the time to the next scheduled check (what it computes but discards)."""
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

    if getattr(InstanceConcurrencyContext, "_media_assets_patched", False):
        return

    def interval_to_next_pending_claim_check(self: InstanceConcurrencyContext) -> float:
        if not self._pending_claims:
            return 0.0
        now = time.time()
        waits = [ready_at - now for ready_at in self._pending_timeouts.values()]
        return max(0.0, min(waits)) if waits else POLL_S

    InstanceConcurrencyContext.interval_to_next_pending_claim_check = interval_to_next_pending_claim_check
    InstanceConcurrencyContext._media_assets_patched = True


_HELD: dict[str, int] = {}  # run_id -> fd held until this process exits


def hold_run_lock_until_exit(instance: dg.DagsterInstance, run_id: str) -> None:
    """Take the run's liveness lock and keep it until this process exits (the run worker marks the run finished
    after its executor returns, so releasing earlier would let a reaper see a live run as dead)."""
    if run_id not in _HELD:
        _HELD[run_id] = _take_lock(instance, run_id)[1]
