"""A test that kills its worker fails by name and the rest of the suite still runs (tests/crash_guard.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO_ROOT

CRASHING = """
import os, signal

def test_dies_with_sigill():
    os.kill(os.getpid(), signal.SIGILL)

def test_after_the_crash_in_the_same_file():
    pass
"""
FINE = """
def test_in_another_file():
    pass
"""
HANGS = """
import time

def test_stuck():
    time.sleep(600)
"""


def test_a_crashed_or_stuck_worker_fails_by_name_and_the_run_ends(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text('pytest_plugins = ["tests.crash_guard"]\n')
    (suite / "test_crashing.py").write_text(textwrap.dedent(CRASHING))
    (suite / "test_fine.py").write_text(textwrap.dedent(FINE))
    (suite / "test_hangs.py").write_text(textwrap.dedent(HANGS))
    cmd = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "--max-worker-restart", "4", "-q"]
    cmd += ["-p", "no:cacheprovider", "--rootdir", str(suite), "-o", "timeout=5", "-o", "timeout_method=thread"]
    res = subprocess.run(
        [*cmd, str(suite)], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, env=_env(suite)
    )
    out = res.stdout
    assert res.returncode == 1, out[-3000:]
    assert "crashed while running 'test_crashing.py::test_dies_with_sigill'" in out, out[-3000:]
    assert "crashed while running 'test_hangs.py::test_stuck'" in out, out[-3000:]  # ended by its timeout
    assert "2 passed" in out, out[-3000:]  # the other test of the crashing file, and the other file


def _env(suite: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "MEDIA_ASSETS_TEST_INFLIGHT_DIR"}
    env["PYTHONPATH"] = f"{REPO_ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env
