"""``diarization`` (who spoke when) and ``speaker_transcript`` (words labelled with speakers).

``speaker_transcript`` depends on both ``transcript`` and ``diarization`` but they do not depend on each other,
so re-running one does not invalidate the other.
"""

from typing import Any

import dagster as dg

from media_assets.assets.common import NO_AUDIO, asset_args, load_audio_json, model_metadata, release_models
from media_assets.assets.runner import UpstreamFailed, require_ok, results, run_partitions
from media_assets.core.audio import load_wav_mono16k
from media_assets.core.speech.diarization_models import DiarizationResult
from media_assets.core.speech.rttm import format_rttm
from media_assets.core.speech.speaker_align import SpeakerTranscript, align_speakers, to_markdown
from resources.catalog import CatalogResource
from resources.diarizer import OVERRIDE_NAME, Diarizer
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings


@dg.asset(
    **asset_args("diarization"),
    kinds={"python", "pytorch"},
    description="Who spoke when: diarization.json (speakers with speaking time, segments with confidence and "
    "overlap flags) and diarization.rttm, on the media timeline. Model loaded once per run.",
)
def diarization(
    context: dg.AssetExecutionContext,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
    diarizer: Diarizer,
):
    def work(key: str) -> dict:
        audio = load_audio_json(media_store, key)
        if not audio.get("has_audio"):
            result = DiarizationResult(has_audio=False, reason=audio.get("reason") or NO_AUDIO)
            uri = media_store.put_json(key, "diarization.json", result.to_json())
            media_store.put_bytes(key, "diarization.rttm", b"")
            return {"diarization": {"dagster/uri": uri, "has_audio": False}}
        backend = diarizer.get_backend()
        override = media_store.get_json(key, OVERRIDE_NAME) if media_store.exists(key, OVERRIDE_NAME) else None
        count = diarizer.count(override)
        wav = load_wav_mono16k(media_store.fetch(key, "audio.wav"))
        result = backend.diarize(wav, count).shifted(float(audio.get("start_offset_s") or 0.0))
        result.model = result.model.model_copy(update={"preset": processing.preset_name}) if result.model else None
        uri = media_store.put_json(key, "diarization.json", result.to_json())
        media_store.put_bytes(key, "diarization.rttm", format_rttm(result.turns(), key).encode("utf-8"))
        duration = result.duration_s or 0.0
        return {
            "diarization": {
                "dagster/uri": uri,
                "has_audio": True,
                "num_speakers": result.num_speakers,
                "speech_s": result.speech_s,
                "overlap_s": result.overlap_s,
                "segments": len(result.segments),
                "elapsed_inference_s": result.elapsed_s or 0.0,
                "rtf": round((result.elapsed_s or 0.0) / duration, 4) if duration else 0.0,
                "speaker_constraints": dg.MetadataValue.json(count.model_dump()),
                **model_metadata(result.model),
            }
        }

    with diarizer.side_by_side(min(processing.workers(), len(context.partition_keys))) as workers:
        outcome = run_partitions(
            context, ["diarization"], media_store, processing, work, catalog=catalog, workers=workers
        )
    release_models(diarizer)
    yield from results(context, outcome)


@dg.asset(
    **asset_args("speaker_transcript"),
    kinds={"python"},
    description="Transcript words and segments labelled with speakers (segments split at speaker changes): "
    "speaker_transcript.json and a readable speaker_transcript.md.",
)
def speaker_transcript(
    context: dg.AssetExecutionContext, media_store: MediaStore, processing: ProcessingSettings, catalog: CatalogResource
):
    def work(key: str) -> dict:
        docs = {}
        for upstream in ("transcript", "diarization"):
            require_ok(media_store, key, upstream)
            name = f"{upstream}.json"
            if not media_store.exists(key, name):
                raise UpstreamFailed(key, upstream, {"problem": f"{name} not found (materialize {upstream} first)"})
            docs[upstream] = media_store.get_json(key, name)
        result: SpeakerTranscript = align_speakers(docs["transcript"], docs["diarization"])
        uri = media_store.put_json(key, "speaker_transcript.json", result.to_json())
        media_store.put_bytes(key, "speaker_transcript.md", to_markdown(result, title=key).encode("utf-8"))
        meta: dict[str, Any] = {"dagster/uri": uri, "has_audio": result.has_audio}
        if result.has_audio:
            model = docs["diarization"].get("model") or {}
            meta.update(
                {
                    "segments": len(result.segments),
                    "speakers": len(result.speakers),
                    "unassigned_words": result.unassigned_words,
                    "diarization_model": str(model.get("name", "")),
                    "diarization_revision": str(model.get("revision", "")),
                    "transcript_model": str((docs["transcript"].get("model") or {}).get("name", "")),
                }
            )
        return {"speaker_transcript": meta}

    yield from results(
        context, run_partitions(context, ["speaker_transcript"], media_store, processing, work, catalog=catalog)
    )


def diarization_summary(store: MediaStore, key: str) -> list[str]:
    doc = store.get_json(key, "diarization.json")
    return [f"{doc.get('num_speakers', 0)} speakers"] if doc.get("has_audio") else []


SUMMARIES = {"diarization": diarization_summary}
