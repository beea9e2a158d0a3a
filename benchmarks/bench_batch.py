"""Batch overhead: 50 short clips through ONE call of ``media-assets process DIR --out TMP``.

    .venv/bin/python benchmarks/bench_batch.py [--reps 3] [--clips 50]

Inputs: 50 distinct 3-4 s clips (640x360 @ 24 fps H.264 + AAC sine tone, one hard cut each; distinct bytes,
so distinct content hashes and 50 partitions), generated once into benchmarks/.cache/clips_50/.

Each repetition runs the CLI as a child process with a fresh DAGSTER_HOME and output folder in a temporary
directory, and measures its wall time (everything: interpreter start-up, imports, partition registration, the
Dagster runs, the summary). Extraction time is then taken three ways:

- core      the same 50 files through the core functions in-process (probe + extract_audio +
            analyze_video with keyframes written), after a warm-up: pure extraction, no store, no Dagster;
- recorded  the per-partition ``elapsed_s`` each asset records in its materialization metadata (Dagster
            event log of that DAGSTER_HOME): media_metadata + audio + the shared scenes/keyframes pass,
            counted once; includes writing the outputs to the store;
- json      ``decode.elapsed_s`` in ``<out>/<key>/scenes.json`` (the visual pass only; the only timing the
            JSON outputs carry).

The overhead share is (wall - extraction) / wall; the verdict uses "core" (the JSON outputs do not record
probe/audio timings). Target: under 20 %. The wall time is also split into the CLI's fixed cost (the same
command on an empty folder), time outside Dagster runs, and time inside runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET_SHARE = 0.20
CLI = str(Path(common.PYTHON).with_name("media-assets"))


def cli_run(inputs: Path, base: Path) -> tuple[common.ChildRun, Path, Path]:
    home, out = base / "dagster_home", base / "out"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("MEDIA_ASSETS_STORE_ROOT", None)
    common.wait_for_quiet()
    r = common.run_child(
        [
            CLI,
            "process",
            str(inputs),
            "--out",
            str(out),
            "--dagster-home",
            str(home),
            "--quiet",
            "--json",
            "--cpu-only",
        ],
        env=env,
        cwd=base,
    )
    return r, home, out


def recorded_timings(home: Path) -> dict:
    """Per-partition elapsed_s from the materialization metadata, and the runs' own start/end times."""
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    with dg.DagsterInstance.get() as inst:
        per: dict[str, dict[str, float]] = {}
        for asset in ("media_metadata", "audio", "scenes"):  # keyframes share the scenes pass
            recs = inst.fetch_materializations(dg.AssetKey(asset), limit=10_000).records
            for rec in recs:
                m = rec.asset_materialization
                md = m.metadata
                if "elapsed_s" in md:
                    per.setdefault(m.partition, {})[asset] = float(md["elapsed_s"].value)
        runs = inst.get_runs()
        run_s = 0.0
        for run in runs:
            st = inst.get_run_stats(run.run_id)
            if st.start_time and st.end_time:
                run_s += st.end_time - st.start_time
    return {
        "per_partition": per,
        "sum_s": sum(sum(v.values()) for v in per.values()),
        "runs": len(runs),
        "runs_total_s": run_s,
    }


def json_timings(out: Path) -> float:
    total = 0.0
    for p in out.glob("*/scenes.json"):
        d = json.loads(p.read_text())
        total += float(d.get("decode", {}).get("elapsed_s", 0.0))
    return total


