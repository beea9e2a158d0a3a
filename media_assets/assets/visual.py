"""``scenes`` and ``keyframes``: both from one decode of the video (``media_assets.core.scenes_keyframes``)."""

import tempfile
from pathlib import Path

import dagster as dg

from media_assets.assets.common import (
    BACKFILL_POLICY,
    PARTITIONS,
    TRANSIENT_RETRY_POLICY,
    image_markdown,
    load_media_info,
    source_path,
    spec_args,
)
from media_assets.assets.runner import require_ok, results, run_partitions
from media_assets.core.scenes_keyframes import analyze_video
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "scenes",
            **spec_args("scenes"),
            kinds={"python", "ffmpeg"},
            description="Shots with cuts and fades to/from black (frame-exact, PTS timestamps) "
            "in scenes.json; black gaps are scenes of kind 'black'.",
        ),
        dg.AssetSpec(
            "keyframes",
            **spec_args("keyframes"),
            kinds={"python", "ffmpeg"},
            description="Per-scene sharpest frame plus interval samples, dHash-deduplicated, as "
            "JPEGs with thumbnails and a contact sheet; keyframes.json lists them.",
        ),
    ],
    partitions_def=PARTITIONS,
    backfill_policy=BACKFILL_POLICY,
    retry_policy=TRANSIENT_RETRY_POLICY,
    can_subset=False,
)
def visual_pass(
    context: dg.AssetExecutionContext,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
):
    params = processing.visual_params()

    def work(key: str) -> dict:
        require_ok(media_store, key, "media_metadata")
        info = load_media_info(media_store, key)
        if not info.has_video or info.is_still_image:
            empty = {"has_video": False, "reason": "no video stream"}
            s_uri = media_store.put_json(key, "scenes.json", {**empty, "scenes": [], "transitions": []})
            k_uri = media_store.put_json(key, "keyframes.json", {**empty, "keyframes": []})
            return {
                "scenes": {"dagster/uri": s_uri, "has_video": False},
                "keyframes": {"dagster/uri": k_uri, "has_video": False},
            }
        path, _ = source_path(media_store, key)
        v = info.video
        with tempfile.TemporaryDirectory(prefix="media-assets-visual-") as tmp:
            result = analyze_video(path, tmp, params, origin_s=info.start_time_s)
            scenes_doc = {
                "has_video": True,
                "video": result.video.model_dump(mode="json"),
                "decode": result.decode.model_dump(mode="json"),
                "params": params.model_dump(mode="json"),
                "scenes": [s.model_dump(mode="json") for s in result.scenes],
                "transitions": [t.model_dump(mode="json") for t in result.transitions],
            }
            kf_doc = {
                "has_video": True,
                "video": result.video.model_dump(mode="json"),
                "contact_sheet": result.contact_sheet,
                "keyframes": [k.model_dump(mode="json") for k in result.keyframes],
            }
            samples_doc = None
            if params.sample_fps:
                samples_doc = {
                    "has_video": True,
                    "sample_fps": params.sample_fps,
                    "samples": [x.model_dump(mode="json") for x in result.samples],
                }
            # images first, then the JSON that points at them: a reader never sees a list of missing files
            kf_dir = Path(tmp) / "keyframes"
            if kf_dir.exists():
                media_store.publish_dir(key, "keyframes", kf_dir, replace=True)
            elif media_store.list(key, "keyframes/"):
                media_store.delete_prefix(key, "keyframes/")
            sample_dir = Path(tmp) / "samples"
            if sample_dir.exists():
                media_store.publish_dir(key, "samples", sample_dir, replace=True)
            elif media_store.list(key, "samples/"):
                media_store.delete_prefix(key, "samples/")
        if samples_doc is not None:
            media_store.put_json(key, "samples.json", samples_doc)
        elif media_store.exists(key, "samples.json"):
            media_store.delete_prefix(key, "samples.json")
        s_uri = media_store.put_json(key, "scenes.json", scenes_doc)
        k_uri = media_store.put_json(key, "keyframes.json", kf_doc)
        cuts = sum(1 for t in result.transitions if t.kind == "cut")
        fades = len(result.transitions) - cuts
        d = result.decode
        scenes_meta = {
            "dagster/uri": s_uri,
            "has_video": True,
            "scenes": len(result.scenes),
            "cuts": cuts,
            "fades": fades,
            "frames": d.frames_total,
            "frames_decoded": d.frames_decoded,
            "decode_mode": d.mode,
            "decode_errors": d.decode_errors,
            "lost_s": d.lost_s,
            "visual_pass_s": d.elapsed_s,
            "codec": v.codec if v else "",
        }
        kf_meta = {
            "dagster/uri": k_uri,
            "has_video": True,
            "keyframes": len(result.keyframes),
            "duplicates": sum(1 for k in result.keyframes if k.duplicate_of is not None),
            "samples": len(result.samples),
        }
        if result.contact_sheet:
            kf_meta["preview"] = image_markdown(key, result.contact_sheet, "keyframes")
        return {"scenes": scenes_meta, "keyframes": kf_meta}

    # files side by side: decoding and the per-frame analysis leave a core idle on short files
    outcome = run_partitions(
        context, ["scenes", "keyframes"], media_store, processing, work, catalog=catalog, workers=processing.workers()
    )
    yield from results(context, outcome)


def scenes_summary(store: MediaStore, key: str) -> list[str]:
    doc = store.get_json(key, "scenes.json")
    if not doc.get("has_video"):
        return ["no video"]
    cuts = sum(1 for t in doc["transitions"] if t["kind"] == "cut")
    notes = [f"{len(doc['scenes'])} scenes, {cuts} cuts"]
    lost = doc["decode"].get("lost_s", 0)
    if lost >= 0.05:
        notes.append(f"lost {lost:.1f}s of video")
    return notes


def keyframes_summary(store: MediaStore, key: str) -> list[str]:
    doc = store.get_json(key, "keyframes.json")
    return [f"{len(doc['keyframes'])} keyframes"] if doc.get("has_video") else []


SUMMARIES = {"scenes": scenes_summary, "keyframes": keyframes_summary}
