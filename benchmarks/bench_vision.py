"""Vision tier: batched across partitions against one image at a time, on the keyframes of 20 videos.

    .venv/bin/python benchmarks/bench_vision.py [--reps 1] [--videos 20] [--no-dagster]

Inputs: 20 video files of the shared media (video/, formats/ and the broken files that still decode); their
keyframes come from ``media_assets.core.scenes_keyframes.analyze_video`` (cached in
benchmarks/.cache/vision_keyframes/).
Models load once, before any timing (their load times are reported).

- per model: ms per image at batch 1 (one call per image) and at batch 32 (one call), on the same 32 keyframes,
  after a warm-up, and the 32 split over two threads sharing one session with one intra-op thread (CenterNet
  has a fixed batch of 1: its gains can only come from such inter-image parallelism);
- whole tier: every distinct keyframe of the 20 videos through objects + faces + OCR,
  * one-at-a-time: video after video, image after image: read + decode, then each model on that one image;
  * batched: ``VisionPipeline`` (the asset's code path): all videos' images in batches of 32, image reading
    and decoding in a prefetch thread overlapping inference; with 1 worker (sessions use all cores), and with
    the resource's default of one worker thread per core, each session call using cores / workers threads;
  target: batched >= 1.5x the frames per second of one-at-a-time;
- Dagster: the ``detections`` asset over the 20 partitions in ONE run (keyframes written to a temporary
  store), to show from the run's metadata that each model was loaded once (``models_loaded``) and the time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common
import numpy as np

from media_assets.core.vision.batching import FrameRef, VisionPipeline, decode_image
from media_assets.core.vision.faces import RetinaFaceDetector
from media_assets.core.vision.objects import load_object_detector
from media_assets.core.vision.ocr import RapidOcrEngine
from media_assets.core.vision.onnx_runtime import resolve_runtime
from resources.vision import VisionModels

TARGET_RATIO = 1.5
VIDEOS = [
    "video/bbb_0_30.webm",
    "video/composite_bbb_cuts_jfk_speech.mp4",
    "video/megamind.avi",
    "video/opencv_vtest.avi",
    "video/psd_counter.mp4",
    "video/psd_delayed_start.mp4",
    "video/psd_fades.mp4",
    "video/psd_testvideo.mp4",
    "formats/bbb_seg_av1_opus.mp4",
    "formats/bbb_seg_h264_aac.mov",
    "formats/bbb_seg_hevc_aac.mkv",
    "formats/bbb_seg_mpeg2_mp2.ts",
    "formats/bbb_seg_rotate90.mp4",
    "formats/bbb_seg_vfr_drop3.mp4",
    "formats/bbb_seg_vp9_opus.webm",
    "formats/moviepy_transparent_vp9alpha.webm",
    "formats/opencv_tree_cinepak.avi",
    "broken/moviepy_no_duration.webm",
    "broken/truncated_faststart_60pct.mp4",
    "broken/corrupt_midfile_4k.mp4",
]
KF_CACHE = common.CACHE_DIR / "vision_keyframes"


def keyframes_of(rel: str) -> Path:
    """The visual pass's output folder for ``rel`` (keyframes.json + keyframes/), made once."""
    from media_assets.core.scenes_keyframes import analyze_video

    out = KF_CACHE / rel.replace("/", "__")
    if (out / "keyframes.json").exists():
        return out
    KF_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=KF_CACHE, prefix=".tmp-"))
    result = analyze_video(common.media_dir() / rel, tmp)
    doc = {
        "has_video": True,
        "video": result.video.model_dump(mode="json"),
        "contact_sheet": result.contact_sheet,
        "keyframes": [k.model_dump(mode="json") for k in result.keyframes],
    }
    (tmp / "keyframes.json").write_text(json.dumps(doc))
    os.replace(tmp, out)
    return out


def refs_of(key: str, folder: Path) -> list[FrameRef]:
    doc = json.loads((folder / "keyframes.json").read_text())
    refs = []
    for k in doc["keyframes"]:
        same = ("keyframe", k["duplicate_of"]) if k["duplicate_of"] is not None and not k["image"] else None
        refs.append(
            FrameRef(key, "keyframe", k["index"], k["frame"], k["time_s"], k["image"], k["width"], k["height"], same)
        )
    return refs


