"""`media-assets process` recovers from any crash and stops promptly (issue 10, items 3 and 4).

* killed with SIGKILL during a model step: the next `process` on the same DAGSTER_HOME says why the old run was
  marked failed, frees its pool slot and completes, with the outputs of an uninterrupted run;
* SIGTERM or SIGINT during a model step: the process exits within 5 s, the partition is recorded as interrupted
  (not as bad media), nothing half-written is left, and the next `process` completes it;
* a pool slot held by a live run: the CLI says what it waits for and since when, sleeping between checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

MODEL_STEPS = {"transcript", "diarization", "audio_events"}
VOLATILE = {"elapsed_s", "source_path", "source", "vector_store", "path", "source_uri", "mtime", "registered_at", "uri"}


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_ASSETS_")}
    return {**env, "DAGSTER_HOME": str(root / "home")}


def _start(root: Path, clip: Path) -> subprocess.Popen:
    args = ["process", str(clip), "--out", str(root / "out"), "--json", "--quiet"]
    return subprocess.Popen(
        [sys.executable, "-m", "media_assets.cli", *args],
        cwd=root,
        env=_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(root: Path, clip: Path) -> tuple[subprocess.CompletedProcess, dict]:
    args = ["process", str(clip), "--out", str(root / "out"), "--json", "--quiet"]
    res = subprocess.run(
        [sys.executable, "-m", "media_assets.cli", *args],
        cwd=root,
        env=_env(root),
        capture_output=True,
        text=True,
        timeout=600,
    )
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    return res, rows[0] if rows else {}


def _wait_for_model_step(root: Path, proc: subprocess.Popen, timeout: float = 240) -> str:
    """Block until the process's run has started a model step; returns that step."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        if (root / "home" / "history").exists():
            with _instance(root / "home") as instance:
                for run in instance.get_runs(limit=1):
                    events = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START)
                    started = {r.event_log_entry.step_key for r in events.records}
                    if started & MODEL_STEPS:
                        return sorted(started & MODEL_STEPS)[0]
        time.sleep(0.2)
    raise AssertionError("no model step started")


@contextlib.contextmanager
def _instance(home: Path) -> Iterator[dg.DagsterInstance]:
    """The CLI's instance, opened under the same lock as the CLI opens it (never while it creates its tables)."""
    from media_assets.instance import instance_lock

    with instance_lock(home):
        instance = dg.DagsterInstance.from_config(str(home))
    with instance:
        yield instance


def _outputs(folder: Path) -> dict[str, object]:
    def clean(value: object) -> object:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in VOLATILE}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    out: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "source.json":
            rel = path.relative_to(folder).as_posix()
            out[rel] = clean(json.loads(path.read_text())) if path.suffix == ".json" else path.read_bytes()
    return out


def _hidden(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".tmp-*")]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from media_assets.demo import make_demo_clip

    path = tmp_path_factory.mktemp("clip") / "demo.mp4"
    make_demo_clip(path)
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> dict:
    root = tmp_path_factory.mktemp("reference")
    res, row = _run(root, clip)
    assert res.returncode == 0 and row["status"] == "ok", res.stderr[-3000:]
    return {"key": row["partition"], "outputs": _outputs(root / "out" / row["partition"])}


