"""The transcript asset through Dagster: one model load for a multi-partition run, per-partition metadata and
provenance, inputs without audio and broken inputs recorded on their own partition, idempotent re-runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from media_assets.assets import CPU_TIER
from media_assets.assets.transcript import transcript
from media_assets.core.speech.wer import wer
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from resources.whisper import WhisperResource
from tests.assets.harness import materializations, register, run_range

INPUTS = [
    "speech/jfk.flac",  # speech
    "formats/bbb_seg_vfr_drop3.mp4",  # video without audio
    "broken/png_bytes_named.mp4",  # not media: fails upstream, recorded on its partition
    "speech/LDC93S1.wav",  # more speech: same model, no second load
    "broken/truncated_jfk_40pct.wav",  # header says 11 s, 4.4 s present: transcribe what decodes, record the loss
]


def test_transcript_asset_multi_partition(
    tmp_path: Path, media_dir: Path, truth: dict, whisper_loads: list[str]
) -> None:
    store = MediaStore(root=str(tmp_path / "store"))
    keys = register(store, media_dir, INPUTS)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("videos", keys)
    assets = [*CPU_TIER, transcript]
    defs = dg.Definitions(
        assets=assets,
        jobs=[
            dg.define_asset_job("all", selection=dg.AssetSelection.assets(*assets)),
            dg.define_asset_job("speech", selection=dg.AssetSelection.assets(transcript)),
        ],
        resources={
            "media_store": store,
            "processing": ProcessingSettings(),
            "catalog": CatalogResource(),
            "whisper": WhisperResource(device="cpu", cpu_threads=2),
        },
    )
    result = run_range(defs.resolve_job_def("all"), instance, keys)
    assert result.success
    assert whisper_loads == ["base"]  # one load for the whole run
    mats = materializations(result)
    jfk, silent, broken, ldc, truncated = keys

    meta = mats[("transcript", jfk)]
    assert meta["status"] == "ok" and meta["has_audio"] is True
    assert meta["model"] == "base" and meta["model_revision"] == "d01c3014881c"
    assert meta["compute_type"] == "int8" and meta["device"] == "cpu" and meta["whisper_preset"] == "balanced"
    assert meta["media_assets/code_version"] and meta["media_assets/preset"] == "balanced"
    assert meta["language"] == "en" and meta["words"] >= 20 and 0 < meta["quality_score"] <= 1
    assert mats[("transcript", ldc)]["status"] == "ok" and mats[("transcript", ldc)]["words"] >= 8

    assert mats[("transcript", silent)]["has_audio"] is False
    assert store.get_json(silent, "transcript.json") == {"has_audio": False, "reason": "no audio stream"}
    assert ("transcript", broken) not in mats
    assert store.get_json(broken, "errors/transcript.json")["code"] == "upstream_failed"

    cut = store.get_json(truncated, "transcript.json")
    lost = store.get_json(truncated, "audio.json")["lost_s"]
    assert lost > 5.0 and cut["lost_s"] == pytest.approx(lost, abs=1e-3)
    assert "fellow americans" in cut["text"].lower() and cut["duration_s"] < 5.0

    doc = store.get_json(jfk, "transcript.json")
    assert wer(truth["speech"]["speech/jfk.flac"]["reference_text"], doc["text"]) <= 0.05
    assert doc["model"]["preset"] == "balanced" and doc["model"]["compute_type"] == "int8"
    assert {"segments", "dropped", "quality", "params", "language_probability", "speech_s", "lost_s"} <= set(doc)
    srt = store.get_bytes(jfk, "transcript.srt").decode()
    vtt = store.get_bytes(jfk, "transcript.vtt").decode()
    assert srt.startswith("1\n00:00:0") and "Americans" in srt
    assert vtt.startswith("WEBVTT") and "country" in vtt

    # re-running the transcript alone writes the same files (no timings in them)
    root = Path(store.root)
    outputs = ("transcript.json", "transcript.srt", "transcript.vtt")
    before = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.glob("*/transcript.*")}
    expected = [f"{k}/{name}" for k in (jfk, ldc, truncated) for name in outputs] + [f"{silent}/transcript.json"]
    assert sorted(before) == sorted(expected)
    again = run_range(defs.resolve_job_def("speech"), instance, keys)
    assert again.success
    after = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.glob("*/transcript.*")}
    assert before == after
    # the step gave its model back when it was done (MEDIA_ASSETS_KEEP_MODELS unset): the second run loads it again
    assert whisper_loads == ["base", "base"]
