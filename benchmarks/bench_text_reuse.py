"""On-screen text read once per layout (``text_reuse``) against the full OCR on every frame: time and recall.

    .venv/bin/python benchmarks/bench_text_reuse.py [--clips 30] [--reps 1]

Inputs, each frame with the text the full reading finds on it as the reference:

- the keyframes of ``--clips`` generated 10-second 720p talk clips (common.generated_talk_clips: three shots of
  real footage with their own cuts, a caption over a translucent box, footage that sometimes holds text);
- the keyframes of the shared media's videos (bench_vision's list, cached the same way);
- the OCR truth images of the shared media (single images: each is the first frame of its "video", so the
  cheap look decides alone whether it is read).

Both modes run the ``detections`` pipeline with OCR only (``VisionPipeline``, the resource's default workers),
the models loaded before timing. Reported: wall seconds and ms per frame, what OCR did per frame, and recall:
the share of the full reading's lines (exact text) that the reuse mode reports on the same frame, plus any lines
it reports that the full reading does not (precision). Target (issue 13): recall 1.0 on the truth images, and
no loss on the videos.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_vision
import common

from media_assets.core.vision.batching import FrameRef, VisionPipeline
from media_assets.core.vision.ocr import OcrParams, RapidOcrEngine
from resources.vision import VisionModels

TALK_KF_CACHE = common.CACHE_DIR / "talk_keyframes"


def talk_keyframes(n: int) -> list[tuple[str, Path]]:
    """(key, visual-pass folder) of the first ``n`` talk clips, made once."""
    from media_assets.core.scenes_keyframes import analyze_video

    out = []
    for clip in sorted(common.generated_talk_clips(50).glob("*.mp4"))[:n]:
        folder = TALK_KF_CACHE / clip.stem
        if not (folder / "keyframes.json").exists():
            TALK_KF_CACHE.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=TALK_KF_CACHE, prefix=".tmp-"))
            result = analyze_video(clip, tmp)
            doc = {"has_video": True, "keyframes": [k.model_dump(mode="json") for k in result.keyframes]}
            (tmp / "keyframes.json").write_text(json.dumps(doc))
            os.replace(tmp, folder)
        out.append((clip.stem, folder))
    return out


def truth_images() -> list[tuple[list[FrameRef], dict[tuple[str, str], Path]]]:
    refs, files = [], {}
    for path in sorted((common.media_dir() / "images").iterdir()):
        key = f"image-{path.stem}"
        refs.append(FrameRef(key, "keyframe", 0, 0, 0.0, path.name, 0, 0))
        files[(key, path.name)] = path
    return [(refs, files)]


def run(pipeline: VisionPipeline, refs: list[FrameRef], files: dict[tuple[str, str], Path]) -> tuple[float, dict]:
    t = time.perf_counter()
    result = pipeline.run(refs, lambda r: files[(r.key, r.image)].read_bytes())
    wall = time.perf_counter() - t
    texts = {(f_key, f.index): [line.text for line in f.text] for f_key, fs in result.frames.items() for f in fs}
    return wall, {"texts": texts, "plan": result.stats.text_frames, "ms": result.stats.as_dict()["ms_per_image"]}


def score(full: dict, reuse: dict) -> dict:
    want = sum(len(v) for v in full.values())
    found = extra = frames_equal = 0
    differences = []
    for k, lines in full.items():
        if reuse.get(k, []) != lines:
            differences.append({"frame": list(k), "full": lines, "reuse": reuse.get(k, [])})
        got = list(reuse.get(k, []))
        for line in lines:
            if line in got:
                got.remove(line)
                found += 1
        extra += len(got)
        frames_equal += reuse.get(k, []) == lines
    return {
        "lines": want,
        "recall": round(found / want, 4) if want else 1.0,
        "extra_lines": extra,
        "frames_identical": f"{frames_equal}/{len(full)}",
        "differences": differences,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=30)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()

    sets: dict[str, tuple[list[FrameRef], dict[tuple[str, str], Path]]] = {}
    refs, files = [], {}
    for key, folder in talk_keyframes(args.clips):
        for r in bench_vision.refs_of(key, folder):
            if r.image:
                refs.append(r)
                files[(key, r.image)] = folder / r.image
    sets[f"{args.clips} talk clips (720p keyframes)"] = (refs, files)
    refs, files = [], {}
    for rel in bench_vision.VIDEOS:
        try:
            folder = bench_vision.keyframes_of(rel)
        except Exception as exc:  # the broken files that do not decode at all
            print(f"skipped {rel}: {type(exc).__name__}")
            continue
        key = rel.replace("/", "__")
        for r in bench_vision.refs_of(key, folder):
            if r.image:
                refs.append(r)
                files[(key, r.image)] = folder / r.image
    sets["shared media videos (keyframes)"] = (refs, files)
    sets["OCR truth images"] = truth_images()[0]

    resource = VisionModels(mode="cpu_only")
    runtime = resource.runtime()
    base = resource.ocr_params()
    engines = {
        "full reading of every frame": RapidOcrEngine(OcrParams(**{**vars(base), "gate_side_len": 0}), runtime),
        "read once per layout (default)": RapidOcrEngine(base, runtime),
    }
    workers = resource.n_workers()
    rows, raw, missed = [], {}, []
    for set_name, (refs, files) in sets.items():
        common.wait_for_quiet()
        walls: dict[str, list[float]] = {name: [] for name in engines}
        outs: dict[str, dict] = {}
        for _ in range(args.reps):
            for name, engine in engines.items():
                pipeline = VisionPipeline(ocr=engine, workers=workers, batch_size=resource.batch_size)
                wall, out = run(pipeline, refs, files)
                walls[name].append(wall)
                outs[name] = out
        full, reuse = outs["full reading of every frame"], outs["read once per layout (default)"]
        s = score(full["texts"], reuse["texts"])
        t_full, t_reuse = min(walls["full reading of every frame"]), min(walls["read once per layout (default)"])
        rows.append(
            [set_name, len(refs), round(t_full, 2), round(t_reuse, 2), round(t_full / t_reuse, 2),
             round(1000 * t_reuse / len(refs)), s["recall"], s["extra_lines"], s["frames_identical"],
             ", ".join(f"{k} {v}" for k, v in reuse["plan"].items())]
        )  # fmt: skip
        raw[set_name] = {"frames": len(refs), "full_s": walls["full reading of every frame"],
                         "reuse_s": walls["read once per layout (default)"], **s, "plan": reuse["plan"],
                         "ms_per_image": reuse["ms"]}  # fmt: skip
        for d in s["differences"]:
            print(f"  {set_name}: {d}")
        if s["recall"] < 1.0:
            missed.append(f"{set_name}: recall {s['recall']} < 1.0 against the full reading")
    common.print_table(
        ["frames of", "frames", "full s", "reuse s", "speed-up", "reuse ms/frame", "recall", "extra lines",
         "frames identical", "what OCR did (reuse)"],
        rows,
        title=f"OCR read once per layout against every frame read in full, {workers} workers",
    )  # fmt: skip
    return common.report("text_reuse", {"machine": common.machine_info(), "sets": raw}, missed, "recall kept")


if __name__ == "__main__":
    raise SystemExit(main())
