"""``transcript``: time-aligned text of the speech in ``audio.wav`` (faster-whisper), plus .srt and .vtt subtitles.

One model load per run (the resource caches it), every partition of the step transcribed in turn; a bad
partition is recorded on its own and the others carry on. Reads only ``audio.wav``/``audio.json`` (no second
decode of the source).
"""

from typing import Any

import dagster as dg

from media_assets.assets.common import NO_AUDIO, asset_args, load_audio_json, release_models
from media_assets.assets.runner import results, run_partitions
from media_assets.core.speech.subtitles import to_srt, to_vtt
from media_assets.core.speech.transcript_models import Transcript, no_audio_transcript
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from resources.whisper import WhisperResource

# Run-dependent fields kept out of transcript.json (so a re-run writes identical files) but put in metadata.
TIMING_FIELDS = {"elapsed_s", "real_time_factor"}


def transcript_document(result: Transcript) -> dict[str, Any]:
    """transcript.json content: the contract fields, without timings."""
    return result.model_dump(mode="json", exclude=TIMING_FIELDS)


def transcript_metadata(result: Transcript, preset: str) -> dict[str, Any]:
    model = result.model
    return {
        "has_audio": True,
        "model": str(model.get("name", "")),
        "model_path": str(model.get("path", "")),
        "model_revision": str(model.get("revision", "")),
        "backend": str(model.get("backend", "")),
        "compute_type": str(model.get("compute_type", "")),
        "device": str(model.get("device", "")),
        "beam_size": int(model.get("beam_size", 0)),
        "batched": bool(model.get("batched", False)),
        "whisper_preset": preset,
        "language": result.language or "",
        "language_probability": result.language_probability if result.language_probability is not None else -1.0,
        "duration_s": result.duration_s,
        "speech_s": result.speech_s,
        "lost_s": result.lost_s,
        "segments": len(result.segments),
        "words": len(result.words),
        "dropped": len(result.dropped),
        "quality_score": result.quality.score,
        "transcribe_s": result.elapsed_s,
        "real_time_factor": result.real_time_factor,
        "text_preview": result.text[:200],
    }


@dg.asset(
    **asset_args("transcript"),
    kinds={"python", "whisper"},
    description="Speech to text with faster-whisper over audio.wav: transcript.json (language, segments with "
    "confidence, word timestamps, dropped hallucinations, quality score) plus transcript.srt and transcript.vtt, "
    "on the media timeline. Inputs without audio record has_audio=false. Model loaded once per run.",
)
def transcript(
    context: dg.AssetExecutionContext,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
    whisper: WhisperResource,
):
    spec = whisper.spec_for(processing.spec)
    preset = spec.name

    def work(key: str) -> dict:
        audio = load_audio_json(media_store, key)
        if not audio.get("has_audio"):
            doc = no_audio_transcript(audio.get("reason") or NO_AUDIO)
            uri = media_store.put_json(key, "transcript.json", doc)
            return {"transcript": {"dagster/uri": uri, "has_audio": False, "whisper_preset": preset}}
        wav = media_store.fetch(key, audio.get("path") or "audio.wav")
        result = whisper.transcribe(
            wav,
            start_offset_s=float(audio.get("start_offset_s") or 0.0),
            lost_s=float(audio.get("lost_s") or 0.0),
            spec=spec,
        )
        uri = media_store.put_json(key, "transcript.json", transcript_document(result))
        media_store.put_bytes(key, "transcript.srt", to_srt(result.segments).encode("utf-8"))
        media_store.put_bytes(key, "transcript.vtt", to_vtt(result.segments).encode("utf-8"))
        context.log.info(
            f"[{key}] {len(result.segments)} segments, {len(result.words)} words, language {result.language} "
            f"({result.language_probability}), RTF {result.real_time_factor:.3f}, {len(result.dropped)} dropped"
        )
        return {"transcript": {"dagster/uri": uri, **transcript_metadata(result, preset)}}

    workers = min(whisper.workers(), processing.workers())  # a partition per model replica
    outcome = run_partitions(context, ["transcript"], media_store, processing, work, catalog=catalog, workers=workers)
    context.log.info(f"whisper model load: {whisper.load_seconds:.2f}s for the run")
    release_models(whisper)
    yield from results(context, outcome)


def transcript_summary(store: MediaStore, key: str) -> list[str]:
    doc = store.get_json(key, "transcript.json")
    if not doc.get("has_audio"):
        return []
    words = sum(len(seg.get("words") or []) for seg in doc.get("segments") or [])
    return [f"{words} words ({doc.get('language') or '?'})"]


SUMMARIES = {"transcript": transcript_summary}
