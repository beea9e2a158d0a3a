"""Processing settings shared by every asset of the CPU tier: preset, limits and extractor options."""

from __future__ import annotations

import os
from enum import StrEnum

import dagster as dg
from pydantic import Field

from media_assets.core.limits import Limits, parse_duration, parse_size
from media_assets.core.presets import PRESET_NAMES, PresetSpec, preset_spec
from media_assets.core.scenes_keyframes_models import VisualParams

ENV_MAX_FILE_SIZE = "MEDIA_ASSETS_MAX_FILE_SIZE"
ENV_MAX_DURATION = "MEDIA_ASSETS_MAX_DURATION"
ENV_PRESET = "MEDIA_ASSETS_PRESET"


MAX_AUTO_PARTITION_WORKERS = 4  # a decode or a model replica per partition: memory grows with each


def auto_partition_workers(cores: int | None = None) -> int:
    """One partition per core, at most :data:`MAX_AUTO_PARTITION_WORKERS`."""
    return max(1, min(MAX_AUTO_PARTITION_WORKERS, cores or os.cpu_count() or 1))


Preset = StrEnum("Preset", {name: name for name in PRESET_NAMES})  # validated once, with the valid names


class AudioStorageFormat(StrEnum):
    flac = "flac"
    m4a = "m4a"
    mp3 = "mp3"


class ProcessingSettings(dg.ConfigurableResource):
    """Preset and limits; ``MEDIA_ASSETS_PRESET`` etc. set the defaults used by the definitions."""

    preset: Preset = Field(Preset.balanced, description="fast / balanced / accurate")
    max_file_bytes: int | None = Field(200 * 1024**3, description="larger inputs are rejected (too_large)")
    max_duration_s: float | None = Field(24 * 3600.0, description="longer inputs are rejected (too_long)")
    loudnorm: bool = Field(False, description="EBU R128 loudness normalisation of the ML audio")
    audio_storage_format: AudioStorageFormat | None = Field(
        None, description="also keep a storage copy of the audio in this format"
    )
    thumbnail_sizes: list[int] = Field(default_factory=lambda: [320])
    keyframe_interval_s: float | None = None
    max_keyframes: int | None = None
    sample_fps: float | None = Field(
        None, description="also keep frames at this fixed rate (screen recordings, slides): samples.json"
    )

    partition_workers: int = Field(
        0,
        ge=0,
        description="partitions a step works on at once, side by side on threads, when a run has several "
        "(the CPU tier's decoding, the speech models); 0 = one per core, at most 4",
    )

    @classmethod
    def from_env(cls) -> ProcessingSettings:
        """``MEDIA_ASSETS_PRESET``, ``MEDIA_ASSETS_SAMPLE_FPS``, ``MEDIA_ASSETS_MAX_FILE_SIZE`` (``2G``, ``500MB``,
        ``none``) and ``MEDIA_ASSETS_MAX_DURATION`` (``3h``, ``90m``, ``none``)."""
        sample_fps = os.environ.get("MEDIA_ASSETS_SAMPLE_FPS")
        limits: dict[str, float | int | None] = {}
        if os.environ.get(ENV_MAX_FILE_SIZE):
            limits["max_file_bytes"] = parse_size(os.environ[ENV_MAX_FILE_SIZE])
        if os.environ.get(ENV_MAX_DURATION):
            limits["max_duration_s"] = parse_duration(os.environ[ENV_MAX_DURATION])
        return cls(
            preset=preset_spec(os.environ.get(ENV_PRESET) or None).name,
            sample_fps=float(sample_fps) if sample_fps else None,
            **limits,
        )

    def workers(self) -> int:
        """Partitions side by side (see ``partition_workers``)."""
        return self.partition_workers or auto_partition_workers()

    @property
    def preset_name(self) -> str:
        return Preset(self.preset).value

    @property
    def spec(self) -> PresetSpec:
        """The preset's settings for every stage: what the model resources receive."""
        return preset_spec(self.preset_name)

    @property
    def storage_format(self) -> str | None:
        return AudioStorageFormat(self.audio_storage_format).value if self.audio_storage_format else None

    def limits(self) -> Limits:
        return Limits(max_file_bytes=self.max_file_bytes, max_duration_s=self.max_duration_s)

    def visual_params(self) -> VisualParams:
        values = dict(self.spec.visual)
        values["thumbnail_sizes"] = list(self.thumbnail_sizes)
        if self.keyframe_interval_s is not None:
            values["keyframe_interval_s"] = self.keyframe_interval_s
        if self.max_keyframes is not None:
            values["max_keyframes"] = self.max_keyframes
        if self.sample_fps:
            values["sample_fps"] = self.sample_fps
        return VisualParams(**values)