def core_pass(files: list[Path], work: Path) -> float:
    from cpu_tier import run_cpu_tier

    t0 = time.perf_counter()
    for i, f in enumerate(files):
        run_cpu_tier(f, work / f"{i:03d}")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="CLI runs (each with a fresh DAGSTER_HOME)")
    ap.add_argument("--clips", type=int, default=50)
    args = ap.parse_args()
    if not Path(CLI).exists():
        print(f"{CLI} not found (media_assets/cli.py not installed yet?)")
        return 2
    info = common.machine_info()
    print("machine:", info, flush=True)
    clips = common.generated_clips(args.clips)
    files = sorted(clips.glob("*.mp4"))
    started = time.perf_counter()

    # fixed cost: the same command on an empty folder (imports, instance, definitions; then "no media")
    fixed = []
    for _ in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
            empty = Path(tmp) / "empty"
            empty.mkdir()
            r, _, _ = cli_run(empty, Path(tmp))
            fixed.append(r.wall_s)

    walls, rss, recorded, jsons, runs_in, nruns, others = [], [], [], [], [], [], []
    for i in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
            print(f"[run {i + 1}/{args.reps}] media-assets process {clips} --out TMP", flush=True)
            r, home, out = cli_run(clips, Path(tmp))
            rows = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
            ok = sum(1 for x in rows if x.get("status") == "ok")
            if r.returncode != 0 or ok != len(files):
                print(r.stdout[-3000:], r.stderr[-3000:])
                raise SystemExit(f"CLI failed: rc={r.returncode}, {ok}/{len(files)} ok")
            parts = {x["partition"] for x in rows}
            if len(parts) != len(files):
                raise SystemExit(f"expected {len(files)} distinct partitions, got {len(parts)}")
            walls.append(r.wall_s)
            others.append(r.others_cores)
            rss.append(r.maxrss_mb)
            rec = recorded_timings(home)
            recorded.append(rec["sum_s"])
            runs_in.append(rec["runs_total_s"])
            nruns.append(rec["runs"])
            jsons.append(json_timings(out))

    # pure extraction, in-process, same files (warm-up on a few first)
    with tempfile.TemporaryDirectory(prefix="bench-batch-core-") as tmp:
        core_pass(files[:3], Path(tmp) / "warm")
        core = []
        for i in range(args.reps):
            common.wait_for_quiet()
            core.append(core_pass(files, Path(tmp) / f"r{i}"))

    W, C, R, J = (common.Timing(x) for x in (walls, core, recorded, jsons))
    F, RI = common.Timing(fixed), common.Timing(runs_in)
    share_core = 1 - C.median / W.median
    share_rec = 1 - R.median / W.median
    share_json = 1 - J.median / W.median
    common.print_table(
        ["quantity", "median [min-max]", "share of wall"],
        [
            [f"wall, one `media-assets process` of {len(files)} clips", W.fmt(), "100%"],
            ["  CLI fixed cost (same command, empty folder)", F.fmt(), f"{F.median / W.median:.0%}"],
            [
                f"  inside Dagster runs ({statistics.median(nruns):.0f} run(s), run start->end)",
                RI.fmt(),
                f"{RI.median / W.median:.0%}",
            ],
            ["extraction, core in-process (probe+audio+visual)", C.fmt(), f"{C.median / W.median:.0%}"],
            ["extraction, recorded elapsed_s (metadata+audio+visual)", R.fmt(), f"{R.median / W.median:.0%}"],
            ["extraction, scenes.json decode.elapsed_s (visual only)", J.fmt(), f"{J.median / W.median:.0%}"],
        ],
        title=f"Batch of {len(files)} clips, {args.reps} runs (fresh DAGSTER_HOME each)",
    )
    print(
        f"peak RSS of the CLI process: {statistics.median(rss):.0f} MB; other processes during the CLI runs: "
        f"{', '.join(f'{x:.2f}' for x in others)} cores"
    )
    print(
        f"overhead share (wall outside extraction): core {share_core:.1%}, recorded {share_rec:.1%}, "
        f"json-visual-only {share_json:.1%}; target < {TARGET_SHARE:.0%} (verdict on 'core')"
    )
    missed = []
    if share_core >= TARGET_SHARE:
        missed.append(f"overhead share {share_core:.1%} >= {TARGET_SHARE:.0%}")
    return common.report(
        "batch",
        {
            "machine": info,
            "clips": len(files),
            "wall": W.as_dict(),
            "fixed_cost": F.as_dict(),
            "inside_runs": RI.as_dict(),
            "runs": nruns,
            "core": C.as_dict(),
            "recorded": R.as_dict(),
            "json_visual": J.as_dict(),
            "share_core": share_core,
            "share_recorded": share_rec,
            "share_json": share_json,
            "cli_peak_rss_mb": rss,
            "others_cores": others,
            "missed": missed,
            "elapsed_s": time.perf_counter() - started,
        },
        missed,
        "batch overhead target met",
    )


if __name__ == "__main__":
    sys.exit(main())
