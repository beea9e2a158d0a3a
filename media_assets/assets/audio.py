"""``audio``: 16 kHz mono PCM WAV for the speech models, aligned with the container's timeline."""

import tempfile
from pathlib import Path

import dagster as dg

from media_assets.assets.common import NO_AUDIO, asset_args, load_media_info, source_path
from media_assets.assets.runner import require_ok, results, run_partitions
from media_assets.core.audio import extract_audio
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings


@dg.asset(
    **asset_args("audio"),
    kinds={"python", "ffmpeg"},
    description="16 kHz mono PCM WAV of the main audio stream (correct downmix), plus audio.json with the "
    "source format, the alignment offset and any loss. Inputs without audio record has_audio=false.",
)
def audio(
    context: dg.AssetExecutionContext,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
):
    def work(key: str) -> dict:
        require_ok(media_store, key, "media_metadata")
        info = load_media_info(media_store, key)
        if not info.has_audio:
            out = media_store.put_json(key, "audio.json", {"has_audio": False, "reason": NO_AUDIO})
            return {"audio": {"dagster/uri": out, "has_audio": False}}
        path, _ = source_path(media_store, key)
        with tempfile.TemporaryDirectory(prefix="media-assets-audio-") as tmp:
            wav = Path(tmp) / "audio.wav"
            storage = Path(tmp) / f"audio.{processing.storage_format}" if processing.storage_format else None
            result = extract_audio(
                path,
                wav,
                limits=processing.limits(),
                loudnorm=processing.loudnorm,
                storage_format=processing.storage_format,
                storage_path=storage,
            )
            wav_uri = media_store.put_file(key, "audio.wav", wav)
            if storage is not None:
                media_store.put_file(key, storage.name, storage)
        data = result.model_dump(mode="json")
        data.update({"has_audio": True, "path": "audio.wav"})
        media_store.put_json(key, "audio.json", data)
        return {
            "audio": {
                "dagster/uri": wav_uri,
                "has_audio": True,
                "duration_s": result.duration_s,
                "source_codec": result.source_codec or "",
                "source_channels": result.source_channels or 0,
                "lost_s": result.lost_s,
                "decode_errors": result.decode_error_count,
            }
        }

    outcome = run_partitions(
        context, ["audio"], media_store, processing, work, catalog=catalog, workers=processing.workers()
    )
    yield from results(context, outcome)


def audio_summary(store: MediaStore, key: str) -> list[str]:
    doc = store.get_json(key, "audio.json")
    if not doc.get("has_audio"):
        return ["no audio"]
    notes = [f"audio {doc['duration_s']:.1f}s"]
    if doc.get("lost_s", 0) >= 0.05:
        notes.append(f"lost {doc['lost_s']:.1f}s of audio")
    return notes


SUMMARIES = {"audio": audio_summary}
