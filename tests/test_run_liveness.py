"""Dead runs are marked failed and release their pool slots; live ones and other hosts' are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from media_assets import run_liveness as L
from media_assets.executor import guarded_executor
from media_assets.instance import get_instance


@dg.op(pool="accelerator")
def model_step() -> None:
    pass


@dg.job(executor_def=guarded_executor)
def guarded_job() -> None:
    model_step()


@dg.job
def plain_job() -> None:
    model_step()


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    inst = get_instance(tmp_path / "home")  # the project's dagster.yaml: pools with one slot by default
    yield inst
    inst.dispose()


def _run(instance: dg.DagsterInstance, tags: dict[str, str], status=dg.DagsterRunStatus.STARTED) -> dg.DagsterRun:
    run_id = str(uuid.uuid4())
    return instance.create_run_for_job(plain_job, run_id=run_id, tags={**tags}, status=status)


def _claim(instance: dg.DagsterInstance, run_id: str) -> None:
    instance.event_log_storage.initialize_concurrency_limit_to_default("accelerator")
    assert instance.event_log_storage.claim_concurrency_slot("accelerator", run_id, "model_step", 0).is_claimed


def _dead_lock(instance: dg.DagsterInstance, run_id: str) -> None:
    """A lock file left by a process that was killed (a child that takes the lock, then dies by SIGKILL)."""
    code = (
        "import sys, dagster as dg; from media_assets import run_liveness as L;"
        "inst = dg.DagsterInstance.from_config(sys.argv[1]);"
        "L.hold_run_lock_until_exit(inst, sys.argv[2]); import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    )
    res = subprocess.run([sys.executable, "-c", code, instance.root_directory, run_id], capture_output=True)
    assert res.returncode == -9, res.stderr
    assert (L.locks_dir(instance) / f"{run_id}.lock").exists()


def test_a_dead_run_is_marked_failed_and_its_slot_freed(instance: dg.DagsterInstance) -> None:
    dead = _run(instance, {})
    instance.add_run_tags(dead.run_id, L.liveness_tags(dead.run_id))
    _dead_lock(instance, dead.run_id)
    _claim(instance, dead.run_id)
    assert L.busy_pools(instance, ["accelerator"])
    reaped = L.reap_dead_runs(instance)
    assert [r.run_id for r in reaped] == [dead.run_id]
    run = instance.get_run_by_id(dead.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    assert not L.busy_pools(instance, ["accelerator"])
    failure = instance.get_records_for_run(dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    assert "is gone: it was killed or crashed" in failure[0].event_log_entry.message
    assert L.reap_dead_runs(instance) == []  # once


def test_live_runs_other_hosts_and_untagged_runs_are_left_alone(instance: dg.DagsterInstance) -> None:
    live = _run(instance, {})
    other_host = _run(instance, {L.HOST_TAG: "another-machine", L.LOCK_TAG: "x"})
    untagged = _run(instance, {})
    with L.holding_run_lock(instance, live.run_id):
        instance.add_run_tags(live.run_id, L.liveness_tags(live.run_id))
        _claim(instance, live.run_id)
        assert L.reap_dead_runs(instance) == []
        for run in (live, other_host, untagged):
            current = instance.get_run_by_id(run.run_id)
            assert current is not None and current.status == dg.DagsterRunStatus.STARTED
        assert [h.run_id for h in L.busy_pools(instance, ["accelerator"])] == [live.run_id]


def test_slots_kept_by_finished_runs_are_freed(instance: dg.DagsterInstance) -> None:
    finished = _run(instance, {}, status=dg.DagsterRunStatus.SUCCESS)
    _claim(instance, finished.run_id)
    assert L.free_slots_of_finished_runs(instance) == 1
    assert not L.busy_pools(instance, ["accelerator"])


def test_the_guarded_executor_reaps_before_a_daemon_style_run(instance: dg.DagsterInstance) -> None:
    """A run launched like the daemon launches it (the job's own executor) first fails the dead run holding the
    accelerator slot, then gets the slot and takes its own liveness lock."""
    dead = _run(instance, {})
    instance.add_run_tags(dead.run_id, L.liveness_tags(dead.run_id))
    _dead_lock(instance, dead.run_id)
    _claim(instance, dead.run_id)
    started = time.time()
    result = dg.execute_job(
        dg.reconstructable(_guarded_job),
        instance=instance,
        run_config={"execution": {"config": {"in_process": {}}}},
    )
    assert result.success
    assert time.time() - started < 120
    run = instance.get_run_by_id(dead.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    new = instance.get_run_by_id(result.run_id)
    assert new is not None and new.tags[L.HOST_TAG] == L.host_name() and new.tags[L.LOCK_TAG] == result.run_id


def _guarded_job() -> dg.JobDefinition:
    return guarded_job


def test_the_claim_backoff_patch_sleeps_instead_of_spinning() -> None:
    from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

    L.patch_dagster_claim_backoff()
    ctx = InstanceConcurrencyContext.__new__(InstanceConcurrencyContext)
    ctx._pending_claims = {"step"}
    ctx._pending_timeouts = {"step": time.time() + 3.0}
    assert 2.0 < ctx.interval_to_next_pending_claim_check() <= 3.0


def test_lock_is_free_after_its_holder_dies(instance: dg.DagsterInstance) -> None:
    run_id = str(uuid.uuid4())
    _dead_lock(instance, run_id)
    assert L._lock_is_free(L.locks_dir(instance) / f"{run_id}.lock")
    with L.holding_run_lock(instance, run_id):
        assert not L._lock_is_free(L.locks_dir(instance) / f"{run_id}.lock")
    assert os.path.exists(L.locks_dir(instance)) and not (L.locks_dir(instance) / f"{run_id}.lock").exists()
