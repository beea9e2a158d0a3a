"""Throughput of the whole pipeline, the way users wait for it: clips per hour, each asset's share, Dagster's share.

    .venv/bin/python benchmarks/bench_throughput.py [--clips 50] [--skip-cli] [--skip-daemon] [--hour MINUTES]

Inputs: ``--clips`` distinct 10-second 720p talk-style clips (common.generated_talk_clips: three shots of real
footage from the shared media with hard cuts, a caption overlay, espeak-ng speech), generated once into
benchmarks/.cache/.

Paths, each on a fresh Dagster instance and store in a temporary folder, with the default (balanced) preset:

- cli     one ``media-assets process DIR`` call (child process; wall time includes start-up and the summary);
- daemon  the production path: ``dagster-daemon run`` with the project's instance config; the clips are dropped
          into the inbox once the daemon is up, and the clock runs from the drop until every clip's ``timeline``
          is materialized (sensor ticks, queueing and run start-up included);
- hour    (``--hour 60``) one file of that many minutes of the same talk clips through ``process``.

For each: wall time, clips per hour, CPU time (all processes of the machine; run it on a quiet machine), peak
RSS (the CLI child; for the daemon path, the largest sum over the daemon's process tree, sampled every 0.25 s),
each asset's share (its partitions' ``cost/wall_s`` from the catalog, which includes their share of batched
inference, over the summed work), and the share of wall time outside every step (from STEP_START to the step's
end in the event log): start-up, imports, step process start-up, run queueing, sensor latency. The "work floor"
is the summed asset work: what the same functions cost without Dagster around them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import dagster as dg

from media_assets.instance import get_instance

ENTRY = Path(sys.executable).parent / "media-assets"
DAEMON = Path(sys.executable).parent / "dagster-daemon"
TARGET_CLIPS_PER_HOUR = 1000
TARGET_DAGSTER_SHARE = 0.10
TARGET_DAEMON_RATIO = 1.3
TARGET_HOUR_S = 12 * 60
TARGET_HOUR_RSS_MB = 2048


def clean_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIA_ASSETS_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(work / "home"),
        MEDIA_ASSETS_STORE_ROOT=str(work / "store"),
        MEDIA_ASSETS_INBOX=str(work / "inbox"),
    )
    if os.environ.get("MEDIA_ASSETS_TEST_MEDIA"):
        env["MEDIA_ASSETS_TEST_MEDIA"] = os.environ["MEDIA_ASSETS_TEST_MEDIA"]
    return env


def _union(intervals: list[tuple[float, float]]) -> float:
    covered, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            covered += b - max(a, end)
            end = b
    return covered


def step_seconds(home: Path) -> float:
    """Wall seconds during which at least one step function was running (STEP_START to its end, event log)."""
    ends = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"}
    intervals = []
    with get_instance(home) as instance:
        for run in instance.get_runs():
            started: dict[str, float] = {}
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None or not event.step_key:
                    continue
                if event.event_type_value == "STEP_START":
                    started[event.step_key] = entry.timestamp
                elif event.event_type_value in ends and event.step_key in started:
                    intervals.append((started.pop(event.step_key), entry.timestamp))
    return _union(intervals)


def run_timeline(home: Path, t0: float) -> dict:
    """Where the daemon path's time outside the steps goes: from the drop to the first run's creation (sensor
    latency), to its start (queue and launch), to its first step (run worker start-up), and the runs' count."""
    with get_instance(home) as instance:
        records = sorted(instance.get_run_records(), key=lambda r: r.create_timestamp.timestamp())
        if not records:
            return {}
        first = records[0]
        logs = [e for e in instance.all_logs(first.dagster_run.run_id) if e.dagster_event is not None]
        steps = [e.timestamp for e in logs if e.dagster_event.event_type_value == "STEP_START"]
        marks = {e.dagster_event.event_type_value: e.timestamp for e in reversed(logs)}  # the first of each
        created = first.create_timestamp.timestamp()
        started = first.start_time or created
        out = {
            "runs": len(records),
            "drop_to_run_created_s": round(created - t0, 1),
            "created_to_started_s": round(started - created, 1),
            "started_to_first_step_s": round(min(steps) - started, 1) if steps else None,
        }
        # the queue and the launch: dequeued by the run coordinator, its worker process launched, running
        for name in ("PIPELINE_DEQUEUED", "PIPELINE_STARTING", "PIPELINE_START"):  # RUN_* in the UI
            if name in marks:
                out[f"created_to_{name.replace('PIPELINE', 'run').lower()}_s"] = round(marks[name] - created, 1)
        return out


