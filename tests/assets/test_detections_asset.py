"""The ``detections`` asset through Dagster: one multi-partition run, models loaded once, a corrupted keyframe
recorded on its frame, an input without video, per-partition metadata and an idempotent re-run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import dagster as dg
import pytest

from media_assets.assets import CPU_TIER
from media_assets.assets.detections import CONTACT_SHEET, detections
from media_assets.core.vision.events import normalise_text
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from resources.vision import OcrConfig, VisionModels
from tests.assets.harness import instance_with, materializations, register, run_range

INPUTS = [
    "video/psd_counter.mp4",  # burnt-in text on every frame
    "formats/bbb_seg_vfr_drop3.mp4",  # one of its keyframe images gets corrupted below
    "video/psd_delayed_start.mp4",  # its second keyframe duplicates the first
    "speech/LDC93S1.wav",  # no video
]


def _materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {key: meta for (asset, key), meta in materializations(result).items() if asset == "detections"}


def _add_samples(store: MediaStore, key: str, path: Path) -> list[int]:
    """samples.json + samples/*.jpg as the visual pass writes them with sample_fps set: frame 0, the first
    keyframe's frame (a sample that is also a keyframe) and frame 15."""
    first_kf = store.get_json(key, "keyframes.json")["keyframes"][0]["frame"]
    wanted = sorted({0, first_kf, 15})
    samples = []
    with av.open(str(path)) as c:
        for n, f in enumerate(c.decode(video=0)):
            if n in wanted:
                buf = io.BytesIO()
                f.to_image(width=640, height=360).save(buf, format="JPEG", quality=90)
                name = f"samples/{len(samples):05d}.jpg"
                store.put_bytes(key, name, buf.getvalue())
                t = round(n / 10, 6)
                samples.append(
                    {"index": len(samples), "frame": n, "time_s": t, "pts_s": t, "image": name, "width": 640,
                     "height": 360}
                )  # fmt: skip
    # frame 16 as a static frame would be: the same pixels as the sample at frame 15, so no image of its own
    twin = next(s for s in samples if s["frame"] == 15)
    samples.append({**twin, "index": len(samples), "frame": 16, "time_s": 1.6, "pts_s": 1.6, "image": None,
                    "duplicate_of": twin["index"]})  # fmt: skip
    store.put_json(key, "samples.json", {"sample_fps": 10.0, "samples": samples})
    return wanted


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, media_dir: Path):
    """CPU tier, then the keyframe corruption, then one detections run over every partition."""
    root = tmp_path_factory.mktemp("detections-asset")
    store = MediaStore(root=str(root / "store"))
    keys = register(store, media_dir, INPUTS)
    instance = instance_with(keys)
    defs = dg.Definitions(
        assets=[*CPU_TIER, detections],
        jobs=[
            dg.define_asset_job("cpu", selection=dg.AssetSelection.assets(*CPU_TIER)),
            dg.define_asset_job("vision", selection=dg.AssetSelection.assets(detections)),
        ],
        resources={
            "media_store": store,
            "processing": ProcessingSettings(),
            "catalog": CatalogResource(),
            "vision": VisionModels(batch_size=8, ocr=OcrConfig(det_side_len=640)),
        },
    )
    assert run_range(defs.resolve_job_def("cpu"), instance, keys).success
    _add_samples(store, keys[0], media_dir / INPUTS[0])
    corrupted_key = keys[1]
    kf = store.get_json(corrupted_key, "keyframes.json")
    bad = [k for k in kf["keyframes"] if k["image"]][1]
    store.put_bytes(corrupted_key, bad["image"], b"\xff\xd8 this is not a jpeg")
    job = defs.resolve_job_def("vision")
    result = run_range(job, instance, keys)
    return store, keys, instance, job, result, bad


def test_asset_definition() -> None:
    assert detections.op.pool == "accelerator"  # concurrent runs queue for the accelerator
    assert detections.group_names_by_key[dg.AssetKey("detections")] == "vision"
    assert [d.asset_key for d in next(iter(detections.specs)).deps] == [dg.AssetKey("keyframes")]
    assert detections.backfill_policy.max_partitions_per_run > 1  # many partitions per run


def test_one_run_over_many_partitions(pipeline_run) -> None:
    store, keys, _instance, _job, result, _bad = pipeline_run
    assert result.success
    mats = _materializations(result)
    assert set(mats) == set(keys)
    counter, bbb, delayed, wav = keys
    for key in keys:
        meta = mats[key]
        assert meta["status"] == "ok"
        # the three models were loaded once for the whole run, not once per partition
        assert meta["models_loaded"] + meta["models_reused"] == 3  # each model once, or from the process
        assert meta["mode"] == "cpu_only" and "CPUExecutionProvider" in meta["providers"]
        assert meta["media_assets/code_version"] and meta["media_assets/preset"] == "balanced"
        assert meta["model/objects"].startswith("coco_centernet_mbv3 @ ")
        assert meta["run_partitions"] == 4
    assert mats[wav]["has_video"] is False
    assert store.get_json(wav, "detections.json")["has_video"] is False
    assert store.get_json(wav, "events.json") == {
        "has_video": False,
        "reason": "no video stream",
        "text_events": [],
        "object_tracks": [],
    }
    total = sum(mats[k].get("frames", 0) for k in keys)
    assert total == mats[counter]["run_frames"]
    assert mats[counter]["samples"] == len(store.get_json(counter, "samples.json")["samples"]) >= 2
    for key in (counter, bbb, delayed):
        n_keyframes = len(store.get_json(key, "keyframes.json")["keyframes"])
        assert mats[key]["frames"] == n_keyframes + mats[key]["samples"] and n_keyframes > 0
        assert mats[key]["preview"] == f"![detections](/media-assets/files/{key}/{CONTACT_SHEET})"  # renders inline
        assert store.exists(key, CONTACT_SHEET)


def test_corrupted_keyframe_is_recorded_on_its_frame(pipeline_run) -> None:
    store, keys, _instance, _job, result, bad = pipeline_run
    mats = _materializations(result)
    bbb = keys[1]
    assert mats[bbb]["frames_unreadable"] == 1 and mats[bbb]["frames_ok"] == mats[bbb]["frames"] - 1
    doc = store.get_json(bbb, "detections.json")
    by_index = {f["index"]: f for f in doc["frames"]}
    frame = by_index[bad["index"]]
    assert frame["status"] == "unreadable" and "decode" in frame["error"]
    assert frame["objects"] == frame["faces"] == frame["text"] == []
    assert frame["frame"] == bad["frame"] and frame["time_s"] == bad["time_s"]
    others = [f for f in doc["frames"] if f["index"] != bad["index"]]
    assert all(f["status"] == "ok" for f in others)


def test_outputs_follow_the_contract(pipeline_run) -> None:
    store, keys, *_ = pipeline_run
    counter = keys[0]
    doc = store.get_json(counter, "detections.json")
    assert doc["mode"] == "cpu_only" and doc["providers"] == ["CPUExecutionProvider"]
    assert set(doc["model"]) == {"objects", "faces", "ocr"}
    for block in doc["model"].values():
        assert {"name", "path", "revision", "backend", "device", "compute_type", "preset"} <= set(block)
    kf = store.get_json(counter, "keyframes.json")["keyframes"]
    assert [(f["source"], f["index"], f["frame"]) for f in doc["frames"]] == [
        ("keyframe", k["index"], k["frame"]) for k in kf
    ] + [("sample", s["index"], s["frame"]) for s in store.get_json(counter, "samples.json")["samples"]]
    # the sample taken at the first keyframe's frame shares its results
    same = [f for f in doc["frames"] if f["frame"] == kf[0]["frame"]]
    assert [f["source"] for f in same] == ["keyframe", "sample"] and same[0]["text"] == same[1]["text"]
    # the static sample shares the results of the sample with its pixels, and says so
    twin = next(f for f in doc["frames"] if f["source"] == "sample" and f["frame"] == 15)
    static = next(f for f in doc["frames"] if f["source"] == "sample" and f["frame"] == 16)
    assert static["duplicate_of"] == twin["index"] and static["text"] == twin["text"] and static["text"]
    # each keyframe of the counter video shows "Frame = <frame + 1>"
    events = store.get_json(counter, "events.json")
    observed = [f for f in doc["frames"] if f["duplicate_of"] is None]
    for f in observed:
        texts = " ".join(normalise_text(t["text"]) for t in f["text"])
        assert f"frame{f['frame'] + 1}" in texts, texts
        for t in f["text"]:
            assert len(t["polygon"]) == 4 and 0 <= t["box"][0] < t["box"][2] <= 1
    assert events["has_video"] is True
    assert {e["first_frame"] for e in events["text_events"]} == {f["frame"] for f in observed}
    # a duplicate keyframe carries its original's results and says so
    delayed = store.get_json(keys[2], "detections.json")["frames"]
    assert [f["duplicate_of"] for f in delayed] == [
        k["duplicate_of"] for k in store.get_json(keys[2], "keyframes.json")["keyframes"]
    ]


def test_rerun_is_idempotent(pipeline_run) -> None:
    store, keys, instance, job, _result, _bad = pipeline_run
    root = Path(store.root)

    def snapshot() -> dict[str, str]:
        out = {}
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.name in ("detections.json", "events.json"):
                out[p.relative_to(root).as_posix()] = p.read_text()
        return out

    files_before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    before = snapshot()
    again = run_range(job, instance, keys)
    assert again.success
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == files_before
    after = snapshot()
    assert before.keys() == after.keys() and len(before) == 2 * len(keys)
    for name in before:
        assert json.loads(before[name]) == json.loads(after[name]), name
