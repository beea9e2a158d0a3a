"""Dagster assets: a thin layer over ``media_assets.core``."""

from media_assets.assets.audio import audio
from media_assets.assets.metadata import media_metadata
from media_assets.assets.visual import visual_pass

CPU_TIER = [media_metadata, audio, visual_pass]

__all__ = ["CPU_TIER", "audio", "media_metadata", "visual_pass"]
