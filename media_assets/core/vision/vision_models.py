"""Typed results of the vision tier: detections per frame, text events and object tracks (docs/outputs.md).

Boxes are ``[x1, y1, x2, y2]`` and points ``[x, y]``, normalised to 0-1 of the displayed image, so they do not
depend on the resolution a model ran at.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Box = list[float]
Point = list[float]
FrameSource = Literal["keyframe", "sample"]
FrameStatus = Literal["ok", "unreadable", "empty"]


class ModelInfo(BaseModel):
    """Provenance of one model: what ran, from where, which weights, on what."""

    name: str
    path: str = Field(description="resolved local path, or where packaged weights came from")
    revision: str = Field(description="sha256 prefix of the weights, or the package version")
    backend: str
    device: str = "cpu"
    compute_type: str = "float32"
    providers: list[str] = Field(default_factory=list)


class ObjectDetection(BaseModel):
    label: str
    class_id: int
    confidence: float
    box: Box


class FaceDetection(BaseModel):
    confidence: float
    box: Box
    landmarks: list[Point] = Field(
        description="left eye, right eye, nose, left mouth corner, right mouth corner (image left/right)"
    )


class TextDetection(BaseModel):
    text: str
    confidence: float
    polygon: list[Point] = Field(description="4 points clockwise from top-left")
    box: Box
    direction: Literal["horizontal", "vertical"] = "horizontal"


class FrameDetections(BaseModel):
    """Everything found on one sampled frame; ``status`` says whether the image could be read at all."""

    source: FrameSource
    index: int = Field(description="index into keyframes.json or samples.json")
    frame: int
    time_s: float
    image: str | None
    width: int
    height: int
    duplicate_of: int | None = Field(
        None, description="keyframe whose image this one shares (keyframes.json); its results are copies"
    )
    status: FrameStatus = "ok"
    error: str | None = None
    objects: list[ObjectDetection] = Field(default_factory=list)
    faces: list[FaceDetection] = Field(default_factory=list)
    text: list[TextDetection] = Field(default_factory=list)


class TextEvent(BaseModel):
    id: int
    text: str
    start: float = Field(description="time of the first sampled frame showing the text")
    end: float = Field(description="time of the last sampled frame showing the text")
    first_frame: int
    last_frame: int
    frames: int
    confidence: float
    box: Box


class TrackBox(BaseModel):
    time_s: float
    frame: int
    box: Box


class ObjectTrack(BaseModel):
    id: int
    label: str
    start: float
    end: float
    frames: int
    confidence: float
    boxes: list[TrackBox]


class EventParams(BaseModel):
    """How detections are linked into events; the defaults are tuned on the truth set."""

    text_max_distance: float = Field(
        0.3, description="normalised edit distance under which two texts are the same (OCR jitter)"
    )
    text_same_digits: bool = Field(True, description="texts whose digits differ are different (counters, clocks)")
    merge_lines: bool = Field(True, description="join the lines of one text block (a two-line title) before linking")
    max_missed_frames: int = Field(1, description="a text or object may be missed on this many sampled frames")
    track_iou: float = Field(0.3, description="minimum overlap to link an object to a track of its class")
    min_track_frames: int = Field(1, description="shorter tracks are dropped")


class EventsResult(BaseModel):
    text_events: list[TextEvent] = Field(default_factory=list)
    object_tracks: list[ObjectTrack] = Field(default_factory=list)
