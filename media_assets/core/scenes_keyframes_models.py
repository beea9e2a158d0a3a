"""Typed results of the visual pass: scenes, transitions and keyframes (the JSON schemas in docs/outputs.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class VisualParams(BaseModel):
    """Knobs of the single visual pass. Defaults are tuned on the truth set in ../shared/media."""

    mode: Literal["exact", "keyframes"] = Field(
        "exact",
        description="exact: every reference frame plus the frames around suspected cuts (frame-exact cuts); "
        "keyframes: decode only the stream's keyframes (fast mode for long files, cuts at GOP precision).",
    )
    keyframes_mode_over_s: float | None = Field(
        None, description="switch to keyframes mode automatically for inputs longer than this"
    )
    skip_nonref: bool = Field(True, description="leave unreferenced frames undecoded unless next to a cut")
    deblock: bool = Field(
        True,
        description="run the H.264/HEVC in-loop deblocking filter; False saves ~20% of decode time but leaves "
        "block edges in keyframe images (the fast preset's trade-off; cut detection is unaffected)",
    )
    analysis_width: int = Field(96, description="width in pixels of the sampled grid used for detection")
    # content (HSV) detector with an adaptive threshold
    min_content: float = 12.0
    adaptive_ratio: float = 3.0
    adaptive_window: int = 2
    content_threshold: float = 30.0
    min_scene_len_s: float = 0.4
    # fades to and from black (threshold method)
    black_threshold: float = 14.0
    black_hysteresis: float = 2.0
    min_black_s: float = 0.0
    # keyframes
    keyframe_interval_s: float = 10.0
    max_keyframes: int = 400
    dedup_hamming: int = 5
    dedup_max_colour_diff: float = Field(
        12.0,
        description="...and whose mean colours over a 4x4 grid differ by at most this (0-255): two shots with the "
        "same layout in other colours are not duplicates",
    )
    keyframe_max_side: int = 1280
    thumbnail_sizes: list[int] = Field(default_factory=lambda: [320])
    jpeg_quality: int = 90
    contact_sheet_tile_width: int = 240
    contact_sheet_columns: int = 6
    contact_sheet_max_tiles: int = 48
    big_packet_factor: float = 2.0
    # fixed-rate sampling for screen recordings and slides (OCR, VLMs), taken in the same decode
    sample_fps: float | None = Field(
        None, description="also save one frame per 1/sample_fps seconds (samples.json); None: off"
    )
    max_samples: int = Field(36_000, description="cap on sampled frames per video")
    sample_max_side: int = Field(1280, description="sampled frames are scaled to fit this side")


class Transition(BaseModel):
    kind: Literal["cut", "fade_in", "fade_out"]
    frame: int = Field(description="cut: first frame of the new shot; fades: first frame of the ramp")
    end_frame: int = Field(description="cut: same as frame; fades: last frame of the ramp")
    time_s: float
    end_time_s: float
    score: float = 0.0
    exact: bool = Field(True, description="False when the position is only known within a decode gap")
    black: Literal["to", "from", None] = None


class Scene(BaseModel):
    index: int
    kind: Literal["shot", "black"]
    start_frame: int
    end_frame: int = Field(description="inclusive")
    start_s: float
    end_s: float = Field(description="exclusive: start of the next scene, or the end of the video")
    duration_s: float
    start_pts_s: float
    mean_luma: float
    keyframes: list[int] = Field(default_factory=list, description="indices into keyframes")


class Keyframe(BaseModel):
    index: int
    scene_index: int
    frame: int
    time_s: float
    pts_s: float
    reason: Literal["scene_best", "interval"]
    sharpness: float
    dhash: str
    duplicate_of: int | None = None
    image: str | None = Field(None, description="path relative to the output folder; None for duplicates")
    width: int
    height: int
    thumbnails: dict[str, str] = Field(default_factory=dict)


class Sample(BaseModel):
    """A frame taken at a fixed rate: the first decoded frame at or after each tick of 1/sample_fps."""

    index: int
    frame: int
    time_s: float
    pts_s: float
    image: str | None = Field(None, description="path relative to the output folder; None when not written")
    width: int
    height: int
    duplicate_of: int | None = Field(
        None, description="an earlier sample with exactly the same pixels, whose image and results this one shares"
    )


class DecodeReport(BaseModel):
    mode: str
    codec: str
    frames_total: int
    frames_decoded: int
    frames_skipped: int
    decode_errors: int
    error_messages: list[str] = Field(default_factory=list)
    expected_frames: int | None = None
    lost_frames: int = 0
    lost_s: float = 0.0
    lost_fraction: float = 0.0
    elapsed_s: float


class VideoTimeline(BaseModel):
    width: int
    height: int
    display_width: int
    display_height: int
    rotation: int
    fps: float
    start_pts_s: float
    origin_s: float = Field(description="timeline origin: times are pts_s - origin_s")
    duration_s: float


class VisualResult(BaseModel):
    video: VideoTimeline
    scenes: list[Scene]
    transitions: list[Transition]
    keyframes: list[Keyframe]
    contact_sheet: str | None = None
    samples: list[Sample] = Field(default_factory=list)
    decode: DecodeReport
    params: VisualParams
