"""`media-assets process` handed to a warm process (media_assets/warm.py): same results, exit codes and signals as a
cold call, run in a process forked for the call; refusals fall back to running cold."""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from media_assets import warm
from media_assets.run_liveness import PID_TAG
from tests.conftest import REPO_ROOT

CPU_TIER = "media_metadata,audio,scenes,keyframes"


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIA_ASSETS_", "DAGSTER_"))}
    return {**env, "DAGSTER_HOME": str(root / "home"), "MEDIA_ASSETS_STORE_ROOT": str(root / "out"), **extra}


def _cli(root: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "media_assets.cli", *args],
        cwd=cwd or root,
        env=_env(root, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _done(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _clip(path: Path, seconds: int) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _instance(root: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(root / "home"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with a Dagster instance (``home``), a store (``out``), a 2-s clip and a warm process for them."""
    root = tmp_path_factory.mktemp("warm")
    _clip(root / "clip.mp4", 2)
    rc, _, err = _done(_cli(root, "warm", "start"), timeout=180)
    assert rc == 0, err
    yield root
    _done(_cli(root, "warm", "stop"), timeout=60)
    assert not warm.socket_path((root / "home").resolve()).exists()


def test_process_runs_in_a_forked_call_with_the_callers_folder(served: Path) -> None:
    sub = served / "sub"
    sub.mkdir(exist_ok=True)
    proc = _cli(served, "process", "../clip.mp4", "--only", CPU_TIER, "--json", "--quiet", cwd=sub,
                MEDIA_ASSETS_WARM="require")  # fmt: skip
    rc, out, err = _done(proc)
    assert rc == 0, err
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["status"] == "ok" and row["input"] == "../clip.mp4", row
    assert (served / "out" / row["partition"] / "scenes.json").is_file()
    with _instance(served) as instance:
        (run,) = instance.get_runs(limit=1)
        assert run.tags[PID_TAG] != str(proc.pid)  # run by a child of the warm process, not by the caller
        assert run.is_success
    status = subprocess.run([sys.executable, "-m", "media_assets.cli", "warm", "status"], env=_env(served),
                            cwd=served, capture_output=True, text=True, check=True)  # fmt: skip
    assert "serves" in status.stdout and str(served / "home") in status.stdout


def test_exit_code_and_errors_reach_the_caller(served: Path) -> None:
    rc, out, err = _done(_cli(served, "process", "missing.mp4", "--json", "--quiet", MEDIA_ASSETS_WARM="require"))
    cold_rc, cold_out, _ = _done(_cli(served, "process", "missing.mp4", "--json", "--quiet", MEDIA_ASSETS_WARM="off"))
    assert rc == cold_rc == 1, err
    assert json.loads(out) == json.loads(cold_out)
    assert "missing.mp4" in out


def test_other_import_time_settings_run_cold(served: Path) -> None:
    args = ("process", "clip.mp4", "--only", "media_metadata", "--json", "--quiet")
    rc, _, err = _done(_cli(served, *args, MEDIA_ASSETS_WARM="require", MEDIA_ASSETS_TRANSIENT_ATTEMPTS="2"))
    assert rc == 2 and "MEDIA_ASSETS_TRANSIENT_ATTEMPTS" in err
    proc = _cli(served, *args, MEDIA_ASSETS_TRANSIENT_ATTEMPTS="2")  # default mode: runs cold instead
    rc, out, err = _done(proc)
    assert rc == 0 and json.loads(out)["status"] == "ok", err


def test_signal_is_forwarded_and_the_next_call_completes(served: Path) -> None:
    clip = _clip(served / "long.mp4", 90)
    args = ("process", str(clip), "--only", CPU_TIER, "--json", "--quiet")
    proc = _cli(served, *args, MEDIA_ASSETS_WARM="require")
    with _instance(served) as instance:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = instance.get_runs(limit=1)
            if runs and runs[0].status == dg.DagsterRunStatus.STARTED and "long" in str(runs[0].tags):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the run never started")
        proc.send_signal(signal.SIGTERM)
        rc, out, err = _done(proc, timeout=60)
        assert rc == 128 + signal.SIGTERM, err
        assert json.loads(out)["status"] == "interrupted"
        assert instance.get_runs(limit=1)[0].status == dg.DagsterRunStatus.CANCELED
    rc, out, err = _done(_cli(served, *args, MEDIA_ASSETS_WARM="require"))
    assert rc == 0 and json.loads(out)["status"] == "ok", err


def test_stop_lets_a_call_in_progress_finish(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "long.mp4", 60)
    rc, _, err = _done(_cli(tmp_path, "warm", "start"), timeout=180)
    assert rc == 0, err
    proc = _cli(tmp_path, "process", str(clip), "--only", CPU_TIER, "--json", "--quiet", MEDIA_ASSETS_WARM="require")
    with _instance(tmp_path) as instance:
        deadline = time.monotonic() + 120
        while not any(r.status == dg.DagsterRunStatus.STARTED for r in instance.get_runs(limit=1)):
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
    stopper = _cli(tmp_path, "warm", "stop")
    rc, out, err = _done(proc)
    assert rc == 0 and json.loads(out)["status"] == "ok", err  # its exit code came back
    assert _done(stopper, timeout=60)[0] == 0
    assert not warm.socket_path((tmp_path / "home").resolve()).exists()


def test_without_a_warm_process(tmp_path: Path) -> None:
    _clip(tmp_path / "clip.mp4", 1)
    args = ("process", "clip.mp4", "--only", "media_metadata", "--json", "--quiet")
    rc, _, err = _done(_cli(tmp_path, *args, MEDIA_ASSETS_WARM="require"))
    assert rc == 2 and "no warm process" in err
    # a socket left by a warm process that died: the call runs cold
    path = warm.socket_path((tmp_path / "home").resolve())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()
    try:
        rc, out, err = _done(_cli(tmp_path, *args))
        assert rc == 0 and json.loads(out)["status"] == "ok", err
    finally:
        path.unlink(missing_ok=True)
    rc, _, err = _done(_cli(tmp_path, *args, MEDIA_ASSETS_WARM="sometimes"))
    assert rc == 2 and "MEDIA_ASSETS_WARM" in err


def test_idle_warm_process_stops(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "media_assets.warm", str(tmp_path / "home"), "--idle-timeout", "1"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0 and "ready" in out and "idle" in out, out
    assert not warm.socket_path((tmp_path / "home").resolve()).exists()


def test_code_fingerprint_follows_edits(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    before = warm.code_fingerprint([tmp_path])
    os.utime(tmp_path / "m.py", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert warm.code_fingerprint([tmp_path]) != before
    (tmp_path / "n.py").write_text("")
    assert len({before, warm.code_fingerprint([tmp_path])}) == 2


def _module_level_env_reads(path: Path) -> set[str]:
    """Names of environment variables read by statements at module level (not inside functions or classes)."""
    names: set[str] = set()
    for stmt in ast.parse(path.read_text()).body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test):
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                target = ast.unparse(node.func)
                if target in ("os.environ.get", "os.getenv") and isinstance(node.args[0], ast.Constant):
                    names.add(node.args[0].value)
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                names.add(ast.unparse(node.slice))
    return names


def test_every_import_time_setting_is_checked() -> None:
    """A setting read when a module is imported keeps the warm process's value: each one must be compared."""
    found: set[str] = set()
    for package in ("media_assets", "resources", "sensors"):
        for path in (REPO_ROOT / package).rglob("*.py"):
            if path.name != "__main__.py":
                found |= _module_level_env_reads(path)
    assert found <= set(warm.IMPORT_TIME_ENV), found - set(warm.IMPORT_TIME_ENV)
    assert found, "the scan found nothing: it no longer sees module-level reads"
