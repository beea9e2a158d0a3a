"""``media_metadata``: what the file is (container, streams, duration), probed by content."""

import dagster as dg

from media_assets.assets.common import asset_args, source_path
from media_assets.assets.runner import catalog_for, results, run_partitions
from media_assets.core.probe import probe
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings


@dg.asset(
    **asset_args("media_metadata"),
    kinds={"python", "ffmpeg"},
    description="Container, duration and every stream (codec, size with rotation, fps, start time, audio "
    "format) of one media file. Written to <root>/<partition>/media_metadata.json.",
)
def media_metadata(
    context: dg.AssetExecutionContext,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
):
    db = catalog_for(media_store, catalog)

    def work(key: str) -> dict:
        path, uri = source_path(media_store, key)
        try:
            info = probe(path, processing.limits())
        except Exception:
            db.upsert_video(key, source_uri=uri, size_bytes=path.stat().st_size, status="failed")
            raise
        data = info.model_dump(mode="json")
        data["source_uri"] = uri
        out = media_store.put_json(key, "media_metadata.json", data)
        db.upsert_video_from_metadata(key, data, source_uri=uri, status="ok")
        v, a = info.video, info.audio
        meta = {
            "dagster/uri": out,
            "source": uri,
            "format": info.format_name,
            "duration_s": info.duration_s or 0.0,
            "size_bytes": info.size_bytes,
            "has_video": info.has_video,
            "has_audio": info.has_audio,
        }
        if v is not None:
            meta.update(
                {
                    "video_codec": v.codec or "",
                    "width": v.display_width or 0,
                    "height": v.display_height or 0,
                    "fps": v.fps or 0.0,
                    "rotation": v.rotation,
                }
            )
        if a is not None:
            meta.update({"audio_codec": a.codec or "", "sample_rate": a.sample_rate or 0, "channels": a.channels or 0})
        return {"media_metadata": meta}

    yield from results(
        context, run_partitions(context, ["media_metadata"], media_store, processing, work, catalog=catalog)
    )
