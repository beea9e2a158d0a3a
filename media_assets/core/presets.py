"""The processing presets, in one place: what ``fast``, ``balanced`` and ``accurate`` change in every stage.

A preset is resolved once (from the CLI flag, the run config of the ``processing`` resource or
``MEDIA_ASSETS_PRESET``) into a :class:`PresetSpec`, and the model resources receive the spec, not its name.

========  =====================================  ===========================  ==============  ===========
preset    visual pass                            whisper (cpu / cuda, beam)   faces / OCR px  events hop
========  =====================================  ===========================  ==============  ===========
fast      keyframes only over 30 min, 20 s        tiny.en int8, beam 1,        480 / 640,      0.96 s
          interval, <= 200 keyframes, no          batched (English only)       text read once
          deblocking                                                           per layout
balanced  keyframe-only decode never forced       base int8 / float16, beam    640 / 960,      0.48 s
                                                  5, batched                   text read once
                                                                               per layout
accurate  every frame decoded, 5 s interval,      base float32 / float16,      960 / 1280,     0.24 s
          <= 1000 keyframes                       beam 5, sequential with      every frame
                                                  temperature fallback         read in full
========  =====================================  ===========================  ==============  ===========

"Text read once per layout": a cheap look at 480 px decides which frames OCR reads in full
(``media_assets.core.vision.text_reuse``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class UnknownPresetError(ValueError):
    """A preset name that is not one of :data:`PRESET_NAMES`."""


@dataclass(frozen=True)
class WhisperPreset:
    model: str
    compute_type_cpu: str
    compute_type_cuda: str
    beam_size: int
    batched: bool
    temperatures: tuple[float, ...] | None = None  # None: faster-whisper's default

    def compute_type(self, device: str) -> str:
        return self.compute_type_cuda if device == "cuda" else self.compute_type_cpu


@dataclass(frozen=True)
class VisionPreset:
    face_input_size: int  # longer side RetinaFace sees
    ocr_det_side_len: int  # longer side text detection sees
    ocr_gate_side_len: int = 480  # the cheap look that decides which frames OCR reads in full (0: all of them)


@dataclass(frozen=True)
class PresetSpec:
    name: str
    visual: Mapping[str, Any] = field(default_factory=dict)  # VisualParams fields that differ from the defaults
    whisper: WhisperPreset = field(default_factory=lambda: WhisperPreset("base", "int8", "float16", 5, True))
    vision: VisionPreset = field(default_factory=lambda: VisionPreset(640, 960))
    audio_events_hop_s: float = 0.48  # YAMNet window hop: more overlap, finer event boundaries, more compute


PRESETS: dict[str, PresetSpec] = {
    "fast": PresetSpec(
        "fast",
        visual=MappingProxyType(
            {"keyframes_mode_over_s": 1800.0, "keyframe_interval_s": 20.0, "max_keyframes": 200, "deblock": False}
        ),
        whisper=WhisperPreset("tiny.en", "int8", "int8_float16", beam_size=1, batched=True),
        vision=VisionPreset(face_input_size=480, ocr_det_side_len=640),
        audio_events_hop_s=0.96,
    ),
    "balanced": PresetSpec(
        "balanced",
        visual=MappingProxyType({"keyframes_mode_over_s": None}),
        whisper=WhisperPreset("base", "int8", "float16", beam_size=5, batched=True),
        vision=VisionPreset(face_input_size=640, ocr_det_side_len=960),
        audio_events_hop_s=0.48,
    ),
    "accurate": PresetSpec(
        "accurate",
        visual=MappingProxyType({"skip_nonref": False, "keyframe_interval_s": 5.0, "max_keyframes": 1000}),
        whisper=WhisperPreset(
            "base", "float32", "float16", beam_size=5, batched=False, temperatures=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
        ),
        vision=VisionPreset(face_input_size=960, ocr_det_side_len=1280, ocr_gate_side_len=0),
        audio_events_hop_s=0.24,
    ),
}
PRESET_NAMES = tuple(PRESETS)
DEFAULT_PRESET = "balanced"


def preset_spec(name: str | PresetSpec | None = None) -> PresetSpec:
    """The spec of ``name`` (the default preset for None); refuses an unknown name with the valid ones."""
    if isinstance(name, PresetSpec):
        return name
    key = str(name or DEFAULT_PRESET).strip().lower()
    if key not in PRESETS:
        raise UnknownPresetError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    return PRESETS[key]
