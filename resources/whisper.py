"""Whisper speech recognition as a Dagster resource: loaded once per run, on first use, reused for every partition.

Presets (``preset`` field, else the run's ProcessingSettings preset, else ``$MEDIA_ASSETS_PRESET``, else balanced):

========  ==========================  ====================  =====  =========================================
preset    model                       compute (cpu / cuda)  beam   decoding
========  ==========================  ====================  =====  =========================================
fast      tiny.en (English only)      int8 / int8_float16   1      batched; language not detected: "en"
balanced  base (multilingual)         int8 / float16        5      batched; language detected
accurate  base (multilingual)         float32 / float16     5      sequential, temperature fallback
========  ==========================  ====================  =====  =========================================

``fast`` trades languages for speed: tiny.en cannot identify or transcribe other languages, so the transcript
says ``language: "en"`` with ``language_detected: false``; use balanced (or set ``model``) for multilingual media.
Balanced keeps beam 5: with batched decoding the encoder dominates, so beam 5 costs ~10% more CPU than greedy and
fixed the 8 kHz telephone copy of JFK ("America asked" -> "Americans ask").
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.speech.transcribe import transcribe_wav
from media_assets.core.speech.transcript_models import TranscribeParams, Transcript
from media_assets.core.speech.whisper_loader import LoadedWhisper, detect_device, load_whisper

PRESETS: dict[str, dict[str, Any]] = {
    "fast": {"model": "tiny.en", "cpu": "int8", "cuda": "int8_float16", "beam_size": 1, "batched": True},
    "balanced": {"model": "base", "cpu": "int8", "cuda": "float16", "beam_size": 5, "batched": True},
    "accurate": {
        "model": "base",
        "cpu": "float32",
        "cuda": "float16",
        "beam_size": 5,
        "batched": False,
        "temperatures": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    },
}
DEFAULT_PRESET = "balanced"
# Windows per encoder/decoder call. On CPU batching buys no speed, and the decoder keeps a copy of the encoder
# output per beam and batch item (batch 4 x beam 5: ~0.7 GB for Whisper base), so CPU decodes one window at a time.
CPU_BATCH_SIZE = 1
GPU_BATCH_SIZE = 8

# TranscribeParams fields that the resource exposes as optional overrides (None keeps the default).
_OVERRIDABLE = (
    "language",
    "batch_size",
    "chunk_s",
    "vad",
    "vad_threshold",
    "vad_min_silence_ms",
    "vad_speech_pad_ms",
    "no_speech_threshold",
    "logprob_threshold",
    "min_avg_logprob",
    "compression_ratio_threshold",
    "max_ngram_repeats",
    "min_speech_coverage",
    "min_speech_probability",
)


def auto_workers(cpu_count: int | None = None) -> int:
    """Chunks decoded in parallel: one per two cores from four cores up (on 2 cores one worker with 2 threads is
    as fast and needs half the memory)."""
    cores = cpu_count or os.cpu_count() or 1
    return 1 if cores < 4 else min(4, cores // 2)


class WhisperResource(dg.ConfigurableResource):
    """faster-whisper model plus decoding, VAD and hallucination-guard settings. Any field left None takes the
    preset's value (see the module docstring)."""

    model: str | None = Field(None, description="model name (base, tiny.en, ...), hub id or local CTranslate2 dir")
    preset: str | None = Field(None, description="fast / balanced / accurate; None = run preset, then env")
    device: str = Field("auto", description="auto (CUDA if CTranslate2 sees a GPU) / cpu / cuda")
    compute_type: str | None = Field(None, description="int8 / int8_float16 / float16 / float32")
    beam_size: int | None = Field(None, ge=1)
    batched: bool | None = Field(None, description="BatchedInferencePipeline-style decoding (else sequential)")
    cpu_threads: int = Field(0, ge=0, description="threads per worker; 0 = cores / workers")
    chunk_workers: int = Field(0, ge=0, description="chunks decoded in parallel; 0 = auto")
    allow_download: bool = Field(False, description="allow a hub download when the model is not found locally")
    model_cache_dir: str | None = Field(None, description="where split packaged weights are reassembled")
    language: str | None = Field(None, description="force a language code; None = detect")
    batch_size: int | None = Field(None, ge=1)
    chunk_s: float | None = Field(None, gt=0, description="long audio is cut in silence into chunks this long")
    vad: bool | None = Field(None, description="cut to VAD speech (the guards always use the VAD)")
    vad_threshold: float | None = None
    vad_min_silence_ms: int | None = None
    vad_speech_pad_ms: int | None = None
    no_speech_threshold: float | None = None
    logprob_threshold: float | None = None
    min_avg_logprob: float | None = None
    compression_ratio_threshold: float | None = None
    max_ngram_repeats: int | None = None
    min_speech_coverage: float | None = None
    min_speech_probability: float | None = None

    _models: dict[tuple, LoadedWhisper] = PrivateAttr(default_factory=dict)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _load_s: float = PrivateAttr(default=0.0)

    # -- settings ------------------------------------------------------------------------------------------------
    def effective_preset(self, default: str | None = None) -> str:
        name = self.preset or default or os.environ.get("MEDIA_ASSETS_PRESET") or DEFAULT_PRESET
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
        return name

    def device_name(self) -> str:
        return detect_device(self.device)

    def workers(self) -> int:
        if self.device_name() == "cuda":
            return 1
        return self.chunk_workers or auto_workers()

    def model_name(self, preset: str) -> str:
        return self.model or PRESETS[preset]["model"]

    def wanted_compute_type(self, preset: str) -> str:
        return self.compute_type or PRESETS[preset][self.device_name()]

    def params(self, preset: str | None = None) -> TranscribeParams:
        """Every decoding, VAD and guard setting for ``preset`` with this resource's overrides."""
        name = self.effective_preset(preset)
        spec = PRESETS[name]
        values: dict[str, Any] = {
            "beam_size": self.beam_size or spec["beam_size"],
            "batched": spec["batched"] if self.batched is None else self.batched,
            "batch_size": GPU_BATCH_SIZE if self.device_name() == "cuda" else CPU_BATCH_SIZE,
            "chunk_workers": self.workers(),
        }
        if "temperatures" in spec:
            values["temperatures"] = spec["temperatures"]
        for field in _OVERRIDABLE:
            value = getattr(self, field)
            if value is not None:
                values[field] = value
        return TranscribeParams(**values)

    # -- model ---------------------------------------------------------------------------------------------------
    def loaded(self, preset: str | None = None) -> LoadedWhisper:
        """The model for ``preset`` (loaded on first call, then reused for the whole run)."""
        name = self.effective_preset(preset)
        workers = self.workers()
        key = (self.model_name(name), self.wanted_compute_type(name), self.device_name(), workers)
        with self._lock:
            if key not in self._models:
                started = time.perf_counter()
                self._models[key] = load_whisper(
                    key[0],
                    device=key[2],
                    compute_type=key[1],
                    cpu_threads=self.cpu_threads,
                    num_workers=workers,
                    allow_download=self.allow_download,
                    cache=Path(self.model_cache_dir).expanduser() if self.model_cache_dir else None,
                )
                self._load_s += time.perf_counter() - started
            return self._models[key]

    @property
    def load_seconds(self) -> float:
        return self._load_s

    def model_block(self, preset: str | None = None) -> dict[str, Any]:
        """The ``model`` block of transcript.json: name, path, revision, backend, compute type, device, decoding."""
        name = self.effective_preset(preset)
        p = self.params(name)
        block = self.loaded(name).info()
        block.update({"beam_size": p.beam_size, "batched": p.batched, "preset": name})
        return block

    def transcribe(
        self, wav: str | Path, *, start_offset_s: float = 0.0, lost_s: float = 0.0, preset: str | None = None
    ) -> Transcript:
        name = self.effective_preset(preset)
        return transcribe_wav(
            self.loaded(name),
            wav,
            self.params(name),
            start_offset_s=start_offset_s,
            lost_s=lost_s,
            model_info=self.model_block(name),
        )
