"""Snapshot of the asset specs: keys, lineage, partitions, code versions, groups, pools, checks and backfill."""

from __future__ import annotations

import dagster as dg
import pytest

from media_assets.asset_graph import ASSETS, CPU_TIER_ASSETS, GRAPH, INFO, MODEL_ASSETS
from media_assets.assets.check_table import CHECKS
from media_assets.assets.common import GROUPS
from media_assets.definitions import build_definitions, code_versions, defs


def test_asset_specs_follow_the_table() -> None:
    """Every Dagster asset spec (lineage, partitions, code version, group, pool, backfill) is the table's row."""
    graph = defs.resolve_asset_graph()
    specs = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        specs[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": node.partitions_def.name if node.partitions_def else None,
            "code_version": (node.code_version or "").split("+")[0],  # + the model fingerprint (see below)
            "group": node.group_name,
            "pools": set(node.pools or ()),
            "backfill": (node.backfill_policy.policy_type.value, node.backfill_policy.max_partitions_per_run),
        }
    assert specs == {
        a.name: {
            "deps": sorted(a.upstream),
            "partitions": "videos",
            "code_version": a.code_version,
            "group": GROUPS.get(a.tier, a.tier),
            "pools": {a.pool} if a.pool else set(),
            "backfill": ("MULTI_RUN", 50),
        }
        for a in GRAPH
    }
    checks = sorted(k.to_user_string() for k in graph.asset_check_keys)
    assert checks == sorted(f"{c.asset}:{c.name}" for c in CHECKS)
    assert {"audio:audio_duration_matches_container", "timeline:events_within_duration"} <= set(checks)
    assert {f"{a.name}:processed" for a in GRAPH} <= set(checks)


def test_model_assets_carry_their_model_fingerprint() -> None:
    versions = code_versions(defs)
    assert {a for a, v in versions.items() if "+" in v} == set(MODEL_ASSETS)
    assert set(MODEL_ASSETS) == {"transcript", "diarization", "audio_events", "detections", "embeddings"}
    graph = defs.resolve_asset_graph()
    identity = graph.get(dg.AssetKey("transcript")).metadata["media_assets/model_identity"].value
    assert identity["model"] == "base" and identity["compute_type"] == "int8" and identity["preset"] == "balanced"


