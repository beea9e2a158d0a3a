"""``detections``: objects, faces and on-screen text on the keyframes (and fixed-rate samples) of each video.

A run gathers the frames of all its partitions first and sends them through the models in shared batches
(``media_assets.core.vision.batching``), models loaded once by the ``vision`` resource; then each partition
gets its own detections.json, events.json (text events and object tracks) and a contact sheet with the boxes.
The ``accelerator`` pool keeps concurrent runs from oversubscribing the GPU (or the CPU cores).
"""

import tempfile
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np

from media_assets.assets.common import asset_args, image_markdown, release_models
from media_assets.assets.runner import require_ok, results, run_partitions
from media_assets.core.cost import CostMeter
from media_assets.core.vision.batching import FrameRef, PipelineResult
from media_assets.core.vision.draw import contact_sheet
from media_assets.core.vision.events import build_events
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from resources.vision import VisionModels

POOL = "accelerator"
CONTACT_SHEET = "detections/contact_sheet.jpg"
MAX_TILES = 48


def frame_refs(store: MediaStore, key: str) -> list[FrameRef] | None:
    """The frames to analyse: every keyframe plus every sample of samples.json (when the visual pass wrote
    one). None for inputs without video. Duplicate keyframes, samples that are keyframes and samples with the
    pixels of an earlier sample share results."""
    kf = store.get_json(key, "keyframes.json")
    if not kf.get("has_video", False):
        return None
    refs: list[FrameRef] = []
    by_frame: dict[int, int] = {}
    for k in kf.get("keyframes", []):
        dup = k.get("duplicate_of")
        same = ("keyframe", int(dup)) if dup is not None and not k.get("image") else None
        refs.append(_ref(key, "keyframe", k, same))
        if k.get("image"):
            by_frame.setdefault(int(k["frame"]), int(k["index"]))
    if store.exists(key, "samples.json"):
        for s in store.get_json(key, "samples.json").get("samples", []):
            kf_index = by_frame.get(int(s["frame"]))
            if kf_index is not None:
                same = ("keyframe", kf_index)
            elif s.get("duplicate_of") is not None and not s.get("image"):
                same = ("sample", int(s["duplicate_of"]))  # the same pixels as an earlier sample
            else:
                same = None
            refs.append(_ref(key, "sample", s, same))
    return refs


def _ref(key: str, source: Any, item: dict, same_as: Any) -> FrameRef:
    return FrameRef(
        key=key,
        source=source,
        index=int(item["index"]),
        frame=int(item["frame"]),
        time_s=float(item["time_s"]),
        image=item.get("image"),
        width=int(item.get("width") or 0),
        height=int(item.get("height") or 0),
        same_as=same_as,
    )


def _tile_refs(refs: list[FrameRef]) -> list[FrameRef]:
    """Frames shown on the contact sheet: distinct keyframe images (samples when there are none), spread out."""
    own = [r for r in refs if r.image and r.same_as is None]
    pool = [r for r in own if r.source == "keyframe"] or own
    if len(pool) <= MAX_TILES:
        return pool
    idx = np.linspace(0, len(pool) - 1, MAX_TILES).round().astype(int)
    return [pool[i] for i in sorted(set(idx.tolist()))]


