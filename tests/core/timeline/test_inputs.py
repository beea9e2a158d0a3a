"""Loading the timeline's inputs from a mapping of files or from an output folder."""

from __future__ import annotations

import json
from pathlib import Path

from media_assets.core.timeline.inputs import INPUT_FILES, inputs_from_dir, inputs_from_files, wanted_files


def test_from_files_parses_bytes_text_and_dicts() -> None:
    files = {
        "scenes.json": {"has_video": True, "scenes": []},
        "transcript.json": json.dumps({"has_audio": False}),
        "diarization.json": b'{"has_audio": true, "segments": []}',
        "audio_events.json": b"\xff\xfe not utf-8",
        "detections.json": "[]",
        "errors/speaker_transcript.json": b'{"code": "internal_error", "problem": "boom"}',
        "source.json": b'{"uri": "/media/a.mp4", "key": "k"}',
        "unrelated.json": {"x": 1},
    }
    inputs = inputs_from_files("k", files)
    assert inputs.partition == "k" and inputs.source == "/media/a.mp4"
    assert inputs.scenes == {"has_video": True, "scenes": []}
    assert inputs.transcript == {"has_audio": False} and inputs.diarization["has_audio"] is True
    assert inputs.audio_events is None and "UnicodeDecodeError" in inputs.invalid["audio_events"]
    assert inputs.detections is None and "expected a JSON object" in inputs.invalid["detections"]
    assert inputs.upstream_errors == {"speaker_transcript": {"code": "internal_error", "problem": "boom"}}
    assert inputs.keyframes is None and "keyframes" not in inputs.invalid
    assert inputs_from_files("k", files, source="s3://b/x.mp4").source == "s3://b/x.mp4"


def test_from_dir(tmp_path: Path) -> None:
    folder = tmp_path / "abcdefghijklmnop"
    (folder / "errors").mkdir(parents=True)
    (folder / "scenes.json").write_text(json.dumps({"has_video": True, "scenes": []}))
    (folder / "errors" / "transcript.json").write_text(json.dumps({"code": "corrupted", "problem": "bad"}))
    inputs = inputs_from_dir(folder)
    assert inputs.partition == "abcdefghijklmnop" and inputs.scenes is not None
    assert inputs.upstream_errors["transcript"]["code"] == "corrupted"
    assert set(INPUT_FILES.values()) <= set(wanted_files())