def test_a_model_change_changes_exactly_its_assets_code_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another Whisper model changes the transcript's code version and nothing else's; another preset changes
    every asset that reads a preset setting."""
    before = code_versions(defs)
    monkeypatch.setenv("MEDIA_ASSETS_WHISPER_MODEL", "tiny.en")
    after = code_versions(build_definitions())
    assert {a for a in before if before[a] != after[a]} == {"transcript"}
    assert before["transcript"].split("+")[0] == after["transcript"].split("+")[0]  # same logic, other model
    monkeypatch.delenv("MEDIA_ASSETS_WHISPER_MODEL")
    assert code_versions(build_definitions()) == before  # swapped back: nothing is out of date
    monkeypatch.setenv("MEDIA_ASSETS_PRESET", "fast")
    fast = code_versions(build_definitions())
    assert {a for a in before if before[a] != fast[a]} == {"transcript", "audio_events", "detections"}


def test_the_table_is_a_pipeline() -> None:
    """Upstream assets come earlier in the table (it is in pipeline order, so acyclic), outputs are unique, and
    assets made by one step name each other and share a module."""
    seen: set[str] = set()
    outputs: list[str] = []
    for a in GRAPH:
        assert set(a.upstream) <= seen, a.name
        seen.add(a.name)
        outputs += a.outputs
        for partner in a.made_with:
            assert a.name in INFO[partner].made_with and INFO[partner].module == a.module
    assert len(outputs) == len(set(outputs))
    assert CPU_TIER_ASSETS == ("media_metadata", "audio", "scenes", "keyframes")
    assert {a.tier for a in GRAPH} == {"cpu", "speech", "vision", "search"}


def test_every_output_is_documented() -> None:
    """The user docs list every asset and every file it writes."""
    from tests.conftest import REPO_ROOT

    outputs_doc = (REPO_ROOT / "docs" / "outputs.md").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    for a in GRAPH:
        assert f"`{a.name}`" in readme, a.name
        for name in a.outputs:
            assert name in outputs_doc, (a.name, name)


def test_jobs_sensors_and_resources() -> None:
    job = defs.resolve_job_def("process_media")
    assert job.partitions_def is not None and job.partitions_def.name == "videos"
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == set(ASSETS)
    cpu = defs.resolve_job_def("cpu_tier")
    assert {k.to_user_string() for k in cpu.asset_layer.executable_asset_keys} == {
        "media_metadata",
        "audio",
        "scenes",
        "keyframes",
    }
    names = {s.name for s in defs.sensors or []}
    assert "inbox_sensor" in names
    for key in ("media_store", "processing", "whisper", "diarizer", "audio_tagger", "vision", "vector_store"):
        assert isinstance(defs.resources[key], dg.ConfigurableResource), key
    dg.Definitions.validate_loadable(defs)


def test_every_asset_module_gives_the_cli_a_summary() -> None:
    from media_assets.assets import DEFINITIONS, SUMMARIES

    assert set(DEFINITIONS) == set(ASSETS)
    assert set(SUMMARIES) <= set(ASSETS)
    assert {"scenes", "keyframes", "audio", "transcript", "diarization", "detections"} <= set(SUMMARIES)


def test_one_opencv_distribution() -> None:
    """opencv-python and opencv-python-headless both write cv2/; setup keeps only the headless one."""
    import importlib.metadata

    import cv2

    installed = {d.metadata["Name"].lower() for d in importlib.metadata.distributions()}
    opencvs = sorted(n for n in installed if n.startswith("opencv-"))
    assert opencvs == ["opencv-python-headless"], opencvs
    assert importlib.metadata.version("opencv-python-headless").startswith(cv2.__version__)  # 5.1.0 of 5.1.0.95


def test_the_inbox_sensor_ticks_every_five_seconds_unless_set(monkeypatch) -> None:
    from media_assets.definitions import INBOX_INTERVAL_ENV, build_sensors

    monkeypatch.delenv(INBOX_INTERVAL_ENV, raising=False)
    (inbox,) = [s for s in build_sensors() if s.name == "inbox_sensor"]
    assert inbox.minimum_interval_seconds == 4  # one second of slack under the setting (dagster_min_interval)
    monkeypatch.setenv(INBOX_INTERVAL_ENV, "45")
    (inbox,) = [s for s in build_sensors() if s.name == "inbox_sensor"]
    assert inbox.minimum_interval_seconds == 44


def _tick_gaps(minimum: int, loop_s: float = 5.0, jitter_s: float = 0.05, loops: int = 200) -> set[float]:
    """Gaps between ticks of a sensor the daemon checks every ``loop_s`` (with clock jitter), ticking when at
    least ``minimum`` seconds have passed since the last tick (dagster._daemon.sensor.is_under_min_interval)."""
    import random

    rng = random.Random(7)
    last, gaps = None, set()
    for k in range(loops):
        now = k * loop_s + rng.uniform(-jitter_s, jitter_s)
        if last is None or now - last >= minimum:
            if last is not None:
                gaps.add(round(now - last))
            last = now
    return gaps


def test_a_tick_every_setting_despite_the_daemons_jitter() -> None:
    from dagster._daemon.sensor import MIN_INTERVAL_LOOP_TIME

    from media_assets.definitions import dagster_min_interval

    assert MIN_INTERVAL_LOOP_TIME == 5  # the loop this slack is sized for
    assert _tick_gaps(5) == {5, 10}  # the minimum as set: half the ticks come a loop late
    for seconds in (5, 10, 30):
        assert _tick_gaps(dagster_min_interval(seconds)) == {seconds}
