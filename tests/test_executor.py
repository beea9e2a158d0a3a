"""MEDIA_ASSETS_EXECUTOR picks how a run's steps execute where the run config leaves it open: a spawned process
per step (Dagster's default), processes forked from a server that already imported the project, or in process."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import dagster as dg
import pytest

from media_assets.executor import EXECUTOR_ENV, PRELOAD_MODULES, effective_config, guarded_executor
from media_assets.instance import get_instance

OUT_ENV = "MEDIA_ASSETS_TEST_STEP_OUT"


def test_in_process_is_the_default_and_multiprocess_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    assert effective_config({"multiprocess": {}}) == {"in_process": {"retries": {"enabled": {}}}}
    monkeypatch.setenv(EXECUTOR_ENV, "multiprocess")
    assert effective_config({"multiprocess": {}}) == {"multiprocess": {}}


def test_the_setting_selects_the_preloading_forkserver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "forkserver")
    config = effective_config({"multiprocess": {"max_concurrent": 2}})
    assert config["multiprocess"]["start_method"] == {"forkserver": {"preload_modules": PRELOAD_MODULES}}
    assert config["multiprocess"]["max_concurrent"] == 2


def test_the_setting_selects_in_process_and_keeps_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "in_process")
    retries = {"enabled": {}}
    assert effective_config({"multiprocess": {"max_concurrent": 2, "retries": retries}}) == {
        "in_process": {"retries": retries}
    }


def test_an_explicit_choice_in_the_run_config_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    for wanted in ("forkserver", "in_process"):
        monkeypatch.setenv(EXECUTOR_ENV, wanted)
        spawn = {"multiprocess": {"start_method": {"spawn": {}}}}
        assert effective_config(spawn) == spawn
        assert effective_config({"in_process": {}}) == {"in_process": {}}


def test_an_unknown_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EXECUTOR_ENV, "threads")
    with pytest.raises(dg.DagsterInvalidConfigError, match="MEDIA_ASSETS_EXECUTOR"):
        effective_config({"multiprocess": {}})


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
    monkeypatch.setenv(EXECUTOR_ENV, "forkserver")
    instance = get_instance(tmp_path / "home")
    try:
        result = dg.execute_job(dg.reconstructable(_two_steps), instance=instance)  # the executor's default config
        assert result.success
    finally:
        instance.dispose()
    steps = [json.loads((tmp_path / f"{name}.json").read_text()) for name in ("first", "second")]
    assert all(s["preloaded"] for s in steps), steps  # imported by the forkserver, not by the step
    assert len({s["pid"] for s in steps} | {os.getpid()}) == 3  # each step in its own process


@pytest.mark.timeout(300)
def test_in_process_runs_every_step_in_the_run_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv(OUT_ENV, str(tmp_path))
    monkeypatch.setenv(EXECUTOR_ENV, "in_process")
    instance = get_instance(tmp_path / "home")
    try:
        assert dg.execute_job(dg.reconstructable(_two_steps), instance=instance).success
    finally:
        instance.dispose()
    steps = [json.loads((tmp_path / f"{name}.json").read_text()) for name in ("first", "second")]
    assert {s["pid"] for s in steps} == {os.getpid()}