def work_breakdown(store: Path, home: Path) -> dict:
    """Per-asset work seconds (each partition's ``cost/wall_s``, which includes its share of batched inference)
    from the catalog, and the wall seconds spent inside steps."""
    db = store / "_index" / "catalog.sqlite"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT asset, result FROM video_results").fetchall()
        failed = conn.execute("SELECT count(*) FROM processing_jobs WHERE status != 'ok'").fetchone()[0]
    per_asset: dict[str, float] = {}
    for asset, result in rows:
        meta = json.loads(result).get("metadata", {})
        per_asset[asset] = per_asset.get(asset, 0.0) + float(meta.get("cost/wall_s") or meta.get("elapsed_s") or 0)
    return {
        "per_asset": per_asset,
        "work_s": sum(per_asset.values()),
        "in_steps_s": step_seconds(home),
        "failed_jobs": failed,
    }


def summarise(name: str, n: int, wall: float, cpu: float, rss_mb: float, breakdown: dict) -> dict:
    outside = max(0.0, wall - breakdown["in_steps_s"])
    return {
        "path": name,
        "clips": n,
        "wall_s": round(wall, 1),
        "clips_per_hour": round(n / wall * 3600),
        "cpu_s": round(cpu, 1),
        "cores_busy": round(cpu / wall, 2),
        "peak_rss_mb": round(rss_mb),
        "work_s": round(breakdown["work_s"], 1),
        "in_steps_s": round(breakdown["in_steps_s"], 1),
        "outside_steps_share": round(outside / wall, 3),
        "asset_share": {
            a: round(s / breakdown["work_s"], 3) for a, s in sorted(breakdown["per_asset"].items(), key=lambda x: -x[1])
        },
        "failed_jobs": breakdown["failed_jobs"],
    }