@pytest.mark.timeout(900)
def test_sigkill_during_a_model_step_then_process_completes(tmp_path: Path, clip: Path, uninterrupted: dict) -> None:
    proc = _start(tmp_path, clip)
    step = _wait_for_model_step(tmp_path, proc)
    proc.kill()
    proc.wait(30)
    with _instance(tmp_path / "home") as instance:
        (dead,) = instance.get_runs(limit=1)
        assert dead.status == dg.DagsterRunStatus.STARTED  # what Dagster alone leaves behind
        holders = instance.event_log_storage.get_concurrency_info("accelerator").claimed_slots
        assert [h.run_id for h in holders] == [dead.run_id], step  # and the slot it still holds
    started = time.time()
    res, row = _run(tmp_path, clip)
    assert res.returncode == 0 and row["status"] == "ok", res.stderr[-3000:]
    assert time.time() - started < 300
    assert f"run {dead.run_id} (process_media) was marked failed" in " ".join(res.stderr.split())
    assert "is gone: it was killed or crashed" in " ".join(res.stderr.split())
    with _instance(tmp_path / "home") as instance:
        run = instance.get_run_by_id(dead.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_info("accelerator").claimed_slots
    folder = tmp_path / "out" / row["partition"]
    assert row["partition"] == uninterrupted["key"]
    assert _outputs(folder) == uninterrupted["outputs"]
    assert not _hidden(tmp_path / "out")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_within_5_s_and_the_next_run_completes(
    tmp_path: Path, clip: Path, uninterrupted: dict, sig: signal.Signals
) -> None:
    proc = _start(tmp_path, clip)
    _wait_for_model_step(tmp_path, proc)
    sent = time.time()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.time() - sent < 5.0, time.time() - sent
    assert proc.returncode == 128 + sig, stderr[-3000:]
    row = json.loads(stdout.splitlines()[-1])
    assert row["status"] == "interrupted" and sig.name in row["note"], row
    key = row["partition"]
    folder = tmp_path / "out" / key
    assert not (folder / "errors").exists()  # not bad media
    assert not _hidden(tmp_path / "out")
    from media_assets.core.catalog import open_catalog

    catalog = open_catalog(path=tmp_path / "out" / "_index" / "catalog.sqlite")
    try:
        statuses = {j["asset"]: j["status"] for j in catalog.jobs(partition=key)}
    finally:
        catalog.close()
    assert "interrupted" in statuses.values() and "failed" not in statuses.values(), statuses
    with _instance(tmp_path / "home") as instance:
        (run,) = instance.get_runs(limit=1)
        assert run.status == dg.DagsterRunStatus.CANCELED
        assert not instance.event_log_storage.get_concurrency_info("accelerator").claimed_slots
    res, again = _run(tmp_path, clip)
    assert res.returncode == 0 and again["status"] == "ok", res.stderr[-3000:]
    assert _outputs(folder) == uninterrupted["outputs"]


@pytest.mark.timeout(600)
def test_waits_for_a_slot_held_by_a_live_run_without_spinning(tmp_path: Path, media_dir: Path) -> None:
    """A live run (this test process, holding its liveness lock) holds the accelerator slot for a while."""
    from media_assets.run_liveness import holding_run_lock, liveness_tags

    clip = media_dir / "speech" / "LDC93S1.wav"
    home = tmp_path / "home"
    home.mkdir()
    from media_assets.instance import get_instance

    os.environ["DAGSTER_HOME"] = str(home)
    try:
        instance = get_instance(home)
        run_id = "0" * 8 + "-0000-4000-8000-" + "0" * 12
        with holding_run_lock(instance, run_id):
            instance.create_run_for_job(
                _noop_job, run_id=run_id, tags=liveness_tags(run_id), status=dg.DagsterRunStatus.STARTED
            )
            instance.event_log_storage.initialize_concurrency_limit_to_default("accelerator")  # 1 slot (dagster.yaml)
            claim = instance.event_log_storage.claim_concurrency_slot("accelerator", run_id, "transcript", 0)
            assert claim.is_claimed
            proc = subprocess.Popen(
                [sys.executable, "-m", "media_assets.cli", "process", str(clip), "--out", str(tmp_path / "out"),
                 "--only", "transcript", "--json", "--quiet"],
                cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            time.sleep(25)
            assert proc.poll() is None
            cpu = _cpu_seconds(proc.pid)
            time.sleep(10)
            assert _cpu_seconds(proc.pid) - cpu < 2.0  # asleep, not polling in a busy loop
            instance.event_log_storage.free_concurrency_slot_for_step(run_id, "transcript")
            stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        text = " ".join(stderr.split())
        assert "waiting for a slot in pool accelerator held by run 00000000 (transcript), since" in text, text
        assert json.loads(stdout)["status"] == "ok"
    finally:
        os.environ.pop("DAGSTER_HOME", None)


@dg.op
def _noop() -> None:
    pass


@dg.job(name="noop")
def _noop_job() -> None:
    _noop()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
