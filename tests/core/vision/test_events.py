"""Text events and object tracks on hand-made frame sequences with known answers."""

from __future__ import annotations

from media_assets.core.vision.events import (
    edit_distance,
    object_tracks,
    text_blocks,
    text_distance,
    text_events,
)
from media_assets.core.vision.vision_models import (
    EventParams,
    FrameDetections,
    ObjectDetection,
    TextDetection,
)


def _line(text: str, box: list[float], confidence: float = 0.9) -> TextDetection:
    x1, y1, x2, y2 = box
    return TextDetection(text=text, confidence=confidence, polygon=[[x1, y1], [x2, y1], [x2, y2], [x1, y2]], box=box)


def _obj(label: str, box: list[float], confidence: float = 0.8) -> ObjectDetection:
    return ObjectDetection(label=label, class_id=0, confidence=confidence, box=box)


def _frame(n: int, text=(), objects=(), status="ok", source="sample", duplicate_of=None) -> FrameDetections:
    return FrameDetections(
        source=source,
        index=n,
        frame=n * 10,
        time_s=n * 0.5,
        image=None,
        width=640,
        height=360,
        status=status,
        duplicate_of=duplicate_of,
        text=list(text),
        objects=list(objects),
    )


TOP = [0.2, 0.4, 0.8, 0.47]
BOTTOM = [0.4, 0.48, 0.6, 0.54]
SUB = [0.1, 0.85, 0.9, 0.92]


def test_edit_distance() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert text_distance("Frame = 1", "frame=1") == 0.0  # spacing, case and punctuation do not count
    assert text_distance("abc", "xyz") == 1.0


def test_ocr_jitter_does_not_split_an_event_and_the_common_reading_wins() -> None:
    readings = ["THE PEACH OPEN MOVIE", "THE PEACH 0PEN MOVIE", "THE PEACH OPEN MOVIE", "THE PEACHOPEN MOVIE"]
    frames = [_frame(i, [_line(t, TOP, 0.8 + i / 100)]) for i, t in enumerate(readings)]
    (ev,) = text_events(frames)
    assert ev.text == "THE PEACH OPEN MOVIE"
    assert (ev.start, ev.end, ev.first_frame, ev.last_frame, ev.frames) == (0.0, 1.5, 0, 30, 4)
    assert ev.confidence == round(sum(0.8 + i / 100 for i in range(4)) / 4, 4)
    assert ev.box == TOP


def test_different_text_and_changed_digits_are_new_events() -> None:
    frames = [
        _frame(0, [_line("Hello there", SUB)]),
        _frame(1, [_line("Hello there", SUB)]),
        _frame(2, [_line("Something else entirely", SUB)]),
        _frame(3, [_line("Score 10", TOP)]),
        _frame(4, [_line("Score 11", TOP)]),
    ]
    events = text_events(frames)
    assert [(e.text, e.first_frame, e.last_frame) for e in events] == [
        ("Hello there", 0, 10),
        ("Something else entirely", 20, 20),
        ("Score 10", 30, 30),
        ("Score 11", 40, 40),
    ]
    merged = text_events(frames, EventParams(text_same_digits=False))
    assert [(e.text, e.frames) for e in merged][-1][1] == 2


def test_two_line_title_is_one_block_and_one_event() -> None:
    lines = [_line("PRESENTS", BOTTOM), _line("THE PEACH OPEN MOVIE PROJECT", TOP)]
    (block,) = text_blocks(lines)
    assert block.text == "THE PEACH OPEN MOVIE PROJECT PRESENTS"
    assert block.box == [0.2, 0.4, 0.8, 0.54]
    far = [_line("TOP LINE", [0.1, 0.05, 0.5, 0.1]), _line("a subtitle", SUB)]
    assert [b.text for b in text_blocks(far)] == ["TOP LINE", "a subtitle"]
    side = [_line("World", [0.52, 0.4, 0.7, 0.46]), _line("Hello", [0.3, 0.4, 0.5, 0.46])]
    assert [b.text for b in text_blocks(side)] == ["Hello World"]
    assert len(text_blocks(lines, merge=False)) == 2
    frames = [_frame(0, lines), _frame(1, lines[1:]), _frame(2, lines)]
    (ev,) = text_events(frames)  # one frame read only the first line: still the same event
    assert ev.frames == 3 and ev.text == "THE PEACH OPEN MOVIE PROJECT PRESENTS"


def test_missed_frames_unreadable_frames_and_duplicates() -> None:
    t = [_line("Slide one", TOP)]
    frames = [_frame(0, t), _frame(1), _frame(2, t), _frame(3), _frame(4), _frame(5, t)]
    assert [(e.first_frame, e.last_frame) for e in text_events(frames)] == [(0, 20), (50, 50)]
    assert len(text_events(frames, EventParams(max_missed_frames=0))) == 3
    assert len(text_events(frames, EventParams(max_missed_frames=2))) == 1
    # an unreadable frame is not evidence of anything; a duplicate keyframe is not an observation
    frames = [_frame(0, t), _frame(1, status="unreadable"), _frame(2, status="unreadable"), _frame(3, t)]
    assert [e.frames for e in text_events(frames)] == [2]
    frames = [_frame(0, t), _frame(1, t, source="keyframe", duplicate_of=0)]
    assert [(e.end, e.frames) for e in text_events(frames)] == [(0.0, 1)]
    assert text_events([]) == []


def test_object_tracks_link_by_overlap_and_class() -> None:
    frames = [
        _frame(0, objects=[_obj("person", [0.10, 0.1, 0.30, 0.9]), _obj("dog", [0.5, 0.5, 0.7, 0.7])]),
        _frame(1, objects=[_obj("person", [0.12, 0.1, 0.32, 0.9]), _obj("person", [0.6, 0.1, 0.8, 0.9])]),
        _frame(2, objects=[_obj("person", [0.14, 0.1, 0.34, 0.9], 0.6), _obj("cat", [0.5, 0.5, 0.7, 0.7])]),
        _frame(3),
        _frame(4),
        _frame(5, objects=[_obj("person", [0.14, 0.1, 0.34, 0.9])]),
    ]
    tracks = object_tracks(frames)
    summary = [(t.label, t.start, t.end, t.frames) for t in tracks]
    assert summary == [
        ("dog", 0.0, 0.0, 1),
        ("person", 0.0, 1.0, 3),
        ("person", 0.5, 0.5, 1),
        ("cat", 1.0, 1.0, 1),
        ("person", 2.5, 2.5, 1),
    ]
    walker = tracks[1]
    assert [b.frame for b in walker.boxes] == [0, 10, 20] and walker.confidence == round((0.8 + 0.8 + 0.6) / 3, 4)
    assert [t.id for t in tracks] == list(range(len(tracks)))
    assert len(object_tracks(frames, EventParams(min_track_frames=2))) == 1
    assert len(object_tracks(frames, EventParams(max_missed_frames=2))) == 4