def run_cli(inputs: Path, n: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench_tp_cli_"))
    try:
        env = clean_env(work)
        common.wait_for_quiet()
        b0 = common.cpu_busy_s()
        r = common.run_child([str(ENTRY), "process", str(inputs), "--quiet", "--json"], env=env, cwd=work)
        cpu = common.cpu_busy_s() - b0
        if r.returncode != 0:
            print(r.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"process failed ({r.returncode})")
        breakdown = work_breakdown(work / "store", work / "home")
        return summarise("cli: one process call", n, r.wall_s, cpu, r.maxrss_mb, breakdown)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _tree_rss_mb(pid: int) -> float:
    """Summed RSS of ``pid`` and its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total / 2**20


def _materialized(instance: dg.DagsterInstance) -> tuple[int, int]:
    """(timeline partitions materialized, runs not finished), from an instance kept open by the caller (opening
    one costs about a second of CPU, which would be charged to the path being measured)."""
    done = len(instance.get_materialized_partitions(dg.AssetKey("timeline")))
    active_statuses = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
    ]
    return done, instance.get_runs_count(dg.RunsFilter(statuses=active_statuses))


def run_daemon(inputs: Path, n: int, timeout_s: float, executor: str, slots: int | None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench_tp_daemon_"))
    env = {**clean_env(work), "MEDIA_ASSETS_EXECUTOR": executor}
    (work / "inbox").mkdir()
    with get_instance(work / "home") as instance:  # the project's dagster.yaml
        if slots:
            instance.event_log_storage.set_concurrency_slots("accelerator", slots)
    log = (work / "daemon.log").open("w")
    common.wait_for_quiet()
    daemon = subprocess.Popen(
        [str(DAEMON), "run", "-m", "media_assets.definitions"],
        env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(20)  # the daemon and its code server are up; the sensor ticks on its own interval
        b0 = common.cpu_busy_s()
        t0 = time.time()
        for clip in sorted(inputs.glob("*.mp4")):
            shutil.copy2(clip, work / "inbox" / clip.name)
        peak, done, active = 0.0, 0, 0
        deadline = time.monotonic() + timeout_s
        last_check = 0.0
        with get_instance(work / "home") as instance:
            while time.monotonic() < deadline:
                peak = max(peak, _tree_rss_mb(daemon.pid))
                if time.monotonic() - last_check > 1:
                    last_check = time.monotonic()
                    done, active = _materialized(instance)
                    if done >= n and active == 0:
                        break
                if daemon.poll() is not None:
                    raise SystemExit(f"dagster-daemon exited ({daemon.returncode}); see {work / 'daemon.log'}")
                time.sleep(0.5)
        wall = time.time() - t0
        cpu = common.cpu_busy_s() - b0
        if done < n:
            raise SystemExit(f"only {done} of {n} clips done after {timeout_s:.0f} s; see {work / 'daemon.log'}")
        timeline = run_timeline(work / "home", t0)
        print(f"daemon path timeline: {timeline}", flush=True)
        name = f"daemon: inbox sensor + daemon ({executor}{f', {slots} accelerator slots' if slots else ''})"
        return {**summarise(name, n, wall, cpu, peak, work_breakdown(work / "store", work / "home")), **timeline}
    finally:
        os.killpg(daemon.pid, 15)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, 9)
        shutil.rmtree(work, ignore_errors=True)


def run_hour(minutes: int) -> dict:
    src = common.generated_talk_hour(minutes)
    work = Path(tempfile.mkdtemp(prefix="bench_tp_hour_"))
    try:
        (work / "in").mkdir()
        os.symlink(src, work / "in" / src.name)
        env = clean_env(work)
        common.wait_for_quiet()
        b0 = common.cpu_busy_s()
        r = common.run_child([str(ENTRY), "process", str(work / "in"), "--quiet", "--json"], env=env, cwd=work)
        cpu = common.cpu_busy_s() - b0
        if r.returncode != 0:
            print(r.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"process failed ({r.returncode})")
        out = summarise(f"hour: {minutes} min in one file", 1, r.wall_s, cpu, r.maxrss_mb,
                        work_breakdown(work / "store", work / "home"))  # fmt: skip
        out["media_min"] = minutes
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=50)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-daemon", action="store_true")
    parser.add_argument("--hour", type=int, default=0, metavar="MINUTES", help="also one file of MINUTES minutes")
    parser.add_argument(
        "--executor",
        nargs="+",
        default=[os.environ.get("MEDIA_ASSETS_EXECUTOR", "in_process")],
        choices=["multiprocess", "forkserver", "in_process"],
        help="daemon path: MEDIA_ASSETS_EXECUTOR (several: one run each, the last judged)",
    )
    parser.add_argument("--accelerator-slots", type=int, default=None, help="daemon path: accelerator pool limit")
    parser.add_argument("--timeout", type=float, default=3600.0, help="daemon path: give up after this long")
    args = parser.parse_args()
    inputs = common.generated_talk_clips(args.clips)
    results: list[dict] = []
    if not args.skip_cli:
        results.append(run_cli(inputs, args.clips))
        print(results[-1], flush=True)
    if not args.skip_daemon:
        for method in args.executor:
            results.append(run_daemon(inputs, args.clips, args.timeout, method, args.accelerator_slots))
            print(results[-1], flush=True)
    if args.hour:
        results.append(run_hour(args.hour))
        print(results[-1], flush=True)

    rows = [
        [r["path"], r["clips"], r["wall_s"], r["clips_per_hour"], r["cpu_s"], r["cores_busy"], r["peak_rss_mb"],
         r["work_s"], f"{r['outside_steps_share']:.1%}",
         ", ".join(f"{a} {s:.0%}" for a, s in list(r["asset_share"].items())[:6])]
        for r in results
    ]  # fmt: skip
    common.print_table(
        ["path", "clips", "wall s", "clips/h", "CPU s", "cores busy", "peak RSS MB", "work floor s",
         "outside steps", "largest asset shares"],
        rows,
        title=f"Throughput, {args.clips} ten-second 720p talk clips, balanced preset",
    )  # fmt: skip
    missed: list[str] = []
    by_path = {r["path"].split(":")[0]: r for r in results}
    for name in ("cli", "daemon"):
        r = by_path.get(name)
        if r and r["clips_per_hour"] < TARGET_CLIPS_PER_HOUR:
            missed.append(f"{name}: {r['clips_per_hour']} clips/h < {TARGET_CLIPS_PER_HOUR}")
        if r and r["outside_steps_share"] > TARGET_DAGSTER_SHARE:
            missed.append(f"{name}: {r['outside_steps_share']:.0%} of wall outside the steps > 10%")
    if "cli" in by_path and "daemon" in by_path:
        ratio = by_path["daemon"]["wall_s"] / by_path["cli"]["wall_s"]
        print(f"daemon / cli wall: {ratio:.2f} (target <= {TARGET_DAEMON_RATIO})")
        if ratio > TARGET_DAEMON_RATIO:
            missed.append(f"daemon path {ratio:.2f}x the CLI > {TARGET_DAEMON_RATIO}")
    if "hour" in by_path:
        h = by_path["hour"]
        scaled = h["wall_s"] * 60 / h["media_min"]
        print(
            f"one hour of video: {scaled / 60:.1f} min (scaled from {h['media_min']} min), peak RSS {h['peak_rss_mb']}"
        )
        if scaled > TARGET_HOUR_S or h["peak_rss_mb"] > TARGET_HOUR_RSS_MB:
            missed.append(f"hour: {scaled / 60:.1f} min, {h['peak_rss_mb']} MB (targets 12 min, 2048 MB)")
    return common.report("throughput", {"results": results}, missed, "all throughput targets met")


if __name__ == "__main__":
    sys.exit(main())