def one_at_a_time(objects, faces, ocr, refs: list[FrameRef], folders: dict[str, Path]) -> int:
    done = set()
    n = 0
    for r in refs:
        if r.image is None or r.same_as is not None or (r.key, r.image) in done:
            continue
        done.add((r.key, r.image))
        im = decode_image((folders[r.key] / r.image).read_bytes())
        objects.detect([im])
        faces.detect([im])
        ocr.recognize([im])
        n += 1
    return n


def dagster_run(folders: dict[str, Path], batch_size: int) -> dict:
    """The detections asset over every partition in one run; returns one partition's run-level metadata."""
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from media_assets.assets.detections import detections
    from resources.catalog import CatalogResource
    from resources.media_store import MediaStore
    from resources.processing import ProcessingSettings

    with tempfile.TemporaryDirectory(prefix="bench-vision-") as tmp:
        store = MediaStore(root=str(Path(tmp) / "store"))
        for key, folder in folders.items():
            store.publish_dir(key, "keyframes", folder / "keyframes")
            store.put_json(key, "keyframes.json", json.loads((folder / "keyframes.json").read_text()))
        keys = sorted(folders)
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("videos", keys)
        defs = dg.Definitions(
            assets=[detections],
            resources={
                "media_store": store,
                "processing": ProcessingSettings(),
                "catalog": CatalogResource(),
                "vision": VisionModels(mode="cpu_only", batch_size=batch_size),
            },
        )
        job = defs.resolve_implicit_global_asset_job_def()
        t = time.perf_counter()
        result = job.execute_in_process(
            instance=instance,
            tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]},
        )
        wall = time.perf_counter() - t
        metas = [
            {k: v.value for k, v in ev.event_specific_data.materialization.metadata.items()}
            for ev in result.get_asset_materialization_events()
        ]
    m = metas[0]
    return {
        "wall_s": round(wall, 2),
        "partitions": len(metas),
        "models_loaded": sorted({x["models_loaded"] for x in metas}),
        "model_load_s": m["model_load_s"],
        "run_frames": m["run_frames"],
        "run_vision_s": m["run_vision_s"],
        "status": sorted({x["status"] for x in metas}),
    }


