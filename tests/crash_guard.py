"""A test that kills its pytest-xdist worker (SIGILL, SIGSEGV, a timeout) fails once, by name, and the run goes on.

pytest-xdist 3.8 reports "worker 'gw0' crashed while running 'tests/x.py::test_y'" and starts a new worker, but with
``--dist loadfile``:

* it hands the crashed test's file, the crashed test included, to the new worker, which crashes again, until the
  restart limit is reached. Each worker writes the test it is running to ``<dir>/<pid>``; a worker asked to run a
  test that a dead worker was running fails it at once instead;
* it puts the dead worker's files that were already done back in the queue too; a live worker then receives an
  empty batch, never asks for more, and the session never ends. Finished files are dropped before re-queueing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ENV = "MEDIA_ASSETS_TEST_INFLIGHT_DIR"


def _dir() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def _alive(pid: int) -> bool:
    """Running (a zombie, a dead worker its controller has not reaped yet, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def crashed_on(nodeid: str) -> int | None:
    """The pid of a dead worker that was running ``nodeid`` (None if none was)."""
    folder = _dir()
    if folder is None or not folder.is_dir():
        return None
    for entry in folder.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            running = entry.read_text()
        except OSError:
            continue
        if running == nodeid and not _alive(int(entry.name)):
            return int(entry.name)
    return None


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    if ENV not in os.environ:  # the controller: workers inherit the environment
        os.environ[ENV] = tempfile.mkdtemp(prefix="pytest-inflight-")
    _requeue_only_unfinished_files()


def _requeue_only_unfinished_files() -> None:
    try:
        from xdist.scheduler.loadscope import LoadScopeScheduling
    except ImportError:
        return
    if getattr(LoadScopeScheduling, "_media_assets_patched", False):
        return
    original = LoadScopeScheduling.remove_node

    def remove_node(self: LoadScopeScheduling, node: object) -> str | None:
        workload = self.assigned_work.get(node, {})
        for scope in [scope for scope, unit in workload.items() if all(unit.values())]:
            del workload[scope]
        return original(self, node)

    LoadScopeScheduling.remove_node = remove_node
    LoadScopeScheduling._media_assets_patched = True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    pid = crashed_on(item.nodeid)
    if pid is not None:
        pytest.fail(f"this test killed its worker (pid {pid}) when it ran before: not run again", pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid: str, location: tuple) -> None:
    folder = _dir()
    if folder is not None and folder.is_dir():
        (folder / str(os.getpid())).write_text(nodeid)


def pytest_runtest_logfinish(nodeid: str, location: tuple) -> None:
    folder = _dir()
    if folder is not None:
        path = folder / str(os.getpid())
        if path.exists():
            path.write_text("")
