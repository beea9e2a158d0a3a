"""Peak memory of the whole CPU tier on a one-hour 1080p file, against the same on 60 s.

    .venv/bin/python benchmarks/bench_memory.py [--short-reps 3] [--long-reps 1] [--stages]

Each measurement runs ``benchmarks/cpu_tier.py FILE`` (probe + extract_audio + analyze_video, keyframes and WAV
written to a temporary folder) in a fresh child process and reads that child's peak RSS from ``wait4``; the
child also reports its RSS right after imports (interpreter + numpy + PyAV + pydantic), so the growth caused
by the work itself is visible.

Inputs (cached in benchmarks/.cache/): the generated 60 s 1080p H.264/AAC file (common.generated_video) and
that file concatenated 60 times with the concat demuxer and ``-c copy`` (one hour, with its AAC track).

Target (exit status 1 if missed): peak RSS < 600 MB on the one-hour file. The 60 s run shows whether RSS
grows with duration. ``--stages`` (automatic when the target is missed) also runs each stage alone on the
long file, to attribute the peak.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET_MB = 600.0
WORKER = str(Path(__file__).resolve().parent / "cpu_tier.py")


def measure(path: Path, reps: int, stage: str = "all") -> dict:
    runs = []
    for _ in range(reps):
        common.wait_for_quiet()
        r = common.run_child([common.PYTHON, WORKER, str(path), "--stage", stage])
        if r.returncode != 0:
            raise RuntimeError(f"cpu_tier.py failed on {path} ({r.returncode}):\n{r.stderr[-3000:]}")
        lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
        work, tail = lines[0], lines[-1]
        runs.append(
            {
                "wall_s": r.wall_s,
                "cpu_s": r.cpu_s,
                "others_cores": r.others_cores,
                "peak_rss_mb": r.maxrss_mb,
                "rss_after_import_mb": tail["rss_after_import_mb"],
                **{
                    k: work[k]
                    for k in (
                        "probe_s",
                        "audio_s",
                        "visual_s",
                        "total_s",
                        "frames_total",
                        "frames_decoded",
                        "keyframes",
                        "duration_s",
                    )
                    if k in work
                },
            }
        )

    def agg(key: str) -> dict:
        vals = [r[key] for r in runs if key in r]
        return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)} if vals else {}

    return {
        "file": str(path),
        "size_mb": path.stat().st_size / 2**20,
        "stage": stage,
        "runs": runs,
        **{
            k: agg(k)
            for k in ("wall_s", "peak_rss_mb", "rss_after_import_mb", "probe_s", "audio_s", "visual_s", "total_s")
        },
    }


def fmt(d: dict, unit: str, digits: int = 1) -> str:
    if not d:
        return "-"
    if d["min"] == d["max"]:
        return f"{d['median']:.{digits}f} {unit}"
    return f"{d['median']:.{digits}f} {unit} [{d['min']:.{digits}f}-{d['max']:.{digits}f}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short-reps", type=int, default=3)
    ap.add_argument("--long-reps", type=int, default=1)
    ap.add_argument("--copies", type=int, default=60, help="copies of the 60 s file in the long input (60 = 1 h)")
    ap.add_argument("--stages", action="store_true", help="also run each stage alone on the long file")
    args = ap.parse_args()
    info = common.machine_info()
    print("machine:", info, flush=True)
    short = common.generated_video("1080p")
    long = common.generated_hour("1080p", args.copies)
    started = time.perf_counter()
    res = {}
    print(f"[run] 60 s file x{args.short_reps}", flush=True)
    res["60s"] = measure(short, args.short_reps)
    print(f"[run] {args.copies} min file x{args.long_reps}", flush=True)
    res["long"] = measure(long, args.long_reps)
    rows = []
    for label, key in (("60 s 1080p", "60s"), (f"{args.copies} min 1080p", "long")):
        m = res[key]
        r0 = m["runs"][0]
        rows.append(
            [
                label,
                f"{m['size_mb']:.0f} MB",
                len(m["runs"]),
                fmt(m["peak_rss_mb"], "MB"),
                fmt(m["rss_after_import_mb"], "MB"),
                fmt(m["wall_s"], "s"),
                fmt(m["audio_s"], "s"),
                fmt(m["visual_s"], "s"),
                f"{r0.get('frames_decoded')}/{r0.get('frames_total')}",
                r0.get("keyframes"),
            ]
        )
    common.print_table(
        [
            "input",
            "size",
            "runs",
            "peak RSS",
            "RSS after imports",
            "wall (child)",
            "audio stage",
            "visual stage",
            "frames decoded/total",
            "keyframes",
        ],
        rows,
        title="Whole CPU tier in a child process (peak RSS from wait4)",
    )
    peak_long = res["long"]["peak_rss_mb"]["max"]
    peak_short = res["60s"]["peak_rss_mb"]["median"]
    growth = peak_long - peak_short
    print(
        f"peak RSS, 1 h vs 60 s: {peak_long:.0f} MB vs {peak_short:.0f} MB (+{growth:.0f} MB for "
        f"{args.copies}x the duration); target < {TARGET_MB:.0f} MB",
        flush=True,
    )
    missed = []
    if peak_long >= TARGET_MB:
        missed.append(f"peak RSS on the long file {peak_long:.0f} MB >= {TARGET_MB:.0f} MB")
    if args.stages or missed:
        srows = []
        for stage in ("probe", "audio", "visual"):
            print(f"[run] long file, stage {stage} alone", flush=True)
            m = measure(long, 1, stage)
            res[f"long_{stage}"] = m
            srows.append([stage, fmt(m["peak_rss_mb"], "MB"), fmt(m["wall_s"], "s")])
        common.print_table(["stage alone (long file)", "peak RSS", "wall"], srows, title="Attribution")
    res["elapsed_s"] = time.perf_counter() - started
    return common.report(
        "memory",
        {"machine": info, "target_mb": TARGET_MB, "results": res, "missed": missed},
        missed,
        "memory target met",
    )


if __name__ == "__main__":
    sys.exit(main())
