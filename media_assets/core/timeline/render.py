"""``timeline.png``: a swim-lane picture of the timeline, drawn with Pillow (no matplotlib).

Lanes from top to bottom, each only when it has events: scenes (with cuts and fades), keyframes, one lane per
speaker, transcript segments, sounds, the most frequent object labels, faces and on-screen text.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from media_assets.core.timeline.timeline_models import Timeline, TimelineEvent

LABEL_W = 170
RIGHT_PAD = 16
TOP = 34
LANE_H = 20
LANE_GAP = 4
AXIS_H = 26
MAX_OBJECT_LANES = 6
BACKGROUND = (255, 255, 255)
LANE_BG = (244, 245, 247)
GRID = (222, 224, 228)
INK = (40, 44, 52)
SPEAKER_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
SOUND_COLORS = {
    "speech": (120, 160, 210),
    "music": (150, 90, 200),
    "laughter": (240, 170, 40),
    "applause": (230, 110, 60),
    "noise": (150, 150, 150),
    "silence": (205, 205, 205),
    "other": (110, 180, 160),
}
NICE_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


@dataclass
class Lane:
    name: str
    items: list[tuple[float, float, tuple[int, int, int]]] = field(default_factory=list)
    ticks: list[tuple[float, tuple[int, int, int]]] = field(default_factory=list)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def clock(seconds: float) -> str:
    """``75.5`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    h, rem = divmod(round(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def speaker_color(speakers: list[str], sid: str | None) -> tuple[int, int, int]:
    if not sid or sid not in speakers:
        return (160, 160, 160)
    return SPEAKER_COLORS[speakers.index(sid) % len(SPEAKER_COLORS)]


def build_lanes(timeline: Timeline) -> list[Lane]:
    """The lanes to draw, in order (empty lanes left out)."""
    by_type: dict[str, list[TimelineEvent]] = {}
    for e in timeline.events:
        by_type.setdefault(e.type, []).append(e)
    speakers = sorted(ent.label for ent in timeline.entities if ent.type == "speaker")
    lanes: list[Lane] = []

    scenes = Lane("scenes")
    for n, e in enumerate(by_type.get("scene", [])):
        color = (50, 50, 50) if e.data.get("kind") == "black" else ((143, 168, 200) if n % 2 else (184, 200, 220))
        scenes.items.append((e.start, e.end, color))
    for e in by_type.get("transition", []):
        if e.data.get("kind") == "cut":
            scenes.ticks.append((e.start, (200, 30, 30)))
        else:
            scenes.items.append((e.start, e.end, (240, 150, 40)))
    lanes.append(scenes)
    lanes.append(Lane("keyframes", ticks=[(e.start, (90, 90, 90)) for e in by_type.get("keyframe", [])]))

    turns = by_type.get("speaker_turn", []) or [e for e in by_type.get("speech", []) if e.data.get("speaker")]
    for sid in speakers:
        color = speaker_color(speakers, sid)
        lanes.append(Lane(sid, items=[(e.start, e.end, color) for e in turns if e.data.get("speaker") == sid]))
    lanes.append(
        Lane(
            "transcript",
            items=[(e.start, e.end, speaker_color(speakers, e.data.get("speaker"))) for e in by_type.get("speech", [])],
        )
    )
    lanes.append(
        Lane(
            "sounds",
            items=[
                (e.start, e.end, SOUND_COLORS.get(str(e.data.get("category")), SOUND_COLORS["other"]))
                for e in by_type.get("audio_event", [])
            ],
        )
    )

    tracks = by_type.get("object_track", [])
    top = [label for label, _ in Counter(str(e.data.get("label")) for e in tracks).most_common(MAX_OBJECT_LANES)]
    for label in top:
        lanes.append(
            Lane(
                f"object: {label}",
                items=[(e.start, e.end, (60, 150, 120)) for e in tracks if e.data.get("label") == label],
            )
        )
    rest = [e for e in tracks if e.data.get("label") not in top]
    if rest:
        lanes.append(Lane("objects: other", items=[(e.start, e.end, (120, 170, 150)) for e in rest]))

    linked = {r.source: r.target.removeprefix("speaker:") for r in timeline.relationships if r.type == "face_speaker"}
    lanes.append(
        Lane(
            "faces",
            items=[(e.start, e.end, speaker_color(speakers, linked.get(e.id))) for e in by_type.get("face", [])],
        )
    )
    lanes.append(
        Lane("on-screen text", items=[(e.start, e.end, (120, 90, 170)) for e in by_type.get("text_event", [])])
    )
    return [lane for lane in lanes if lane.items or lane.ticks]


def _tick_step(duration: float, width_px: int) -> float:
    wanted = duration / max(2, width_px // 110)
    return next((s for s in NICE_STEPS if s >= wanted), NICE_STEPS[-1])


def _frange(step: float, end: float) -> Iterable[float]:
    n = 0
    while n * step <= end + 1e-9:
        yield n * step
        n += 1


def render_swimlanes(timeline: Timeline, path: str | os.PathLike[str], width: int = 1600) -> Path:
    """Draw the timeline as swim lanes into a PNG at ``path`` (written atomically); returns the path."""
    lanes = build_lanes(timeline)
    ends = [e.end for e in timeline.events]
    duration = timeline.video.duration or (max(ends) if ends else 0.0) or 1.0
    width = max(width, LABEL_W + RIGHT_PAD + 200)
    height = TOP + max(1, len(lanes)) * (LANE_H + LANE_GAP) + AXIS_H
    plot_w = width - LABEL_W - RIGHT_PAD
    img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    font, small = _font(13), _font(11)

    def x(t: float) -> float:
        return LABEL_W + max(0.0, min(t, duration)) / duration * plot_w

    v = timeline.video
    streams = ", ".join(s for s, ok in (("video", v.has_video), ("audio", v.has_audio)) if ok) or "no streams"
    title = f"{v.partition}  ·  {clock(duration)}  ·  {streams}  ·  {len(timeline.events)} events"
    draw.text((8, 9), title, fill=INK, font=font)
    if not lanes:
        draw.text((LABEL_W, TOP + 4), "nothing to show", fill=INK, font=font)

    step = _tick_step(duration, plot_w)
    axis_y = TOP + len(lanes) * (LANE_H + LANE_GAP)
    for t in _frange(step, duration):
        gx = round(x(t))
        draw.line([(gx, TOP - 2), (gx, axis_y)], fill=GRID)
        anchor = "ra" if gx > width - RIGHT_PAD - 24 else "ma"  # keep the last label inside the picture
        draw.text((gx, axis_y + 5), clock(t) if step >= 1 else f"{t:.1f}", fill=INK, font=small, anchor=anchor)

    for n, lane in enumerate(lanes):
        y0 = TOP + n * (LANE_H + LANE_GAP)
        y1 = y0 + LANE_H
        draw.rectangle([LABEL_W, y0, LABEL_W + plot_w, y1], fill=LANE_BG)
        draw.text((8, y0 + LANE_H / 2), lane.name[:24], fill=INK, font=small, anchor="lm")
        for start, end, color in lane.items:
            x0, x1 = x(start), x(end)
            if x1 - x0 < 2:  # instants and very short spans stay visible
                x1 = x0 + 2
            draw.rectangle([x0, y0 + 2, x1 - 1, y1 - 2], fill=color)
        dense = len(lane.ticks) > plot_w / 6
        if dense and lane.items:  # cuts closer than a few pixels: the alternating scene colours show them
            continue
        for t, color in lane.ticks:
            tx = round(x(t))
            draw.line([(tx, y0), (tx, y1)], fill=color, width=1 if dense else 2)
    draw.line([(LABEL_W, axis_y), (LABEL_W + plot_w, axis_y)], fill=INK)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        img.save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
