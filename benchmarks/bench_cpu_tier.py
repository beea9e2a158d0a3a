"""CPU tier against PySceneDetect and against the decode floor, plus cut accuracy on the truth set.

    .venv/bin/python benchmarks/bench_cpu_tier.py [--reps 5] [--skip-accuracy] [--skip-cli]

On the same generated 60 s 720p and 1080p H.264 files (see common.generated_video), timed in-process after a
warm-up (interpreter start-up and imports excluded), round-robin so background load hits all alike:

- PSD      PySceneDetect 0.7.2 default content detection: ``scenedetect.detect(path, ContentDetector())``
           (OpenCV backend, automatic downscale: the library's defaults);
- floor    PyAV decode of every frame of the video stream, ``thread_type="AUTO"``, nothing else;
- ours     probe + extract_audio + analyze_video (keyframes, thumbnails and contact sheet written to a
           temporary folder), i.e. everything the CPU tier computes for a file.

Also, for reference, the wall time of the CLI ``scenedetect -i FILE detect-content list-scenes -n`` (child
process, so it includes interpreter start-up and imports).

Targets (exit status 1 if any is missed): PSD / ours >= 2.0 and ours / floor <= 1.5 at both resolutions.

Cut accuracy: precision / recall / F1 at +-1 frame, pooled over the truth set (common.hard_cut_truth) and,
separately, over the two generated files (constructed truth common.GENERATED_CUTS). Ours = transitions of
kind "cut"; PSD = start frames of its scenes after the first.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import av
import common
from cpu_tier import run_cpu_tier
from scenedetect import ContentDetector, detect

from media_assets.core.scenes_keyframes import analyze_video

TARGET_PSD_OVER_OURS = 2.0
TARGET_OURS_OVER_FLOOR = 1.5


def psd_cuts(path: Path) -> list[int]:
    scenes = detect(str(path), ContentDetector())
    return [s[0].frame_num for s in scenes[1:]]


def our_cuts(path: Path) -> list[int]:
    r = analyze_video(path)
    return [t.frame for t in r.transitions if t.kind == "cut"]


def decode_floor(path: Path) -> int:
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            n += 1
    return n


def bench_speed(files: dict[str, Path], reps: int, with_cli: bool) -> tuple[dict, list[str]]:
    results: dict[str, dict] = {}
    missed: list[str] = []
    scenedetect_exe = str(Path(sys.executable).with_name("scenedetect"))
    for res, path in files.items():
        print(f"\n== {res}: {path.name} ==", flush=True)
        work = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
        stage_runs: list[dict] = []
        last_psd: list[int] = []
        counter = iter(range(10**6))

        def run_psd(path: Path = path) -> None:
            nonlocal last_psd
            last_psd = psd_cuts(path)

        def run_floor(path: Path = path) -> None:
            decode_floor(path)

        def run_ours(path: Path = path, work: Path = work, runs: list = stage_runs, counter=counter) -> None:
            runs.append(run_cpu_tier(path, work / f"run{next(counter)}"))

        t = common.interleaved({"psd": run_psd, "floor": run_floor, "ours": run_ours}, n=reps, warmup=1)
        stage_runs = stage_runs[1:]  # drop the warm-up
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        psd_over_ours = [p / o for p, o in zip(t["psd"].runs, t["ours"].runs, strict=True)]
        ours_over_floor = [o / f for o, f in zip(t["ours"].runs, t["floor"].runs, strict=True)]
        entry = {
            "file": str(path),
            "psd": t["psd"].as_dict(),
            "floor": t["floor"].as_dict(),
            "ours": t["ours"].as_dict(),
            "stages": {
                k: common.Timing([r[k] for r in stage_runs]).as_dict() for k in ("probe_s", "audio_s", "visual_s")
            },
            "frames_decoded_ours": stage_runs[-1]["frames_decoded"],
            "frames_total": stage_runs[-1]["frames_total"],
            "ratio_psd_over_ours": {
                "of_medians": t["psd"].median / t["ours"].median,
                "per_round_median": statistics.median(psd_over_ours),
                "min": min(psd_over_ours),
                "max": max(psd_over_ours),
            },
            "ratio_ours_over_floor": {
                "of_medians": t["ours"].median / t["floor"].median,
                "per_round_median": statistics.median(ours_over_floor),
                "min": min(ours_over_floor),
                "max": max(ours_over_floor),
            },
            "ratio_by_cpu_time": {
                "psd_over_ours": t["psd"].cpu_median / t["ours"].cpu_median,
                "ours_over_floor": t["ours"].cpu_median / t["floor"].cpu_median,
            },
            "psd_cuts": last_psd,
            "ours_cuts": stage_runs[-1]["cuts"],
        }
        if with_cli:
            with tempfile.TemporaryDirectory() as cwd:
                cli_t, _ = common.repeat_child(
                    [scenedetect_exe, "-i", str(path), "detect-content", "list-scenes", "-n"], n=reps, cwd=cwd
                )
            entry["psd_cli"] = cli_t.as_dict()
        results[res] = entry

        def row(name: str, tk: common.Timing) -> list:
            return [
                name,
                tk.fmt(),
                f"{tk.spread_pct():.0f}%",
                tk.fmt_cpu(),
                f"{tk.others_median:.2f}" if tk.others else "-",
            ]

        rows = [
            row("PySceneDetect detect(ContentDetector()) [library]", t["psd"]),
            row("PyAV decode floor (all frames, threads AUTO)", t["floor"]),
            row("ours: probe + extract_audio + analyze_video", t["ours"]),
        ]
        for k in ("probe_s", "audio_s", "visual_s"):
            rows.append(row(f"  ours, {k[:-2]} stage", common.Timing([r[k] for r in stage_runs])))
        if with_cli:
            rows.append(row("`scenedetect -i F detect-content list-scenes -n` [CLI]", cli_t))
        common.print_table(
            ["workload", "wall median [min-max]", "wall spread", "CPU median [min-max]", "other procs (cores)"],
            rows,
            title=f"{res}: {reps} interleaved runs after 1 warm-up",
        )
        r1, r2 = entry["ratio_psd_over_ours"], entry["ratio_ours_over_floor"]
        print(
            f"PSD / ours   = {r1['of_medians']:.2f} (per-round {r1['min']:.2f}-{r1['max']:.2f}); "
            f"target >= {TARGET_PSD_OVER_OURS}"
        )
        print(
            f"ours / floor = {r2['of_medians']:.2f} (per-round {r2['min']:.2f}-{r2['max']:.2f}); "
            f"target <= {TARGET_OURS_OVER_FLOOR}"
        )
        rc = entry["ratio_by_cpu_time"]
        print(f"by CPU time: PSD / ours = {rc['psd_over_ours']:.2f}, ours / floor = {rc['ours_over_floor']:.2f}")
        print(f"ours decoded {entry['frames_decoded_ours']} of {entry['frames_total']} frames", flush=True)
        if r1["of_medians"] < TARGET_PSD_OVER_OURS:
            missed.append(f"{res}: PSD/ours = {r1['of_medians']:.2f} < {TARGET_PSD_OVER_OURS}")
        if r2["of_medians"] > TARGET_OURS_OVER_FLOOR:
            missed.append(f"{res}: ours/floor = {r2['of_medians']:.2f} > {TARGET_OURS_OVER_FLOOR}")
    return results, missed


def bench_accuracy(speed: dict) -> dict:
    media = common.media_dir()
    truth = common.hard_cut_truth()
    rows = []
    pooled = {"psd": common.CutScore(), "ours": common.CutScore()}
    per_file = {}
    for rel, cuts in truth.items():
        p = psd_cuts(media / rel)
        o = our_cuts(media / rel)
        sp, so = common.score_cuts(p, cuts), common.score_cuts(o, cuts)
        pooled["psd"].add(sp)
        pooled["ours"].add(so)
        per_file[rel] = {"truth": cuts, "psd": p, "ours": o}
        rows.append([rel, cuts, p, f"{sp.tp}/{sp.fp}/{sp.fn}", o, f"{so.tp}/{so.fp}/{so.fn}"])
    common.print_table(
        ["file", "truth", "PSD cuts", "PSD tp/fp/fn", "our cuts", "ours tp/fp/fn"],
        rows,
        title="Hard cuts on the truth set (+-1 frame)",
    )
    gen = {"psd": common.CutScore(), "ours": common.CutScore()}
    grows = []
    for e in speed.values():
        sp = common.score_cuts(e["psd_cuts"], common.GENERATED_CUTS)
        so = common.score_cuts(e["ours_cuts"], common.GENERATED_CUTS)
        gen["psd"].add(sp)
        gen["ours"].add(so)
        grows.append(
            [
                Path(e["file"]).name,
                list(common.GENERATED_CUTS),
                e["psd_cuts"],
                f"{sp.tp}/{sp.fp}/{sp.fn}",
                e["ours_cuts"],
                f"{so.tp}/{so.fp}/{so.fn}",
            ]
        )
    if grows:
        common.print_table(
            ["file", "truth", "PSD cuts", "PSD tp/fp/fn", "our cuts", "ours tp/fp/fn"],
            grows,
            title="Hard cuts on the generated files (constructed truth, +-1 frame)",
        )
    # the same pooled scores with no tolerance (exact frame), for information
    exact = {
        "truth set": {"psd": common.CutScore(), "ours": common.CutScore()},
        "generated": {"psd": common.CutScore(), "ours": common.CutScore()},
    }
    for d in per_file.values():
        for tool in ("psd", "ours"):
            exact["truth set"][tool].add(common.score_cuts(d[tool], d["truth"], tol=0))
    for e in speed.values():
        exact["generated"]["psd"].add(common.score_cuts(e["psd_cuts"], common.GENERATED_CUTS, tol=0))
        exact["generated"]["ours"].add(common.score_cuts(e["ours_cuts"], common.GENERATED_CUTS, tol=0))
    srows = []
    for name, d in (("truth set", pooled), ("generated", gen)):
        for tool in ("psd", "ours"):
            s, x = d[tool], exact[name][tool]
            srows.append(
                [
                    name,
                    "PySceneDetect default" if tool == "psd" else "ours (kind=cut)",
                    f"{s.tp}/{s.fp}/{s.fn}",
                    s.precision,
                    s.recall,
                    s.f1,
                    x.f1,
                ]
            )
    common.print_table(
        ["set", "tool", "tp/fp/fn", "precision", "recall", "F1", "F1 at +-0"],
        srows,
        title="Cut accuracy, pooled (+-1 frame; last column: exact frame)",
    )
    return {
        "per_file": per_file,
        "pooled": {
            k: {"tp": v.tp, "fp": v.fp, "fn": v.fn, "precision": v.precision, "recall": v.recall, "f1": v.f1}
            for k, v in pooled.items()
        },
        "generated": {
            k: {"tp": v.tp, "fp": v.fp, "fn": v.fn, "precision": v.precision, "recall": v.recall, "f1": v.f1}
            for k, v in gen.items()
        },
        "f1_exact_frame": {n: {k: v.f1 for k, v in d.items()} for n, d in exact.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5, help="timed runs per workload (default 5)")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-cli", action="store_true", help="do not time the scenedetect CLI")
    ap.add_argument("--res", default="720p,1080p", help="comma-separated: 720p,1080p")
    args = ap.parse_args()
    info = common.machine_info()
    print("machine:", info, flush=True)
    files = {r: common.generated_video(r) for r in args.res.split(",")}
    started = time.perf_counter()
    speed, missed = bench_speed(files, args.reps, not args.skip_cli)
    acc = None if args.skip_accuracy else bench_accuracy(speed)
    return common.report(
        "cpu_tier",
        {
            "machine": info,
            "reps": args.reps,
            "speed": speed,
            "accuracy": acc,
            "missed": missed,
            "elapsed_s": time.perf_counter() - started,
        },
        missed,
        "all speed targets met",
    )


if __name__ == "__main__":
    sys.exit(main())
