"""The `media-assets` CLI end to end, in a subprocess like a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT, run_cli


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(tmp_path, *args)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_process_twice_changes_nothing_and_reports_failures(tmp_path: Path, media_dir: Path) -> None:
    inbox = tmp_path / "in put"
    inbox.mkdir()
    shutil.copyfile(media_dir / "formats/bbb_seg_h264_aac.mov", inbox / "clip one.mov")
    shutil.copyfile(media_dir / "formats/bbb_seg_h264_aac.mov", inbox / "-dup ☃.mov")  # same bytes
    shutil.copyfile(media_dir / "broken/moviepy_zero_bytes.webm", inbox / "empty.webm")
    shutil.copyfile(media_dir / "speech/LDC93S1.wav", inbox / ("x" * 200 + ".wav"))
    out = tmp_path / "out"
    first = _cli(tmp_path, "process", str(inbox), "--out", str(out), "--json", "--quiet", "--cpu-only")
    assert first.returncode == 1, first.stderr  # the empty file failed
    rows = [json.loads(line) for line in first.stdout.splitlines()]
    assert len(rows) == 4
    by_status = {r["input"].rsplit("/", 1)[-1]: r for r in rows}
    assert by_status["empty.webm"]["status"] == "failed" and "empty" in by_status["empty.webm"]["note"]
    assert by_status["clip one.mov"]["partition"] == by_status["-dup ☃.mov"]["partition"]
    assert by_status["clip one.mov"]["status"] == "ok"
    key = by_status["clip one.mov"]["partition"]
    for name in (
        "source.json",
        "media_metadata.json",
        "scenes.json",
        "keyframes.json",
        "audio.wav",
        "audio.json",
    ):
        assert (out / key / name).is_file(), name
    source = json.loads((out / key / "source.json").read_text())
    assert len(source["aliases"]) == 1
    before = _tree(out)

    second = _cli(tmp_path, "process", str(inbox), "--out", str(out), "--json", "--quiet", "--cpu-only")
    assert second.returncode == 1
    assert _tree(out) == before  # same keys, same files, same bytes
    rows2 = [json.loads(line) for line in second.stdout.splitlines()]
    assert sorted(r["partition"] for r in rows2) == sorted(r["partition"] for r in rows)
    assert all("up to date" in r["note"] for r in rows2 if r["status"] == "ok")


def test_outputs_of_an_older_code_version_or_another_preset_are_redone(tmp_path: Path, media_dir: Path) -> None:
    import sqlite3

    clip = tmp_path / "clip.mov"
    shutil.copyfile(media_dir / "formats/bbb_seg_h264_aac.mov", clip)
    out = tmp_path / "out"
    args = ("process", str(clip), "--out", str(out), "--json", "--quiet", "--cpu-only")
    first = json.loads(_cli(tmp_path, *args).stdout)
    key = first["partition"]
    stamps = {n: (out / key / n).stat().st_mtime_ns for n in ("audio.wav", "scenes.json", "keyframes.json")}
    # as if an older release had made the scenes: the visual pass (scenes + keyframes) is redone, audio is not
    with sqlite3.connect(out / "_index" / "catalog.sqlite") as db:
        db.execute("UPDATE video_results SET code_version = '0' WHERE asset = 'scenes'")
    second = json.loads(_cli(tmp_path, *args).stdout)
    assert second["status"] == "ok" and "reprocessed (scenes code 0 -> 1)" in second["note"], second
    assert (out / key / "audio.wav").stat().st_mtime_ns == stamps["audio.wav"]
    for name in ("scenes.json", "keyframes.json"):
        assert (out / key / name).stat().st_mtime_ns != stamps[name], name
    third = json.loads(_cli(tmp_path, *args).stdout)
    assert "up to date" in third["note"], third
    # asking for another preset redoes what the preset made
    fourth = json.loads(_cli(tmp_path, *args, "--preset", "fast").stdout)
    assert "preset balanced -> fast" in fourth["note"], fourth
    assert (out / key / "audio.wav").stat().st_mtime_ns != stamps["audio.wav"]


def test_outdated_redoes_what_changed_and_what_reads_it() -> None:
    from media_assets.asset_graph import CODE_VERSIONS, CPU_TIER_ASSETS, close_downstream, outdated

    assert close_downstream(["transcript"], ["audio", "transcript", "speaker_transcript", "timeline"]) == [
        "transcript",
        "speaker_transcript",
        "timeline",
    ]
    assert close_downstream(["keyframes"], list(CPU_TIER_ASSETS)) == ["scenes", "keyframes"]
    assert close_downstream(["scenes"], ["scenes", "keyframes", "detections"]) == ["scenes", "keyframes", "detections"]
    latest = {
        ("k1", "audio"): {"code_version": CODE_VERSIONS["audio"], "preset": "balanced"},
        ("k1", "transcript"): {"code_version": "0", "preset": "balanced"},
        ("k2", "audio"): {"code_version": CODE_VERSIONS["audio"], "preset": "fast"},
    }
    selected = ["media_metadata", "audio", "transcript", "diarization", "speaker_transcript"]
    got = outdated(latest, ["k1", "k2", "k3"], selected, None)
    assert got == {"k1": (["transcript", "speaker_transcript"], f"transcript code 0 -> {CODE_VERSIONS['transcript']}")}
    got = outdated(latest, ["k2"], selected, "balanced")
    assert got["k2"][0] == ["audio", "transcript", "diarization", "speaker_transcript"]


def test_only_selects_assets_and_missing_path_is_reported(tmp_path: Path, media_dir: Path) -> None:
    out = tmp_path / "out"
    res = _cli(
        tmp_path,
        "process",
        str(media_dir / "speech/jfk.flac"),
        str(tmp_path / "nope.mp4"),
        "--out",
        str(out),
        "--only",
        "audio",
        "--json",
        "--quiet",
    )
    assert res.returncode == 1
    rows = {r["input"]: r for r in map(json.loads, res.stdout.splitlines())}
    assert rows[str(tmp_path / "nope.mp4")]["status"] == "failed"
    ok = rows[str(media_dir / "speech/jfk.flac")]
    assert ok["status"] == "ok"
    assert (out / ok["partition"] / "audio.wav").exists()
    assert not (out / ok["partition"] / "scenes.json").exists()


def test_demo_runs_the_pipeline_on_a_generated_clip(tmp_path: Path) -> None:
    res = _cli(tmp_path, "demo", "--out", str(tmp_path / "out"), "--json", "--quiet")
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout.splitlines()[0])
    scenes = json.loads((tmp_path / "out" / row["partition"] / "scenes.json").read_text())
    kinds = [t["kind"] for t in scenes["transitions"]]
    assert kinds == ["cut", "fade_out", "fade_in"]
    assert scenes["transitions"][0]["frame"] == 75
    # every shot has its own keyframe (three backgrounds, one layout) and its caption is read
    folder = tmp_path / "out" / row["partition"]
    keyframes = json.loads((folder / "keyframes.json").read_text())["keyframes"]
    assert [k["duplicate_of"] for k in keyframes] == [None] * len(keyframes)
    texts = [e["text"] for e in json.loads((folder / "events.json").read_text())["text_events"]]
    assert texts == ["SHOT ONE", "SHOT TWO", "SHOT THREE"], texts
    transcript = json.loads((folder / "transcript.json").read_text())
    assert "three shots" in " ".join(s["text"] for s in transcript["segments"]).lower()


def test_workspace_points_at_definitions() -> None:
    text = (REPO_ROOT / "workspace.yaml").read_text()
    assert "media_assets.definitions" in text


def test_model_changes_are_outdated_but_outputs_from_before_fingerprints_are_not() -> None:
    from media_assets.asset_graph import outdated

    versions = {"transcript": "1+newmodel"}
    made = {("k", "transcript"): {"code_version": "1+oldmodel"}}
    assert outdated(made, ["k"], ["transcript"], None, versions=versions) == {
        "k": (["transcript"], "transcript model oldmodel -> newmodel")
    }
    before = {("k", "transcript"): {"code_version": "1"}}  # an earlier release recorded no fingerprint
    assert outdated(before, ["k"], ["transcript"], None, versions=versions) == {}
    older = {("k", "transcript"): {"code_version": "0"}}
    assert outdated(older, ["k"], ["transcript"], None, versions=versions)["k"][1] == "transcript code 0 -> 1+newmodel"
