"""Timeline fusion speed on synthetic one-hour outputs, and how it scales with duration.

    .venv/bin/python benchmarks/bench_timeline.py [--reps 7] [--minutes 15,30,60,120]

Inputs: ``tests/core/timeline/synthetic.py`` writes every upstream file of a partition as the assets would
(contract of docs/outputs.md) for a talk-show-like video: per hour ~600 scenes, ~10k words in ~1200 segments,
3 speakers, 3000 detection frames (one every 1.2 s), ~300 captions, 500 audio events. The files are encoded to
JSON bytes as in the media store.

Stages timed separately (median [min-max] over ``--reps``, in-process, after a warm-up):
``parse`` = inputs_from_files on the JSON bytes; ``fuse`` = fuse_timeline (the target); ``json`` = the
timeline encoded as the store writes it; ``parquet`` = write_parquet; ``png`` = render_swimlanes (1600 px).

Target (exit status 1 if missed): fuse < 2 s for one hour. The scaling table shows fuse time per 1k output
events: flat for O(n log n), growing linearly with duration for O(n²).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common

from media_assets.core.store import dumps_json
from media_assets.core.timeline.fuse import fuse_timeline
from media_assets.core.timeline.inputs import inputs_from_files
from media_assets.core.timeline.render import render_swimlanes
from media_assets.core.timeline.table import write_parquet
from tests.core.timeline.synthetic import synthetic_outputs

TARGET_S = 2.0
TARGET_MINUTES = 60


def input_sizes(files: dict) -> dict[str, int]:
    segs = files["speaker_transcript.json"]["segments"]
    frames = files["detections.json"]["frames"]
    return {
        "scenes": len(files["scenes.json"]["scenes"]),
        "segments": len(segs),
        "words": sum(len(s["words"]) for s in segs),
        "speakers": len(files["diarization.json"]["speakers"]),
        "det_frames": len(frames),
        "det_frames_with_text": sum(1 for f in frames if f["text"]),
        "sounds": len(files["audio_events.json"]["events"]),
        "json_mb": round(sum(len(dumps_json(d)) for d in files.values()) / 1e6, 1),
    }


def bench(minutes: int, reps: int, tmp: Path) -> dict:
    files = synthetic_outputs(minutes * 60.0, seed=minutes)
    raw = {name: dumps_json(doc) for name, doc in files.items()}
    inputs = inputs_from_files("bench", raw, source="/media/show.mp4")
    timeline = fuse_timeline(inputs)
    stages = {
        "parse": lambda: inputs_from_files("bench", raw),
        "fuse": lambda: fuse_timeline(inputs),
        "json": lambda: dumps_json(timeline.model_dump(mode="json")),
        "parquet": lambda: write_parquet(timeline, tmp / f"t{minutes}.parquet"),
        "png": lambda: render_swimlanes(timeline, tmp / f"t{minutes}.png"),
    }
    timings = common.interleaved(stages, n=reps, warmup=1)
    return {
        "minutes": minutes,
        "inputs": input_sizes(files),
        "events": len(timeline.events),
        "counts": timeline.counts(),
        "relationships": len(timeline.relationships),
        "entities": len(timeline.entities),
        "timeline_json_mb": round(len(dumps_json(timeline.model_dump(mode="json"))) / 1e6, 2),
        "timings": {k: t for k, t in timings.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--minutes", default="15,30,60,120", help="durations of the synthetic videos")
    args = ap.parse_args()
    minutes = sorted({int(m) for m in args.minutes.split(",")} | {TARGET_MINUTES})

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-timeline-") as tmp:
        for m in minutes:
            print(f"[{m} min]", flush=True)
            results.append(bench(m, args.reps, Path(tmp)))

    hour = next(r for r in results if r["minutes"] == TARGET_MINUTES)
    i = hour["inputs"]
    common.print_table(
        ["synthetic input / output", "count"],
        [[k, v] for k, v in i.items()]
        + [["output events", hour["events"]]]
        + [[f"  {k}", v] for k, v in hour["counts"].items()]
        + [["relationships", hour["relationships"]], ["entities", hour["entities"]]]
        + [["timeline.json MB", hour["timeline_json_mb"]]],
        title=f"Synthetic {TARGET_MINUTES}-minute outputs",
    )
    common.print_table(
        ["stage", "wall median [min-max]", "CPU median", "others (cores)", "spread"],
        [
            [k, t.fmt(), f"{t.cpu_median:.2f} s", f"{t.others_median:.2f}", f"{t.spread_pct():.0f} %"]
            for k, t in hour["timings"].items()
        ],
        title=f"{TARGET_MINUTES} minutes, {args.reps} reps",
    )
    common.print_table(
        ["minutes", "output events", "fuse median", "fuse CPU", "CPU ms per 1k events", "total (all stages)"],
        [
            [
                r["minutes"],
                r["events"],
                r["timings"]["fuse"].fmt(),
                f"{r['timings']['fuse'].cpu_median:.3f} s",
                f"{1e6 * r['timings']['fuse'].cpu_median / r['events']:.1f}",
                f"{sum(t.median for t in r['timings'].values()):.2f} s",
            ]
            for r in results
        ],
        title="Scaling (O(n log n): CPU ms per 1k events stays about flat)",
    )
    fuse = hour["timings"]["fuse"].median
    met = fuse < TARGET_S
    common.print_table(
        ["target", "measured", "met?"],
        [[f"fuse one hour < {TARGET_S:.0f} s", f"{fuse:.2f} s", "yes" if met else "**no**"]],
        title="Summary",
    )
    out = common.save_results(
        "bench_timeline",
        {
            "machine": common.machine_info(),
            "reps": args.reps,
            "results": [{**r, "timings": {k: t.as_dict() for k, t in r["timings"].items()}} for r in results],
            "target_s": TARGET_S,
            "met": met,
        },
    )
    print(f"\nraw results: {out}")
    print(json.dumps({"fuse_one_hour_s": round(fuse, 3), "met": met}))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
