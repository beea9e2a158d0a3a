"""What a user waits for on one short file: ``media-assets process`` as a whole process, cold and handed to a warm
process (``media-assets warm start``), against ``scenedetect detect-content list-scenes`` as a whole process.

    .venv/bin/python benchmarks/bench_startup.py [--reps 5]

Inputs (generated once into benchmarks/.cache/): a 3-second 720p clip (ffmpeg testsrc2 and a tone) and a
96-second 720p talk-style file (the first 96 s of ten of the throughput benchmark's clips, ``-c copy``).

Each workload is a child process timed from start to exit, round-robin over ``--reps`` rounds after a warm-up
round, with ``--only media_metadata,audio,scenes,keyframes --force`` (the CPU tier, recomputed every time) on one
Dagster instance and store in a temporary folder:

- cold   ``MEDIA_ASSETS_WARM=off``: Python starts, imports Dagster and the project, opens the instance, runs;
- warm   ``MEDIA_ASSETS_WARM=require``: the call is forked from a warm process of the same instance;
- PySceneDetect  ``scenedetect -i F detect-content list-scenes -n`` (its default content detector, one process).

Targets (issue 13): the 3-s clip in ≤ 2 s; on the 96-s file, PySceneDetect's time / ours ≥ 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

BIN = Path(sys.executable).parent
ENTRY = BIN / "media-assets"
SCENEDETECT = BIN / "scenedetect"
ONLY = "media_metadata,audio,scenes,keyframes"
TARGET_SHORT_S = 2.0
TARGET_RATIO = 2.0


def short_clip() -> Path:
    def make(tmp: Path) -> None:
        common.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=3",
                      "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-preset", "fast",
                      "-c:a", "aac", "-shortest", "-f", "mp4", str(tmp))  # fmt: skip

    return common._atomic(common.CACHE_DIR / "startup_3s_720p.mp4", make)


def talk_96s() -> Path:
    clips = sorted(common.generated_talk_clips(50, 10.0, "720p").glob("*.mp4"))[:10]
    joined = common.concat_copy(common.CACHE_DIR / "talk_100s_720p.mp4", clips, "10 talk clips")

    def make(tmp: Path) -> None:
        common.ffmpeg("-i", str(joined), "-t", "96", "-c", "copy", "-f", "mp4", str(tmp))

    return common._atomic(common.CACHE_DIR / "talk_96s_720p.mp4", make)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    short, long_ = short_clip(), talk_96s()
    work = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIA_ASSETS_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(work / "home"), MEDIA_ASSETS_STORE_ROOT=str(work / "store"))

    def ours(clip: Path, mode: str):
        cmd = [str(ENTRY), "process", str(clip), "--only", ONLY, "--force", "--quiet", "--json"]

        def run() -> None:
            r = common.run_child(cmd, env={**env, "MEDIA_ASSETS_WARM": mode}, cwd=work)
            if r.returncode != 0 or '"status": "ok"' not in r.stdout:
                raise SystemExit(f"{' '.join(cmd)} ({mode}) failed ({r.returncode}):\n{r.stdout}\n{r.stderr[-3000:]}")

        return run

    def scenedetect(clip: Path):
        cmd = [str(SCENEDETECT), "-i", str(clip), "detect-content", "list-scenes", "-n"]
        return lambda: subprocess.run(cmd, check=True, capture_output=True, cwd=work)

    subprocess.run([str(ENTRY), "warm", "start"], check=True, env=env, cwd=work)
    try:
        timings = common.interleaved(
            {
                "3 s cold": ours(short, "off"),
                "3 s warm": ours(short, "require"),
                "96 s cold": ours(long_, "off"),
                "96 s warm": ours(long_, "require"),
                "96 s PySceneDetect": scenedetect(long_),
            },
            n=args.reps,
        )
    finally:
        subprocess.run([str(ENTRY), "warm", "stop"], env=env, cwd=work, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    med = {k: t.median for k, t in timings.items()}
    rows = [[k, f"{t.median:.2f}", f"{min(t.runs):.2f}–{max(t.runs):.2f}"] for k, t in timings.items()]
    common.print_table(["workload (whole process)", "median s", "range s"], rows, "CLI start-up")
    psd = med["96 s PySceneDetect"]
    ratios = {mode: psd / med[f"96 s {mode}"] for mode in ("cold", "warm")}
    common.print_table(
        ["", "3 s clip s (target ≤ 2)", "96 s file s", "PySceneDetect / ours (target ≥ 2)"],
        [[mode, f"{med[f'3 s {mode}']:.2f}", f"{med[f'96 s {mode}']:.2f}", f"{ratios[mode]:.2f}"] for mode in ratios],
    )
    missed = []
    if med["3 s warm"] > TARGET_SHORT_S:
        missed.append(f"3-s clip with a warm process {med['3 s warm']:.2f} s > {TARGET_SHORT_S} s")
    if ratios["warm"] < TARGET_RATIO:
        missed.append(f"96-s file: PySceneDetect / ours {ratios['warm']:.2f} < {TARGET_RATIO}")
    data = {
        "machine": common.machine_info(),
        "timings": {k: {"runs": t.runs, "cpu": t.cpu, "others": t.others} for k, t in timings.items()},
        "ratios": ratios,
    }
    return common.report("startup", data, missed, "all start-up targets met (with a warm process)")


if __name__ == "__main__":
    sys.exit(main())
