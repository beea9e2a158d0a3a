"""With MEDIA_ASSETS_START_METHOD=forkserver, step processes fork from a server that already imported the project."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import dagster as dg
import pytest

from media_assets.executor import PRELOAD_MODULES, START_METHOD_ENV, guarded_executor, with_forkserver
from media_assets.instance import get_instance

OUT_ENV = "MEDIA_ASSETS_TEST_STEP_OUT"


def test_spawn_stays_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(START_METHOD_ENV, raising=False)
    assert with_forkserver({"multiprocess": {}}) == {"multiprocess": {}}


def test_the_setting_selects_the_preloading_forkserver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(START_METHOD_ENV, "forkserver")
    config = with_forkserver({"multiprocess": {"max_concurrent": 2}})
    assert config["multiprocess"]["start_method"] == {"forkserver": {"preload_modules": PRELOAD_MODULES}}
    assert config["multiprocess"]["max_concurrent"] == 2


def test_an_explicit_start_method_and_in_process_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(START_METHOD_ENV, "forkserver")
    spawn = {"multiprocess": {"start_method": {"spawn": {}}}}
    assert with_forkserver(spawn) == spawn
    assert with_forkserver({"in_process": {}}) == {"in_process": {}}


def _record(name: str) -> None:
    out = Path(os.environ[OUT_ENV]) / f"{name}.json"
    out.write_text(json.dumps({"pid": os.getpid(), "preloaded": "media_assets.step_preload" in sys.modules}))


@dg.op
def first() -> int:
    _record("first")
    return 1


@dg.op
def second(value: int) -> None:
    _record("second")


@dg.job(executor_def=guarded_executor)
def two_steps() -> None:
    second(first())


def _two_steps() -> dg.JobDefinition:
    return two_steps


@pytest.mark.timeout(300)
def test_a_multiprocess_run_forks_its_steps_from_the_preloaded_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv(OUT_ENV, str(tmp_path))
    monkeypatch.setenv(START_METHOD_ENV, "forkserver")
    instance = get_instance(tmp_path / "home")
    try:
        result = dg.execute_job(dg.reconstructable(_two_steps), instance=instance)  # the executor's default config
        assert result.success
    finally:
        instance.dispose()
    steps = [json.loads((tmp_path / f"{name}.json").read_text()) for name in ("first", "second")]
    assert all(s["preloaded"] for s in steps), steps  # imported by the forkserver, not by the step
    assert len({s["pid"] for s in steps} | {os.getpid()}) == 3  # each step in its own process
