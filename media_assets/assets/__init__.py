"""Dagster assets: a thin layer over ``media_assets.core``, grouped by tier."""

from media_assets.assets.audio import audio
from media_assets.assets.audio_events import audio_events
from media_assets.assets.detections import detections
from media_assets.assets.embeddings import embeddings
from media_assets.assets.metadata import media_metadata
from media_assets.assets.speakers import diarization, speaker_transcript
from media_assets.assets.timeline import timeline
from media_assets.assets.transcript import transcript
from media_assets.assets.visual import visual_pass

CPU_TIER = [media_metadata, audio, visual_pass]
SPEECH_TIER = [transcript, diarization, speaker_transcript, audio_events]
VISION_TIER = [detections]
SEARCH_TIER = [embeddings, timeline]
ALL_ASSETS = [*CPU_TIER, *SPEECH_TIER, *VISION_TIER, *SEARCH_TIER]

__all__ = [
    "ALL_ASSETS",
    "CPU_TIER",
    "SEARCH_TIER",
    "SPEECH_TIER",
    "VISION_TIER",
    "audio",
    "audio_events",
    "detections",
    "diarization",
    "embeddings",
    "media_metadata",
    "speaker_transcript",
    "timeline",
    "transcript",
    "visual_pass",
]
