"""`media-assets lineage`: what made each artifact of a video, and what a model change made out of date."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import run_cli


def _lineage(tmp_path: Path, video: str, **env: str) -> tuple[int, dict[str, dict]]:
    res = run_cli(tmp_path, "lineage", video, "--out", str(tmp_path / "out"), "--json", env=env)
    rows = {r["asset"]: r for r in map(json.loads, res.stdout.splitlines())}
    return res.returncode, rows


def test_lineage_names_what_made_each_artifact_and_flags_a_model_change(tmp_path: Path, media_dir: Path) -> None:
    clip = tmp_path / "jfk.flac"
    shutil.copyfile(media_dir / "speech/jfk.flac", clip)
    env = {"MEDIA_ASSETS_WHISPER_MODEL": "tiny.en", "MEDIA_ASSETS_INDEX_DIR": str(tmp_path / "index")}
    res = run_cli(tmp_path, "process", str(clip), "--out", str(tmp_path / "out"), "--only", "speaker_transcript",
                  "--json", "--quiet", env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]

    code, rows = _lineage(tmp_path, str(clip), **env)
    assert code == 0, rows
    t = rows["transcript"]
    assert t["status"] == "current" and t["files"] == ["transcript.json", "transcript.srt", "transcript.vtt"]
    assert t["model_fingerprint"] and t["code_version"] == t["current_code_version"] and len(t["run_id"]) == 36
    assert t["model"] == "tiny.en" and t["preset"] == "balanced" and t["updated_at"]
    assert rows["diarization"]["status"] == "current" and rows["diarization"]["model_fingerprint"]
    assert rows["scenes"]["status"] == "missing" and not rows["timeline"]["files"]  # never asked for: fine

    env["MEDIA_ASSETS_WHISPER_MODEL"] = "base"  # another model: the transcript and what reads it are out of date
    code, rows = _lineage(tmp_path, "jfk.flac", **env)  # a file name works too
    assert code == 1
    assert rows["transcript"]["status"] == "out of date"
    assert rows["speaker_transcript"]["status"] == "upstream out of date"
    assert rows["diarization"]["status"] == "current" and rows["audio"]["status"] == "current"

    res = run_cli(tmp_path, "lineage", "no-such-video", "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "no video 'no-such-video'" in res.stderr
