"""``timeline``: every output of a partition fused on one time axis (``media_assets.core.timeline``).

Reads whichever upstream files exist (each is optional), writes ``timeline.parquet`` and ``timeline.png``
first and then ``timeline.json`` (a reader never sees JSON pointing at missing files), and shows the swim-lane
picture on the materialization.
"""

import tempfile
from collections import Counter
from pathlib import Path

import dagster as dg
from pydantic import Field

from media_assets.assets.common import asset_args, image_markdown
from media_assets.assets.runner import catalog_for, require_ok, results, run_partitions
from media_assets.core.timeline.fuse import fuse_timeline
from media_assets.core.timeline.inputs import TimelineInputs, inputs_from_files, wanted_files
from media_assets.core.timeline.render import render_swimlanes
from media_assets.core.timeline.timeline_models import FusionParams, Timeline
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings

_DEFAULTS = FusionParams()


class TimelineConfig(dg.Config):
    """Linking thresholds (see ``FusionParams``) and the picture width."""

    face_min_overlap: float = Field(_DEFAULTS.face_min_overlap, description="min fraction of a face span spoken")
    face_dominance: float = Field(_DEFAULTS.face_dominance, description="min share of the span's speech")
    text_window_s: float = Field(_DEFAULTS.text_window_s, description="captions look this far for speech")
    text_min_score: float = Field(_DEFAULTS.text_min_score, description="min fraction of a caption heard")
    text_fuzzy_ratio: float = Field(_DEFAULTS.text_fuzzy_ratio, description="min word similarity")
    recurring_min: int = Field(_DEFAULTS.recurring_min, description="events needed for an object/text entity")
    png_width: int = Field(1600, description="width of timeline.png in pixels")

    def params(self) -> FusionParams:
        return FusionParams(**{k: getattr(self, k) for k in FusionParams.model_fields})


def read_inputs(store: MediaStore, key: str) -> TimelineInputs:
    """Every upstream file of ``key`` that exists (one listing, then only the files that are there)."""
    present = set(store.list(key))
    files: dict[str, bytes] = {}
    for name in wanted_files():
        if name in present:
            try:
                files[name] = store.get_bytes(key, name)
            except FileNotFoundError:  # replaced or removed since the listing
                continue
    return inputs_from_files(key, files)


def timeline_metadata(timeline: Timeline) -> dict[str, object]:
    """Counts, quality and provenance for the materialization."""
    v = timeline.video
    quality = {
        name: {"status": q.status, "score": q.score, **({"reason": q.reason} if q.reason else {})}
        for name, q in timeline.quality.items()
    }
    return {
        "has_audio": v.has_audio,
        "has_video": v.has_video,
        "duration_s": v.duration if v.duration is not None else 0.0,
        "events": len(timeline.events),
        "event_counts": dg.MetadataValue.json(timeline.counts()),
        "entities": dg.MetadataValue.json(dict(Counter(e.type for e in timeline.entities))),
        "relationships": dg.MetadataValue.json(dict(Counter(r.type for r in timeline.relationships))),
        "scenes": len(timeline.scenes),
        "quality": dg.MetadataValue.json(quality),
        "unavailable": ", ".join(sorted(n for n, q in timeline.quality.items() if q.status != "ok")),
        "model": timeline.model.name,
        "model_revision": timeline.model.revision,
        "device": timeline.model.device,
        "upstream_models": dg.MetadataValue.json(timeline.model.upstream),
    }


@dg.asset(
    **asset_args("timeline"),
    kinds={"python", "parquet"},
    description="Every output fused on one time axis: events (scenes, speech, speaker turns, sounds, objects, "
    "faces, on-screen text), entities, relationships (face-speaker, text-speech, sound-in-scene), a per-scene "
    "view and quality per modality; timeline.json, timeline.parquet (one row per event) and timeline.png.",
)
def timeline(
    context: dg.AssetExecutionContext,
    config: TimelineConfig,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
):
    params = config.params()

    def work(key: str) -> dict:
        require_ok(media_store, key, "media_metadata")
        inputs = read_inputs(media_store, key)
        fused = fuse_timeline(inputs, params)
        with tempfile.TemporaryDirectory(prefix="media-assets-timeline-") as tmp:
            from media_assets.core.timeline.table import write_parquet  # pandas/pyarrow: only when needed

            parquet = write_parquet(fused, Path(tmp) / "timeline.parquet")
            png = render_swimlanes(fused, Path(tmp) / "timeline.png", width=config.png_width)
            parquet_uri = media_store.put_file(key, "timeline.parquet", parquet)
            png_uri = media_store.put_file(key, "timeline.png", png)
        doc = fused.model_dump(mode="json")
        uri = media_store.put_json(key, "timeline.json", doc)
        catalog_for(media_store, catalog).upsert_timeline(key, doc)
        meta = {
            "dagster/uri": uri,
            "parquet_uri": parquet_uri,
            "png_uri": png_uri,
            **timeline_metadata(fused),
            "preview": image_markdown(key, "timeline.png", "timeline"),
        }
        return {"timeline": meta}

    yield from results(context, run_partitions(context, ["timeline"], media_store, processing, work, catalog=catalog))
