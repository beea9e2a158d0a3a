"""``audio_events``: AudioSet sound events (speech, music, laughter, applause, noise, ...) per partition.

Inference is batched across the run's partitions: the audio of every partition is read first, all windows go
through YAMNet together (model loaded once per run), then each partition's events are written on its own (a
bad partition is recorded and the others carry on).
"""

from typing import Any

import dagster as dg
import numpy as np

from media_assets.assets.common import NO_AUDIO, asset_args, load_audio_json, model_metadata, release_models
from media_assets.assets.runner import results, run_partitions
from media_assets.core.audio import load_wav_mono16k
from media_assets.core.cost import CostMeter
from media_assets.core.speech.audio_events import AudioEventsResult
from resources.audio_tagger import AudioTagger
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings

MAX_BATCHED_SAMPLES = 16000 * 3600 * 2  # audio held in memory for one shared inference (2 h); longer runs alone


@dg.asset(
    **asset_args("audio_events"),
    kinds={"python", "onnx"},
    description="AudioSet events (YAMNet, 521 classes) with start, end, label, confidence and a coarse "
    "category (speech/music/laughter/applause/noise/silence/other), merged across adjacent windows.",
)
def audio_events(
    context: dg.AssetExecutionContext,
    media_store: MediaStore,
    processing: ProcessingSettings,
    catalog: CatalogResource,
    audio_tagger: AudioTagger,
):
    preset = processing.preset_name
    hop_s = audio_tagger.hop_for(processing.spec)
    prepared: dict[str, tuple[dict[str, Any], np.ndarray]] = {}
    batched: dict[str, AudioEventsResult] = {}
    held = 0
    for key in context.partition_keys:  # read what fits, failures are left for run_partitions to record
        try:
            audio = load_audio_json(media_store, key)
            if audio.get("has_audio") and held < MAX_BATCHED_SAMPLES:
                wav = load_wav_mono16k(media_store.fetch(key, "audio.wav"))
                prepared[key] = (audio, wav)
                held += len(wav)
        except Exception:
            continue
    meter = CostMeter()
    if prepared:
        with meter:
            tagged = audio_tagger.get_tagger().tag_many(
                [wav for _, wav in prepared.values()],
                hop_s=hop_s,
                threshold=audio_tagger.threshold,
                top_k=audio_tagger.top_k,
            )
        batched = dict(zip(prepared, tagged, strict=True))
        prepared.clear()

    def work(key: str) -> dict:
        audio = load_audio_json(media_store, key)
        if not audio.get("has_audio"):
            result = AudioEventsResult(has_audio=False, reason=audio.get("reason") or NO_AUDIO)
            uri = media_store.put_json(key, "audio_events.json", result.to_json())
            return {"audio_events": {"dagster/uri": uri, "has_audio": False}}
        result = batched.pop(key, None)
        if result is None:
            tagger = audio_tagger.get_tagger()
            wav = load_wav_mono16k(media_store.fetch(key, "audio.wav"))
            result = tagger.tag(wav, hop_s=hop_s, threshold=audio_tagger.threshold, top_k=audio_tagger.top_k)
        result = result.shifted(float(audio.get("start_offset_s") or 0.0))
        if result.model is not None:
            result.model = result.model.model_copy(update={"preset": preset})
        uri = media_store.put_json(key, "audio_events.json", result.to_json())
        top = sorted({e.label: e.confidence for e in result.events}.items(), key=lambda kv: -kv[1])[:5]
        return {
            "audio_events": {
                "dagster/uri": uri,
                "has_audio": True,
                "events": len(result.events),
                "seconds_by_category": dg.MetadataValue.json(result.categories()),
                "top_labels": ", ".join(label for label, _ in top),
                "hop_s": hop_s,
                "threshold": audio_tagger.threshold,
                **model_metadata(result.model),
                "preset": preset,
            }
        }

    outcome = run_partitions(
        context, ["audio_events"], media_store, processing, work, catalog=catalog, shared=meter.cost
    )
    release_models(audio_tagger)
    yield from results(context, outcome)
