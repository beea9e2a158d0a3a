"""Typed timeline: what ``timeline.json`` holds (the contract in docs/outputs.md, field names included)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

EventType = Literal[
    "scene",
    "transition",
    "keyframe",
    "speech",
    "speaker_turn",
    "audio_event",
    "object_track",
    "face",
    "text_event",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
EntityType = Literal["speaker", "object", "text"]
RelationshipType = Literal["face_speaker", "text_speech", "sound_in_scene"]
QualityStatus = Literal["ok", "missing", "not_applicable", "failed", "invalid"]

FUSION_NAME = "media-assets-timeline-fusion"
FUSION_REVISION = "1"  # bump when the fusion rules change the output


class FusionParams(BaseModel):
    """Thresholds of the linking rules; recorded in timeline.json so a result can be explained."""

    face_min_overlap: float = Field(0.2, description="face_speaker: min fraction of the face span the speaker talks")
    face_dominance: float = Field(0.6, description="face_speaker: min share of the span's speech by that speaker")
    text_window_s: float = Field(10.0, description="text_speech: transcript segments this close in time are compared")
    text_min_score: float = Field(0.5, description="text_speech: min fraction of the text's words heard")
    text_fuzzy_ratio: float = Field(0.8, description="text_speech: min similarity for two words to match (OCR noise)")
    recurring_min: int = Field(2, description="objects / texts seen in at least this many events become entities")


class FusionModel(BaseModel):
    """Provenance block (every output file carries one): the fusion code plus the upstream models."""

    name: str = FUSION_NAME
    path: str | None = None
    revision: str = FUSION_REVISION
    backend: str = "python"
    device: str = "cpu"
    upstream: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="input file -> its model block(s): name, revision, compute type"
    )


class TimelineVideo(BaseModel):
    partition: str
    source: str | None = None
    duration: float | None = Field(None, description="seconds on the media timeline")
    has_audio: bool = False
    has_video: bool = False


class TimelineEvent(BaseModel):
    id: str = Field(description="stable within the partition: '<kind>:<n>', e.g. scene:3, speech:12, ocr:4")
    type: EventType
    start: float
    end: float
    confidence: float | None = Field(None, description="0-1 when the producer gives one, else null")
    data: dict[str, Any] = Field(default_factory=dict)


class Entity(BaseModel):
    id: str
    type: EntityType
    label: str
    event_ids: list[str]
    total_s: float = Field(description="union of the time covered by its events")


class Relationship(BaseModel):
    type: RelationshipType
    source: str = Field(description="event id (face, text_event, audio_event)")
    target: str = Field(description="speaker entity id, speech event id or scene event id")
    score: float


class SceneWord(BaseModel):
    start: float
    end: float
    word: str
    probability: float | None = None
    speaker: str | None = None


class SceneSpeaker(BaseModel):
    id: str
    speech_s: float = Field(description="time this speaker talks inside the scene")
    words: int = 0


class SceneObject(BaseModel):
    label: str
    tracks: int
    confidence: float | None = Field(None, description="best track confidence")


class SceneFace(BaseModel):
    event_id: str
    start: float
    end: float
    count: int = Field(description="most faces seen in one frame")
    confidence: float | None = None
    speaker: str | None = Field(None, description="linked speaker entity id (face_speaker), if any")


class SceneText(BaseModel):
    event_id: str
    text: str
    start: float
    end: float
    confidence: float | None = None


class SceneSound(BaseModel):
    event_id: str
    label: str
    category: str | None = None
    start: float
    end: float
    confidence: float | None = None


class SceneView(BaseModel):
    """One scene with everything that happens in it; a word belongs to the scene holding its midpoint."""

    index: int
    start: float
    end: float
    words: list[SceneWord] = Field(default_factory=list)
    text: str = ""
    speakers: list[SceneSpeaker] = Field(default_factory=list)
    objects: list[SceneObject] = Field(default_factory=list)
    faces: list[SceneFace] = Field(default_factory=list)
    on_screen_text: list[SceneText] = Field(default_factory=list)
    sounds: list[SceneSound] = Field(default_factory=list)


class ModalityQuality(BaseModel):
    """How much to trust one input: ``status`` says whether it exists, ``score`` (0-1) how good it is."""

    status: QualityStatus
    score: float | None = None
    reason: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)


class Timeline(BaseModel):
    video: TimelineVideo
    model: FusionModel = Field(default_factory=FusionModel)
    params: FusionParams = Field(default_factory=FusionParams)
    events: list[TimelineEvent] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    relationships: list[Relationship] = Field(default_factory=list)
    scenes: list[SceneView] = Field(default_factory=list)
    quality: dict[str, ModalityQuality] = Field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Events per type (every type listed, zeros included)."""
        out = dict.fromkeys(EVENT_TYPES, 0)
        for e in self.events:
            out[e.type] += 1
        return out