def per_model(single: dict, parallel: dict, images: list[np.ndarray]) -> list[list]:
    """ms per image: batch 1 and batch 32 with the default session (all cores), and the batch split over two
    threads sharing a one-intra-op-thread session (what the pipeline does with 2 workers on 2 cores)."""
    rows = []
    half = len(images) // 2
    for name, fn in single.items():
        fn(images[:2])  # warm-up
        parallel[name](images[:2])
        t1 = time.perf_counter()
        for im in images:
            fn([im])
        b1 = 1000 * (time.perf_counter() - t1) / len(images)
        t32 = time.perf_counter()
        fn(images)
        b32 = 1000 * (time.perf_counter() - t32) / len(images)
        tw = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(parallel[name], [images[:half], images[half:]]))
        w2 = 1000 * (time.perf_counter() - tw) / len(images)
        rows.append([name, round(b1, 1), round(b32, 1), round(w2, 1), round(b1 / b32, 2), round(b1 / w2, 2)])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--no-dagster", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    folders: dict[str, Path] = {}
    t = time.perf_counter()
    for i, rel in enumerate(VIDEOS[: args.videos]):
        folders[f"v{i:02d}{'x' * 14}"] = keyframes_of(rel)
    print(f"keyframes of {len(folders)} videos ready in {time.perf_counter() - t:.1f}s", flush=True)
    refs = [r for key, folder in folders.items() for r in refs_of(key, folder)]
    distinct = {(r.key, r.image) for r in refs if r.image and r.same_as is None}
    print(f"{len(refs)} keyframes, {len(distinct)} distinct images", flush=True)

    runtime = resolve_runtime("cpu_only")  # ONNX Runtime defaults: one session thread per core
    loads = {}
    t = time.perf_counter()
    objects = load_object_detector(runtime=runtime)
    loads["objects (CenterNet)"] = time.perf_counter() - t
    t = time.perf_counter()
    faces = RetinaFaceDetector(runtime=runtime)
    loads["faces (RetinaFace)"] = time.perf_counter() - t
    t = time.perf_counter()
    ocr = RapidOcrEngine(runtime=runtime)
    loads["ocr (RapidOCR det+cls+rec)"] = time.perf_counter() - t
    # the resource's defaults on this machine: one worker per core, sessions with cores / workers threads
    vision = VisionModels(mode="cpu_only", batch_size=args.batch)
    workers, intra = vision.n_workers(), vision.runtime().intra_op_threads
    par = vision.pipeline()

    sample = sorted(distinct)[:: max(1, len(distinct) // 32)][:32]
    images = [decode_image((folders[k] / name).read_bytes()) for k, name in sample]
    common.wait_for_quiet()
    model_rows = per_model(
        {"objects": objects.detect, "faces": faces.detect, "ocr": ocr.recognize},
        {"objects": par.objects.detect, "faces": par.faces.detect, "ocr": par.ocr.recognize},
        images,
    )

    read = lambda r: (folders[r.key] / r.image).read_bytes()  # noqa: E731
    one_worker = VisionPipeline(objects, faces, ocr, batch_size=args.batch)
    modes = {
        "one image at a time": lambda: one_at_a_time(objects, faces, ocr, refs, folders),
        f"batched x{args.batch} + prefetch, 1 worker": lambda: one_worker.run(refs, read),
        f"batched x{args.batch} + prefetch, {workers} workers x {intra} thread (default)": lambda: par.run(refs, read),
    }
    names = list(modes)
    timings = {n: common.Timing() for n in names}
    counts: dict[str, int] = {}
    stats = None
    for _ in range(args.reps):
        for n, fn in modes.items():
            common.wait_for_quiet()
            wall, res, cpu, others = common.time_once(fn)
            timings[n].add(wall, cpu, others)
            counts[n] = res if isinstance(res, int) else res.stats.images
            if n == names[2]:
                stats = res.stats
    fps = {n: counts[n] / timings[n].median for n in names}
    ratio = fps[names[2]] / fps[names[0]]

    common.print_table(["model", "load s"], [[k, round(v, 2)] for k, v in loads.items()], "Model load (once per run)")
    common.print_table(
        ["model", "ms/img batch 1", f"batch {len(images)}", f"2 threads x batch {len(images) // 2}", "gain b32",
         "gain 2 threads"],
        model_rows,
        f"Per model, {len(images)} keyframes (2 threads share one session with {intra} intra-op thread)",
    )  # fmt: skip
    common.print_table(
        ["mode", "images", "wall median [min-max]", "CPU s", "others' cores", "images/s", "ms/keyframe"],
        [
            [n, counts[n], timings[n].fmt(), timings[n].fmt_cpu(), round(timings[n].others_median, 2),
             round(fps[n], 2), round(1000 / fps[n], 1)]
            for n in names
        ],
        f"Whole vision tier, {len(folders)} videos",
    )  # fmt: skip
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"\nbatched (default) / one-at-a-time = {ratio:.2f}x (target >= {TARGET_RATIO}x): {verdict}")
    cpu_ratio = (timings[names[0]].cpu_median / counts[names[0]]) / (timings[names[2]].cpu_median / counts[names[2]])
    print(f"CPU seconds per image, one-at-a-time / batched (default) = {cpu_ratio:.2f}x")
    print(f"default batched run: {stats.as_dict() if stats else None}")
    dag = None
    if not args.no_dagster:
        common.wait_for_quiet()
        dag = dagster_run(folders, args.batch)
        common.print_table(list(dag), [list(dag.values())], "Dagster: one run over all partitions")
    common.save_results(
        "bench_vision",
        {
            "machine": common.machine_info(),
            "videos": VIDEOS[: args.videos],
            "keyframes": len(refs),
            "images": len(distinct),
            "loads_s": loads,
            "per_model": model_rows,
            "workers": workers,
            "intra_op_threads": intra,
            "modes": {n: {**timings[n].as_dict(), "images": counts[n], "images_per_s": fps[n]} for n in names},
            "ratio": ratio,
            "cpu_ratio": cpu_ratio,
            "batched_stats": stats.as_dict() if stats else None,
            "dagster": dag,
        },
    )
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