@dg.asset(
    **asset_args("detections"),
    kinds={"python", "onnx"},
    description="COCO objects, faces with 5 landmarks and on-screen text (OCR) on every keyframe and sample, "
    "in detections.json; text events and object tracks over time in events.json; a contact sheet with the "
    "boxes. Frames of all partitions of a run are batched through models loaded once.",
)
def detections(
    context: dg.AssetExecutionContext,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
    vision: VisionModels,
):
    spec = processing.spec
    gathered: dict[str, list[FrameRef] | None] = {}
    problems: dict[str, Exception] = {}
    for key in context.partition_keys:
        try:
            require_ok(media_store, key, "keyframes")
            gathered[key] = frame_refs(media_store, key)
        except Exception as exc:  # recorded on the partition by run_partitions below
            problems[key] = exc
    refs = [r for found in gathered.values() if found for r in found]
    result: PipelineResult | None = None
    meter = CostMeter()
    if refs:
        with meter:
            pipeline = vision.pipeline(spec)  # the models load here, once for the whole run
            tiles = {r for key, found in gathered.items() if found for r in _tile_refs(found)}
            result = pipeline.run(refs, lambda r: media_store.get_bytes(r.key, r.image), thumbnails_for=tiles)
        s = result.stats
        context.log.info(
            f"vision: {s.frames} frames ({s.images} images) of {len(gathered)} partitions in {s.wall_s:.1f}s; "
            f"ms/image {s.as_dict()['ms_per_image']}; {vision.load_report()['models_loaded']} models loaded"
            + (f"; OCR per image {s.text_frames}" if s.text_frames else "")
        )
    runtime = vision.runtime()
    run_meta = {
        "mode": runtime.mode,
        "device": runtime.device,
        "providers": ", ".join(runtime.providers),
        "batch_size": vision.batch_size,
        "workers": vision.n_workers(),
        "intra_op_threads": runtime.intra_op_threads,
        **{k: v for k, v in vision.load_report().items() if k != "loads"},
        "run_partitions": len(gathered),
        "run_frames": result.stats.frames if result else 0,
        "run_vision_s": round(result.stats.wall_s, 3) if result else 0.0,
    }
    if result is not None and result.stats.text_frames:
        # what OCR did with this run's images: read in full, reused or re-read an earlier frame's text, none
        run_meta["run_text_frames"] = dg.MetadataValue.json(result.stats.text_frames)
    blocks = vision.model_blocks(spec)
    for name, block in blocks.items():
        if block:
            run_meta[f"model/{name}"] = f"{block['name']} @ {block['revision']}"
    run_meta["compute_type"] = next((b["compute_type"] for b in blocks.values() if b), "float32")

    def work(key: str) -> dict:
        if key in problems:
            raise problems[key]
        found = gathered[key]
        if found is None:
            empty = {"has_video": False, "reason": "no video stream"}
            uri = media_store.put_json(key, "detections.json", {**empty, "frames": []})
            media_store.put_json(key, "events.json", {**empty, "text_events": [], "object_tracks": []})
            _drop_sheet(media_store, key)
            return {"detections": {"dagster/uri": uri, "has_video": False, **run_meta}}
        assert result is not None
        frames = result.frames.get(key, [])
        events = build_events(frames, vision.event_params())
        doc = {
            "has_video": True,
            "mode": runtime.mode,
            "providers": list(runtime.providers),
            "model": blocks,
            "params": vision.params(spec),
            "frames": [f.model_dump(mode="json") for f in frames],
        }
        tiles = [(f, result.thumbnails[r]) for r, f in zip(found, frames, strict=True) if r in result.thumbnails]
        tiles = [(f, im) for f, im in tiles if f.status == "ok"]
        preview = None
        with tempfile.TemporaryDirectory(prefix="media-assets-detections-") as tmp:
            sheet = contact_sheet(tiles, Path(tmp) / "contact_sheet.jpg")
            if sheet is not None:
                media_store.put_file(key, CONTACT_SHEET, sheet)
                preview = image_markdown(key, CONTACT_SHEET, "detections")
                doc["contact_sheet"] = CONTACT_SHEET
            else:
                _drop_sheet(media_store, key)
        uri = media_store.put_json(key, "detections.json", doc)
        media_store.put_json(key, "events.json", {"has_video": True, **events.model_dump(mode="json")})
        labels: dict[str, int] = {}
        for f in frames:
            for o in f.objects:
                labels[o.label] = labels.get(o.label, 0) + 1
        meta: dict[str, Any] = {
            "dagster/uri": uri,
            "has_video": True,
            "frames": len(frames),
            "frames_ok": sum(f.status == "ok" for f in frames),
            "frames_unreadable": sum(f.status == "unreadable" for f in frames),
            "frames_empty": sum(f.status == "empty" for f in frames),
            "samples": sum(f.source == "sample" for f in frames),
            "objects": sum(len(f.objects) for f in frames),
            "faces": sum(len(f.faces) for f in frames),
            "text_lines": sum(len(f.text) for f in frames),
            "text_events": len(events.text_events),
            "object_tracks": len(events.object_tracks),
            "labels": dg.MetadataValue.json(dict(sorted(labels.items(), key=lambda kv: -kv[1]))),
            "vision_s": round(result.seconds_by_key.get(key, 0.0), 3),
            **run_meta,
        }
        if preview:
            meta["preview"] = preview
        return {"detections": meta}

    outcome = run_partitions(context, ["detections"], media_store, processing, work, catalog=catalog, shared=meter.cost)
    release_models(vision)
    yield from results(context, outcome)


def _drop_sheet(store: MediaStore, key: str) -> None:
    if store.exists(key, CONTACT_SHEET):
        store.delete_prefix(key, CONTACT_SHEET)


def detections_summary(store: MediaStore, key: str) -> list[str]:
    doc = store.get_json(key, "events.json") if store.exists(key, "events.json") else {}
    if not (doc.get("text_events") or doc.get("object_tracks")):
        return []
    return [f"{len(doc.get('object_tracks') or [])} object tracks, {len(doc.get('text_events') or [])} texts"]


SUMMARIES = {"detections": detections_summary}
