"""Snapshot of the asset specs: keys, lineage, partitions, code versions, groups, pools, checks and backfill."""

from __future__ import annotations

import dagster as dg

from media_assets.definitions import defs
from media_assets.version import CODE_VERSIONS

# asset -> (upstream assets, group, pools)
EXPECTED = {
    "media_metadata": ([], "cpu_tier", set()),
    "audio": (["media_metadata"], "cpu_tier", set()),
    "scenes": (["media_metadata"], "cpu_tier", set()),
    "keyframes": (["media_metadata"], "cpu_tier", set()),
    "transcript": (["audio"], "speech", {"accelerator"}),
    "diarization": (["audio"], "speech", {"accelerator"}),
    "speaker_transcript": (["diarization", "transcript"], "speech", set()),
    "audio_events": (["audio"], "speech", {"accelerator"}),
    "detections": (["keyframes"], "vision", {"accelerator"}),
    "embeddings": (["detections", "keyframes", "scenes", "speaker_transcript"], "search", {"vector_store"}),
    "timeline": (
        [
            "audio_events",
            "detections",
            "diarization",
            "keyframes",
            "media_metadata",
            "scenes",
            "speaker_transcript",
        ],
        "search",
        set(),
    ),
}


def test_asset_specs_snapshot() -> None:
    graph = defs.resolve_asset_graph()
    specs = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        specs[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": node.partitions_def.name if node.partitions_def else None,
            "code_version": node.code_version,
            "group": node.group_name,
            "pools": set(node.pools or ()),
            "backfill": (node.backfill_policy.policy_type.value, node.backfill_policy.max_partitions_per_run),
        }
    assert specs == {
        name: {
            "deps": deps,
            "partitions": "videos",
            "code_version": CODE_VERSIONS[name],
            "group": group,
            "pools": pools,
            "backfill": ("MULTI_RUN", 50),
        }
        for name, (deps, group, pools) in EXPECTED.items()
    }
    checks = sorted(k.to_user_string() for k in graph.asset_check_keys)
    assert checks == [
        "audio:audio_duration_matches_container",
        "keyframes:keyframes_inside_their_scene",
        "scenes:scenes_tile_the_video",
    ]


def test_jobs_sensors_and_resources() -> None:
    job = defs.resolve_job_def("process_media")
    assert job.partitions_def is not None and job.partitions_def.name == "videos"
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == set(EXPECTED)
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


def test_the_plain_asset_graph_agrees_with_the_definitions() -> None:
    """The CLI and the reprocessing schedule plan from media_assets.asset_graph: it must match Dagster's lineage."""
    from media_assets.asset_graph import ASSETS, UPSTREAM

    assert set(ASSETS) == set(EXPECTED)
    for name, (deps, _, _) in EXPECTED.items():
        assert sorted(UPSTREAM.get(name, ())) == deps, name
