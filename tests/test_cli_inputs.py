"""What a hostile but fair tester found in `media-assets process` (issue 10, item 7): one test per defect."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import run_cli

CLIP = "formats/bbb_seg_h264_aac.mov"


def _cli(cwd: Path, *args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return run_cli(cwd, *args, env=env, timeout=timeout)


def _rows(res: subprocess.CompletedProcess) -> dict[str, dict]:
    return {Path(r["input"]).name: r for r in map(json.loads, res.stdout.splitlines())}


def test_out_accepts_an_s3_uri_and_the_env_root_is_honoured(tmp_path: Path, media_dir: Path, s3_server, s3_bucket):
    clip = tmp_path / "clip.mov"
    shutil.copyfile(media_dir / CLIP, clip)
    prefix = s3_server.unique_prefix("cli")
    env = {**s3_server.env(), "MEDIA_ASSETS_S3_ENDPOINT_URL": s3_server.endpoint_url}
    env["MEDIA_ASSETS_INDEX_DIR"] = str(tmp_path / "index")
    res = _cli(tmp_path, "process", str(clip), "--out", f"s3://{s3_bucket}/{prefix}", "--cpu-only", "--json", "--quiet",
               env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    row = _rows(res)["clip.mov"]
    assert row["output"] == f"s3://{s3_bucket}/{prefix}/{row['partition']}"
    keys = {o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix=prefix)["Contents"]}
    assert f"{prefix}/{row['partition']}/scenes.json" in keys and f"{prefix}/{row['partition']}/audio.wav" in keys
    assert not (tmp_path / "s3:").exists() and not (tmp_path / "media_data").exists()
    # without --out, MEDIA_ASSETS_STORE_ROOT decides
    env["MEDIA_ASSETS_STORE_ROOT"] = f"s3://{s3_bucket}/{prefix}-env"
    res = _cli(tmp_path, "process", str(clip), "--only", "media_metadata", "--json", "--quiet", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert _rows(res)["clip.mov"]["output"].startswith(f"s3://{s3_bucket}/{prefix}-env/")
    assert not (tmp_path / "media_data").exists()


def test_a_fifo_is_named_and_never_opened(tmp_path: Path, media_dir: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(media_dir / CLIP, folder / "clip.mov")
    os.mkfifo(folder / "pipe.mp4")
    (folder / "loop.mp4").symlink_to(folder / "loop.mp4")
    (folder / "dangling.mp4").symlink_to(folder / "gone.mp4")
    out = str(tmp_path / "out")
    res = _cli(tmp_path, "process", str(folder), "--out", out, "--only", "media_metadata", "--json", "--quiet",
               timeout=120)  # fmt: skip
    rows = _rows(res)
    assert rows["clip.mov"]["status"] == "ok"
    assert rows["pipe.mp4"]["status"] == "failed" and "FIFO" in rows["pipe.mp4"]["note"]
    assert "link loop" in rows["loop.mp4"]["note"]
    assert "broken symbolic link" in rows["dangling.mp4"]["note"]
    # passed directly
    res = _cli(tmp_path, "process", str(folder / "pipe.mp4"), str(folder / "loop.mp4"), "--out", out, "--json",
               "--quiet", timeout=120)  # fmt: skip
    rows = _rows(res)
    assert res.returncode == 1
    assert "FIFO" in rows["pipe.mp4"]["note"] and "link loop" in rows["loop.mp4"]["note"]


def test_describe_local_never_blocks_on_a_fifo(tmp_path: Path) -> None:
    from media_assets.sources import NotARegularFileError, describe_local

    os.mkfifo(tmp_path / "p.mp4")
    done: list[BaseException] = []

    def run() -> None:
        try:
            describe_local(tmp_path / "p.mp4")
        except BaseException as exc:
            done.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert done and isinstance(done[0], NotARegularFileError) and "FIFO" in str(done[0])


def test_the_same_bytes_under_another_name_after_the_first_is_deleted(tmp_path: Path, media_dir: Path) -> None:
    a, b = tmp_path / "a.mov", tmp_path / "b.mov"
    shutil.copyfile(media_dir / CLIP, a)
    out = str(tmp_path / "out")
    first = _rows(_cli(tmp_path, "process", str(a), "--out", out, "--only", "media_metadata", "--json", "--quiet"))
    a.rename(b)  # a.mov is gone; b.mov holds the same bytes
    res = _cli(tmp_path, "process", str(b), "--out", out, "--cpu-only", "--json", "--quiet")
    row = _rows(res)["b.mov"]
    assert row["partition"] == first["a.mov"]["partition"]
    assert row["status"] == "ok", row
    source = json.loads((tmp_path / "out" / row["partition"] / "source.json").read_text())
    assert source["uri"] == str(b) and source["aliases"] == [str(a)]


def test_a_not_found_failure_is_retried_when_the_file_is_given_again(tmp_path: Path, media_dir: Path) -> None:
    """not_found is a fact about the environment, not the bytes: naming the file again retries it."""
    a, b = tmp_path / "a.mov", tmp_path / "b.mov"
    shutil.copyfile(media_dir / CLIP, a)
    out = tmp_path / "out"
    key = _rows(_cli(tmp_path, "process", str(a), "--out", str(out), "--only", "media_metadata", "--json", "--quiet"))[
        "a.mov"
    ]["partition"]
    # as a sensor-launched run records it when a.mov has gone by the time the audio step reads it
    a.unlink()
    error = {"code": "not_found", "file": str(a), "problem": "source file does not exist", "asset": "audio"}
    (out / key / "errors").mkdir()
    (out / key / "errors" / "audio.json").write_text(json.dumps(error))
    shutil.copyfile(media_dir / CLIP, b)
    row = _rows(_cli(tmp_path, "process", str(b), "--out", str(out), "--only", "audio", "--json", "--quiet"))["b.mov"]
    assert row["partition"] == key and row["status"] == "ok", row
    assert not (out / key / "errors" / "audio.json").exists()


def test_concurrent_first_runs_on_a_new_instance_and_catalog(tmp_path: Path, media_dir: Path) -> None:
    clips = []
    for i in range(4):
        clip = tmp_path / f"c{i}.wav"
        shutil.copyfile(media_dir / "speech/LDC93S1.wav", clip)
        with clip.open("ab") as fh:
            fh.write(bytes([i]) * 64)  # different bytes: four partitions
        clips.append(clip)
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "media_assets.cli",
                "process",
                str(c),
                "--out",
                str(tmp_path / "out"),
                "--only",
                "media_metadata",
                "--json",
                "--quiet",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in clips
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (stdout, stderr) in zip(procs, results, strict=True):
        assert p.returncode == 0, stderr[-3000:]
        assert "already exists" not in stderr
        assert json.loads(stdout)["status"] == "ok"


def test_limits_from_flags_and_env(tmp_path: Path, media_dir: Path) -> None:
    clip = tmp_path / "clip.mov"
    shutil.copyfile(media_dir / CLIP, clip)
    out = str(tmp_path / "out")
    res = _cli(tmp_path, "process", str(clip), "--out", out, "--only", "media_metadata", "--max-file-size", "1K",
               "--json", "--quiet")  # fmt: skip
    row = _rows(res)["clip.mov"]
    assert res.returncode == 1 and row["status"] == "failed"
    assert "too_large" in row["note"] and "over the limit of 1.0 KiB" in row["note"], row
    clip2 = tmp_path / "clip2.wav"
    shutil.copyfile(media_dir / "speech/LDC93S1.wav", clip2)
    res = _cli(tmp_path, "process", str(clip2), "--out", out, "--only", "media_metadata", "--json", "--quiet",
               env={"MEDIA_ASSETS_MAX_DURATION": "1s"})  # fmt: skip
    row = _rows(res)["clip2.wav"]
    assert row["status"] == "failed" and "too_long" in row["note"], row
    bad = _cli(tmp_path, "process", str(clip2), "--out", out, "--max-duration", "soon", "--quiet")
    assert bad.returncode == 2 and "invalid duration 'soon'" in bad.stderr


def test_dotdot_paths_are_stored_normalised(tmp_path: Path, media_dir: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "other").mkdir()
    clip = tmp_path / "in" / "clip.mov"
    shutil.copyfile(media_dir / CLIP, clip)
    out = str(tmp_path / "out")
    _cli(tmp_path, "process", str(clip), "--out", out, "--only", "media_metadata", "--json", "--quiet")
    res = _cli(tmp_path, "process", "other/../in/clip.mov", "./in/clip.mov", "--out", out, "--only", "media_metadata",
               "--json", "--quiet")  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    key = json.loads(res.stdout.splitlines()[0])["partition"]
    source = json.loads((tmp_path / "out" / key / "source.json").read_text())
    assert source["uri"] == str(clip) and source["aliases"] == []


@pytest.mark.parametrize("text,expected", [("2G", 2 * 1024**3), ("500MB", 500_000_000), ("none", None), ("12", 12)])
def test_parse_size(text: str, expected: int | None) -> None:
    from media_assets.core.limits import parse_size

    assert parse_size(text) == expected


@pytest.mark.parametrize("text,expected", [("90m", 5400.0), ("1:30:00", 5400.0), ("2h", 7200.0), ("off", None)])
def test_parse_duration(text: str, expected: float | None) -> None:
    from media_assets.core.limits import parse_duration

    assert parse_duration(text) == expected
