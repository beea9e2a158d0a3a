"""Typed results of diarization (the ``diarization.json`` contract in docs/outputs.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from media_assets.core.errors import ModelLoadError
from media_assets.core.speech.rttm import Turn


class DiarizationModelError(ModelLoadError):
    """A diarization model or backend could not be loaded (names the model and the places tried)."""


class SpeakerCount(BaseModel):
    """Constraints on the number of speakers; all optional. ``num_speakers`` wins over min/max."""

    model_config = ConfigDict(frozen=True)

    num_speakers: int | None = Field(None, ge=1)
    min_speakers: int | None = Field(None, ge=1)
    max_speakers: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> SpeakerCount:
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError(f"min_speakers ({self.min_speakers}) > max_speakers ({self.max_speakers})")
        return self

    @property
    def bounds(self) -> tuple[int, int | None]:
        """(lowest, highest) allowed count; highest is None when unbounded."""
        if self.num_speakers:
            return self.num_speakers, self.num_speakers
        return self.min_speakers or 1, self.max_speakers

    def merged(self, override: SpeakerCount | dict | None) -> SpeakerCount:
        """These constraints with the fields set in ``override`` replacing them (a per-partition override)."""
        if override is None:
            return self
        if isinstance(override, dict):
            override = SpeakerCount.model_validate(override)
        return SpeakerCount.model_validate({**self.model_dump(), **override.model_dump(exclude_unset=True)})


class ModelInfo(BaseModel):
    """Provenance of the model that produced an output."""

    name: str
    path: str
    revision: str
    backend: str
    device: str = "cpu"
    compute_type: str = "float32"
    preset: str | None = None
    extra: dict[str, str | float | int | bool | None] = Field(default_factory=dict)


class SpeakerSummary(BaseModel):
    id: str
    total_s: float
    turns: int


class SpeakerSegment(BaseModel):
    start: float
    end: float
    speaker: str
    confidence: float
    overlap: bool = False


class DiarizationResult(BaseModel):
    """Who spoke when, on the media timeline."""

    has_audio: bool = True
    reason: str | None = None
    model: ModelInfo | None = None
    backend: str | None = None
    params: SpeakerCount = SpeakerCount()
    num_speakers: int = 0
    speakers: list[SpeakerSummary] = Field(default_factory=list)
    segments: list[SpeakerSegment] = Field(default_factory=list)
    overlap_s: float = 0.0
    duration_s: float | None = None
    speech_s: float = 0.0
    elapsed_s: float | None = None

    def turns(self) -> list[Turn]:
        return [Turn(s.start, s.end, s.speaker) for s in self.segments]

    def shifted(self, offset_s: float) -> DiarizationResult:
        """The same result moved by ``offset_s`` (WAV time -> media timeline)."""
        if not offset_s:
            return self
        segs = [s.model_copy(update={"start": s.start + offset_s, "end": s.end + offset_s}) for s in self.segments]
        return self.model_copy(update={"segments": segs})

    def to_json(self) -> dict:
        """The ``diarization.json`` document (``{"has_audio": false, "reason": ...}`` without audio)."""
        if not self.has_audio:
            return {"has_audio": False, "reason": self.reason or "no audio stream"}
        return self.model_dump(mode="json", exclude={"reason"})
