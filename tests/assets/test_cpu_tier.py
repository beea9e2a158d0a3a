"""The CPU-tier assets through Dagster: multi-partition runs, per-partition failures, idempotent re-runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from media_assets.asset_graph import CPU_TIER_ASSETS as CPU_ASSETS
from media_assets.sources import describe_local, register_source
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from tests.assets.harness import cpu_tier_job, instance_with, materializations, register, run_range

INPUTS = [
    "video/composite_bbb_cuts_jfk_speech.mp4",  # video + speech
    "broken/png_bytes_named.mp4",  # not a video: fails on its own partition
    "formats/bbb_seg_vfr_drop3.mp4",  # video without audio
    "speech/LDC93S1.wav",  # audio only
]


def _setup(tmp_path: Path, media_dir: Path, rels: list[str]):
    store = MediaStore(root=str(tmp_path / "store"))
    keys = register(store, media_dir, rels)
    instance = instance_with(keys)
    return store, keys, instance, cpu_tier_job(store)


def test_multi_partition_run_records_bad_file_and_carries_on(tmp_path: Path, media_dir: Path) -> None:
    store, keys, instance, job = _setup(tmp_path, media_dir, INPUTS)
    result = run_range(job, instance, keys)
    assert not result.success  # the run fails in the checks (so Dagster shows the bad partition as failed) ...
    assert [s.step_key for s in result.get_step_failure_events()] == ["output_checks"]
    mats = materializations(result)  # ... after the assets ran for every partition
    good, bad, silent, speech = keys
    assert mats[("scenes", good)]["cuts"] == 2 and mats[("scenes", good)]["status"] == "ok"
    # the bad file is not materialized; its error record names the file and the problem
    assert not any(k == bad for _, k in mats)
    err = store.get_json(bad, "errors/media_metadata.json")
    assert err["code"] == "unsupported_format" and "PNG" in err["problem"]
    assert "png_bytes_named.mp4" in err["file"] and err["run_id"] == result.run_id
    assert store.get_json(bad, "errors/audio.json")["code"] == "upstream_failed"
    assert not store.exists(bad, "media_metadata.json")
    # a video without audio and an audio file without video are fine, each says what it lacks
    assert mats[("audio", silent)]["has_audio"] is False and mats[("scenes", silent)]["has_video"] is True
    assert mats[("scenes", speech)]["has_video"] is False and mats[("audio", speech)]["has_audio"] is True
    # provenance on every materialization
    for (_asset, _key), meta in mats.items():
        assert meta["media_assets/code_version"] and meta["media_assets/preset"] == "balanced"
    sheet = store.get_json(good, "keyframes.json")["contact_sheet"]
    assert mats[("keyframes", good)]["preview"] == f"![keyframes](/media-assets/files/{good}/{sheet})"
    assert store.exists(good, sheet) and sheet.endswith(".jpg")
    # outputs
    scenes = store.get_json(good, "scenes.json")
    assert [t["frame"] for t in scenes["transitions"] if t["kind"] == "cut"] == [43, 136]
    kf = store.get_json(good, "keyframes.json")
    for k in kf["keyframes"]:
        if k["image"]:
            assert store.exists(good, k["image"])
    assert store.exists(good, "audio.wav")
    # one evaluation per check and partition; only the bad file's `processed` checks fail
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name, e.partition): e for e in result.get_asset_check_evaluations()
    }
    assert {(a, k) for a, c, k in evaluations if c == "processed"} == {(a, k) for a in CPU_ASSETS for k in keys}
    failing = sorted((a, c) for (a, c, k), e in evaluations.items() if not e.passed)
    assert failing == sorted((a, "processed") for a in CPU_ASSETS)
    assert all(k == bad for (a, c, k), e in evaluations.items() if not e.passed)
    assert "PNG" in evaluations[("media_metadata", "processed", bad)].description
    assert evaluations[("audio", "audio_duration_matches_container", good)].passed
    assert evaluations[("scenes", "scenes_tile_the_video", good)].passed
    assert evaluations[("keyframes", "keyframes_inside_their_scene", good)].passed
    # the catalog beside the store's data holds every partition's outcome
    catalog = CatalogResource().open(store.root)
    assert catalog.get_video(bad)["status"] == "failed" and catalog.get_video(good)["status"] == "ok"
    assert {j["status"] for j in catalog.jobs(partition=bad)} == {"failed"}
    assert catalog.get_result(good, "scenes")["code_version"] == mats[("scenes", good)]["media_assets/code_version"]
    catalog.close()


def test_single_partition_run_fails_on_bad_file(tmp_path: Path, media_dir: Path) -> None:
    _store, keys, instance, job = _setup(tmp_path, media_dir, ["broken/moviepy_zero_bytes.webm"])
    result = job.execute_in_process(instance=instance, partition_key=keys[0], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "empty" in failure.event_specific_data.error.message


def test_rerun_is_idempotent(tmp_path: Path, media_dir: Path) -> None:
    store, keys, instance, job = _setup(tmp_path, media_dir, INPUTS[:1])
    assert run_range(job, instance, keys).success
    root = Path(store.root)
    first = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    scenes1 = json.loads((root / keys[0] / "scenes.json").read_text())
    assert run_range(job, instance, keys).success
    second = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    scenes2 = json.loads((root / keys[0] / "scenes.json").read_text())
    assert first == second
    scenes1["decode"].pop("elapsed_s")
    scenes2["decode"].pop("elapsed_s")
    assert scenes1 == scenes2
    # registering the same bytes again under another name is the same partition
    copy = tmp_path / "same bytes, other name ☃.mp4"
    shutil.copyfile(media_dir / INPUTS[0], copy)
    assert register_source(store, describe_local(copy)) == (keys[0], False)


@pytest.mark.parametrize("rel", ["formats/jfk_mulaw8k.wav", "formats/bbb_seg_hevc_aac.mkv"])
def test_other_formats_through_the_assets(tmp_path: Path, media_dir: Path, rel: str) -> None:
    store, keys, instance, job = _setup(tmp_path, media_dir, [rel])
    assert job.execute_in_process(instance=instance, partition_key=keys[0]).success
    audio = store.get_json(keys[0], "audio.json")
    assert audio["sample_rate"] == 16000 and audio["duration_s"] > 6.5
