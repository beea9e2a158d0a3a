"""Whisper speech recognition as a Dagster resource: loaded once per process, on first use, reused for every
partition and run.

The preset (``media_assets.core.presets``: model, compute type, beam, batched or sequential decoding) comes from
the run's ``processing`` resource as a :class:`PresetSpec`, unless this resource's own ``preset`` is set. ``fast``
trades languages for speed: tiny.en cannot identify or transcribe other languages, so the transcript says
``language: "en"`` with ``language_detected: false``; use balanced (or set ``model``) for multilingual media.
Balanced keeps beam 5: with batched decoding the encoder dominates, so beam 5 costs ~10% more CPU than greedy and
fixed the 8 kHz telephone copy of JFK ("America asked" -> "Americans ask").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.model_cache import load_once, release
from media_assets.core.model_identity import dist_versions, model_ref
from media_assets.core.presets import PresetSpec, preset_spec
from media_assets.core.speech.transcribe import transcribe_wav
from media_assets.core.speech.transcript_models import TranscribeParams, Transcript
from media_assets.core.speech.whisper_loader import ALIASES, PACKAGED, LoadedWhisper, detect_device, load_whisper
from resources.processing import auto_partition_workers

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
    """Model replicas on a CPU, one per core up to four (then cores / 4 threads each): files and chunks are
    decoded side by side. Whisper's single-threaded stretches (VAD, features, word alignment, the beam loop)
    leave the second core idle; on 2 cores, 10 ten-second clips took 12.7 s with one replica of 2 threads and
    8.0 s with two of one thread (and 20 % less CPU)."""
    return auto_partition_workers(cpu_count)  # a replica per partition the other steps run side by side


class WhisperResource(dg.ConfigurableResource):
    """faster-whisper model plus decoding, VAD and hallucination-guard settings. Any field left None takes the
    preset's value (see the module docstring)."""

    model: str | None = Field(None, description="model name (base, tiny.en, ...), hub id or local CTranslate2 dir")
    preset: str | None = Field(None, description="fast / balanced / accurate; None = the run's preset")
    device: str = Field("auto", description="auto (CUDA if CTranslate2 sees a GPU) / cpu / cuda")
    compute_type: str | None = Field(None, description="int8 / int8_float16 / float16 / float32")
    beam_size: int | None = Field(None, ge=1)
    batched: bool | None = Field(None, description="BatchedInferencePipeline-style decoding (else sequential)")
    cpu_threads: int = Field(0, ge=0, description="threads per replica; 0 = cores / replicas")
    chunk_workers: int = Field(
        0, ge=0, description="model replicas: files and chunks decoded side by side; 0 = one per core, at most 4"
    )
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

    _load_s: float = PrivateAttr(default=0.0)

    # -- settings ------------------------------------------------------------------------------------------------
    def spec_for(self, run_spec: PresetSpec | str | None = None) -> PresetSpec:
        """This resource's own preset when set, else the run's (refused once, with the valid names, if unknown)."""
        return preset_spec(self.preset) if self.preset else preset_spec(run_spec)

    def device_name(self) -> str:
        return detect_device(self.device)

    def workers(self) -> int:
        if self.device_name() == "cuda":
            return 1
        return self.chunk_workers or auto_workers()

    def model_name(self, spec: PresetSpec) -> str:
        return self.model or spec.whisper.model

    def wanted_compute_type(self, spec: PresetSpec) -> str:
        return self.compute_type or spec.whisper.compute_type(self.device_name())

    def params(self, spec: PresetSpec) -> TranscribeParams:
        """Every decoding, VAD and guard setting of the preset with this resource's overrides."""
        w = spec.whisper
        values: dict[str, Any] = {
            "beam_size": self.beam_size or w.beam_size,
            "batched": w.batched if self.batched is None else self.batched,
            "batch_size": GPU_BATCH_SIZE if self.device_name() == "cuda" else CPU_BATCH_SIZE,
            "chunk_workers": self.workers(),
        }
        if w.temperatures is not None:
            values["temperatures"] = w.temperatures
        for field in _OVERRIDABLE:
            value = getattr(self, field)
            if value is not None:
                values[field] = value
        return TranscribeParams(**values)

    def identity(self, spec: PresetSpec) -> dict[str, Any]:
        """What transcripts depend on besides code (no model load): the weights, the runtime and the decoding."""
        name = self.model_name(spec)
        packaged = PACKAGED.get(ALIASES.get(name, name))
        if packaged is not None:
            weights: dict[str, Any] = {"weights": packaged.sha256[:12], **dist_versions(*packaged.packages)}
        else:
            weights = model_ref(name, packaged=name)
        return {
            "model": name,
            **weights,
            "compute_type": self.wanted_compute_type(spec),
            "device": self.device_name(),
            "decoding": self.params(spec).model_dump(mode="json", exclude={"chunk_workers"}),
            "preset": spec.name,
            **dist_versions("faster-whisper", "ctranslate2"),
        }

    # -- model ---------------------------------------------------------------------------------------------------
    def loaded(self, spec: PresetSpec) -> LoadedWhisper:
        """The model of the preset, loaded once per process (keyed by name, compute type, device and workers)."""
        workers = self.workers()
        name, compute, device = self.model_name(spec), self.wanted_compute_type(spec), self.device_name()
        cache = Path(self.model_cache_dir).expanduser() if self.model_cache_dir else None
        model, seconds = load_once(
            ("whisper", name, compute, device, workers, self.cpu_threads, self.allow_download, str(cache)),
            lambda: load_whisper(
                name,
                device=device,
                compute_type=compute,
                cpu_threads=self.cpu_threads,
                num_workers=workers,
                allow_download=self.allow_download,
                cache=cache,
            ),
        )
        self._load_s += seconds or 0.0
        return model

    def release(self) -> None:
        """Give this process's Whisper models back (see ``model_cache.release``)."""
        release("whisper")

    @property
    def load_seconds(self) -> float:
        """Seconds this resource spent loading models (0 when they came from the process's cache)."""
        return self._load_s

    def model_block(self, spec: PresetSpec) -> dict[str, Any]:
        """The ``model`` block of transcript.json: name, path, revision, backend, compute type, device, decoding."""
        p = self.params(spec)
        block = self.loaded(spec).info()
        block.update({"beam_size": p.beam_size, "batched": p.batched, "preset": spec.name})
        return block

    def transcribe(
        self, wav: str | Path, *, spec: PresetSpec, start_offset_s: float = 0.0, lost_s: float = 0.0
    ) -> Transcript:
        return transcribe_wav(
            self.loaded(spec),
            wav,
            self.params(spec),
            start_offset_s=start_offset_s,
            lost_s=lost_s,
            model_info=self.model_block(spec),
        )
