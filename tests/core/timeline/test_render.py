"""timeline.png: lanes per type and speaker, drawn where the events are."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from media_assets.core.timeline.fuse import fuse_timeline
from media_assets.core.timeline.inputs import inputs_from_files
from media_assets.core.timeline.render import (
    LABEL_W,
    LANE_BG,
    LANE_GAP,
    LANE_H,
    RIGHT_PAD,
    SPEAKER_COLORS,
    TOP,
    build_lanes,
    clock,
    render_swimlanes,
)
from media_assets.core.timeline.timeline_models import Entity, Timeline, TimelineEvent, TimelineVideo
from tests.core.timeline.synthetic import synthetic_outputs


def _ev(id_: str, type_: str, start: float, end: float, **data) -> TimelineEvent:
    return TimelineEvent(id=id_, type=type_, start=start, end=end, data=data)


def _two_speakers() -> Timeline:
    return Timeline(
        video=TimelineVideo(partition="p", duration=100.0, has_audio=True, has_video=True),
        events=[
            _ev("scene:0", "scene", 0, 50, kind="shot", index=0),
            _ev("scene:1", "scene", 50, 100, kind="shot", index=1),
            _ev("transition:0", "transition", 50, 50, kind="cut"),
            _ev("turn:0", "speaker_turn", 10, 30, speaker="SPEAKER_00"),
            _ev("turn:1", "speaker_turn", 60, 90, speaker="SPEAKER_01"),
        ],
        entities=[
            Entity(id="speaker:SPEAKER_00", type="speaker", label="SPEAKER_00", event_ids=["turn:0"], total_s=20),
            Entity(id="speaker:SPEAKER_01", type="speaker", label="SPEAKER_01", event_ids=["turn:1"], total_s=30),
        ],
    )


def test_lanes_and_pixels(tmp_path: Path) -> None:
    tl = _two_speakers()
    assert [lane.name for lane in build_lanes(tl)] == ["scenes", "SPEAKER_00", "SPEAKER_01"]
    path = render_swimlanes(tl, tmp_path / "t.png", width=1000)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width == 1000
        px = im.convert("RGB").load()
    plot_w = 1000 - LABEL_W - RIGHT_PAD

    def at(t: float, lane: int) -> tuple[int, int, int]:
        return px[round(LABEL_W + t / 100 * plot_w), TOP + lane * (LANE_H + LANE_GAP) + LANE_H // 2]

    assert at(20, 1) == SPEAKER_COLORS[0] and at(75, 2) == SPEAKER_COLORS[1]
    assert at(45, 1) == LANE_BG and at(20, 2) == LANE_BG  # silence, and the other speaker's lane
    assert at(50, 0) == (200, 30, 30)  # the cut


def test_audio_less_timeline_has_no_speech_lanes(tmp_path: Path) -> None:
    tl = fuse_timeline(inputs_from_files("s", synthetic_outputs(60.0, seed=5, has_audio=False)))
    names = [lane.name for lane in build_lanes(tl)]
    assert names[:2] == ["scenes", "keyframes"] and "transcript" not in names and "sounds" not in names
    assert not any(n.startswith("SPEAKER_") for n in names) and any(n.startswith("object: ") for n in names)
    path = render_swimlanes(tl, tmp_path / "s.png")
    with Image.open(path) as im:
        assert im.size == (1600, TOP + len(names) * (LANE_H + LANE_GAP) + 26)


def test_empty_timeline_still_renders(tmp_path: Path) -> None:
    path = render_swimlanes(Timeline(video=TimelineVideo(partition="e")), tmp_path / "e.png", width=600)
    with Image.open(path) as im:
        assert im.width == 600 and im.height > TOP


def test_clock() -> None:
    assert [clock(t) for t in (0, 75.4, 3725)] == ["0:00", "1:15", "1:02:05"]
