"""The whole CPU tier on one file: probe + extract_audio + analyze_video (keyframes written to a folder).

Imported by the benchmarks for in-process timing, and run as a child process by bench_memory.py / bench_batch.py:

    .venv/bin/python benchmarks/cpu_tier.py FILE [FILE ...] [--out DIR] [--stage all|probe|audio|visual]

As a child it prints one JSON line per file (stage timings, frames decoded, the process's peak RSS so far) and
a final line with the RSS right after imports, so that growth caused by the workload can be told apart from
the interpreter and its libraries.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from media_assets.core.probe import probe
from media_assets.core.scenes_keyframes import analyze_video

try:  # being written concurrently; the benchmarks report it missing instead of crashing at import
    from media_assets.core.audio import extract_audio
except ImportError as exc:  # pragma: no cover
    extract_audio = None  # type: ignore[assignment]
    _AUDIO_IMPORT_ERROR: str | None = str(exc)
else:
    _AUDIO_IMPORT_ERROR = None

STAGES = ("probe", "audio", "visual")


def run_cpu_tier(path: str | Path, work_dir: str | Path, stages: tuple[str, ...] = STAGES) -> dict[str, Any]:
    """Run the CPU tier on ``path``, writing the WAV and keyframes under ``work_dir``; return timings."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"file": str(path)}
    t_all = time.perf_counter()
    if "probe" in stages:
        t = time.perf_counter()
        info = probe(path)
        out["probe_s"] = time.perf_counter() - t
        out["duration_s"] = info.duration_s
        has_audio = info.audio is not None
    else:
        has_audio = True
    if "audio" in stages and has_audio:
        if extract_audio is None:
            raise RuntimeError(f"media_assets.core.audio is not importable yet: {_AUDIO_IMPORT_ERROR}")
        t = time.perf_counter()
        a = extract_audio(path, work / "audio.wav")
        out["audio_s"] = time.perf_counter() - t
        out["audio_samples"] = a.samples
    if "visual" in stages:
        t = time.perf_counter()
        v = analyze_video(path, work / "visual")
        out["visual_s"] = time.perf_counter() - t
        out["frames_total"] = v.decode.frames_total
        out["frames_decoded"] = v.decode.frames_decoded
        out["keyframes"] = len(v.keyframes)
        out["cuts"] = [t.frame for t in v.transitions if t.kind == "cut"]
    out["total_s"] = time.perf_counter() - t_all
    return out


def _rss_now_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--out", help="work folder (default: a temporary folder, removed at the end)")
    ap.add_argument("--stage", default="all", choices=["all", *STAGES])
    args = ap.parse_args(argv)
    stages = STAGES if args.stage == "all" else (args.stage,)
    rss_after_import = _rss_now_mb()
    tmp = None
    if args.out:
        base = Path(args.out)
    else:
        tmp = tempfile.mkdtemp(prefix="bench-cpu-tier-")
        base = Path(tmp)
    try:
        for i, f in enumerate(args.files):
            r = run_cpu_tier(f, base / f"{i:04d}", stages)
            r["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
            print(json.dumps(r), flush=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        json.dumps(
            {
                "rss_after_import_mb": rss_after_import,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
