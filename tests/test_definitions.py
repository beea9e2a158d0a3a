"""Snapshot of the asset specs: keys, lineage, partitions, code versions, checks and backfill policy."""

from __future__ import annotations

import dagster as dg

from media_assets.definitions import defs
from media_assets.version import CODE_VERSIONS


def test_asset_specs_snapshot() -> None:
    graph = defs.resolve_asset_graph()
    specs = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        specs[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": node.partitions_def.name if node.partitions_def else None,
            "code_version": node.code_version,
            "group": node.group_name,
            "backfill": (node.backfill_policy.policy_type.value, node.backfill_policy.max_partitions_per_run),
        }
    assert specs == {
        "audio": {
            "deps": ["media_metadata"],
            "partitions": "videos",
            "code_version": CODE_VERSIONS["audio"],
            "group": "cpu_tier",
            "backfill": ("MULTI_RUN", 50),
        },
        "keyframes": {
            "deps": ["media_metadata"],
            "partitions": "videos",
            "code_version": CODE_VERSIONS["keyframes"],
            "group": "cpu_tier",
            "backfill": ("MULTI_RUN", 50),
        },
        "media_metadata": {
            "deps": [],
            "partitions": "videos",
            "code_version": CODE_VERSIONS["media_metadata"],
            "group": "cpu_tier",
            "backfill": ("MULTI_RUN", 50),
        },
        "scenes": {
            "deps": ["media_metadata"],
            "partitions": "videos",
            "code_version": CODE_VERSIONS["scenes"],
            "group": "cpu_tier",
            "backfill": ("MULTI_RUN", 50),
        },
    }
    checks = sorted(k.to_user_string() for k in graph.asset_check_keys)
    assert checks == [
        "audio:audio_duration_matches_container",
        "keyframes:keyframes_inside_their_scene",
        "scenes:scenes_tile_the_video",
    ]


def test_job_and_sensors() -> None:
    job = defs.resolve_job_def("process_media")
    assert job.partitions_def is not None and job.partitions_def.name == "videos"
    names = (
        {s.name for s in defs.resolve_all_sensor_defs()}
        if hasattr(defs, "resolve_all_sensor_defs")
        else {s.name for s in defs.sensors or []}
    )
    assert "inbox_sensor" in names
    assert isinstance(defs.resources["media_store"], dg.ConfigurableResource)
