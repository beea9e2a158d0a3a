"""Per-frame detections linked over time: text events (slides, titles, subtitles) and object tracks.

Text: the lines of one block (a two-line title) are joined first, then a block seen on consecutive sampled
frames becomes one event. Texts match when their normalised edit distance is small (OCR jitter such as a
dropped space or a misread letter does not split an event) and, by default, their digits are identical (a
counter or a clock that changes is new text; a reading without any digit still matches, as OCR reads
some O as 0). Objects: detections of one class are linked from frame to frame by box overlap (IoU),
greedily, best overlap first. Both allow ``max_missed_frames`` sampled frames without a sighting. Frames
that could not be read and duplicate keyframes are left out of the sequence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from media_assets.core.vision.objects import box_iou
from media_assets.core.vision.vision_models import (
    EventParams,
    EventsResult,
    FrameDetections,
    ObjectTrack,
    TextDetection,
    TextEvent,
    TrackBox,
)

LINE_GAP = 0.7  # lines of a block are at most this many line heights apart
SAME_ROW_GAP = 1.0  # pieces of one line are at most this many line heights apart horizontally


# --------------------------------------------------------------------------------------------------------------
# text comparison
# --------------------------------------------------------------------------------------------------------------


def normalise_text(text: str) -> str:
    """What is compared: letters and digits only, case-folded."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def text_distance(a: str, b: str) -> float:
    """Edit distance of the normalised texts divided by the longer length: 0 same, 1 nothing in common."""
    na, nb = normalise_text(a), normalise_text(b)
    if not na and not nb:
        return 0.0
    return edit_distance(na, nb) / max(len(na), len(nb))


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def same_text(a: str, b: str, params: EventParams) -> float | None:
    """The distance between ``a`` and ``b`` if they count as the same text, else None."""
    da, db = _digits(a), _digits(b)
    if params.text_same_digits and da and db and da != db:  # one side without digits: an O read as 0
        return None
    d = text_distance(a, b)
    return d if d <= params.text_max_distance else None


# --------------------------------------------------------------------------------------------------------------
# text blocks
# --------------------------------------------------------------------------------------------------------------


@dataclass
class TextBlock:
    text: str
    confidence: float
    box: list[float]


def _height(box: Sequence[float]) -> float:
    return max(box[3] - box[1], 1e-6)


def _belongs_together(a: TextDetection, b: TextDetection) -> bool:
    """Lines ``a`` and ``b`` are pieces of one line or consecutive lines of one block."""
    ha, hb = _height(a.box), _height(b.box)
    if max(ha, hb) > 2 * min(ha, hb):
        return False
    h = min(ha, hb)
    v_overlap = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
    h_overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    if v_overlap > 0.5 * h:  # same row: close enough horizontally
        return -h_overlap < SAME_ROW_GAP * h
    v_gap = -v_overlap
    return h_overlap > 0 and v_gap < LINE_GAP * h


def _reading_order(lines: list[TextDetection]) -> list[TextDetection]:
    """Top to bottom by rows (lines whose centres are within half a line height), left to right in a row."""
    rows: list[list[TextDetection]] = []
    for ln in sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        centre = (ln.box[1] + ln.box[3]) / 2
        last = rows[-1][-1] if rows else None
        if last is not None and abs(centre - (last.box[1] + last.box[3]) / 2) < 0.5 * _height(last.box):
            rows[-1].append(ln)
        else:
            rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def text_blocks(lines: Sequence[TextDetection], merge: bool = True) -> list[TextBlock]:
    """Group the OCR lines of one frame into blocks (reading order inside each block)."""
    lines = [ln for ln in lines if ln.text.strip()]
    parent = list(range(len(lines)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if merge:
        for i in range(len(lines)):
            for j in range(i + 1, len(lines)):
                if _belongs_together(lines[i], lines[j]):
                    parent[find(i)] = find(j)
    groups: dict[int, list[TextDetection]] = {}
    for i, ln in enumerate(lines):
        groups.setdefault(find(i), []).append(ln)
    blocks = []
    for members in groups.values():
        members = _reading_order(members)
        boxes = np.array([m.box for m in members])
        blocks.append(
            TextBlock(
                text=" ".join(m.text.strip() for m in members),
                confidence=float(np.mean([m.confidence for m in members])),
                box=[*boxes[:, :2].min(axis=0).tolist(), *boxes[:, 2:].max(axis=0).tolist()],
            )
        )
    blocks.sort(key=lambda b: (b.box[1], b.box[0]))
    return blocks


# --------------------------------------------------------------------------------------------------------------
# linking
# --------------------------------------------------------------------------------------------------------------


def _ordered_frames(frames: Iterable[FrameDetections]) -> list[FrameDetections]:
    """Readable frames in time order, one per frame number (a keyframe that is also a sample counts once).
    Duplicate keyframes are left out: their results are copies of another frame's, not observations."""
    seen: set[int] = set()
    out = []
    for f in sorted(frames, key=lambda f: (f.time_s, f.frame, f.source != "keyframe")):
        if f.status != "ok" or f.frame in seen or f.duplicate_of is not None:
            continue
        seen.add(f.frame)
        out.append(f)
    return out


@dataclass
class _OpenText:
    texts: Counter = field(default_factory=Counter)
    last_text: str = ""
    confidences: list[float] = field(default_factory=list)
    boxes: list[list[float]] = field(default_factory=list)
    frames: list[FrameDetections] = field(default_factory=list)
    last_pos: int = 0

    def add(self, block: TextBlock, frame: FrameDetections, pos: int) -> None:
        self.texts[block.text] += 1
        self.last_text = block.text
        self.confidences.append(block.confidence)
        self.boxes.append(block.box)
        self.frames.append(frame)
        self.last_pos = pos

    def distance(self, text: str, params: EventParams) -> float | None:
        candidates = (self.last_text, self.texts.most_common(1)[0][0])
        found = [d for t in candidates if (d := same_text(t, text, params)) is not None]
        return min(found) if found else None


def greedy_match(pairs: Iterable[tuple[float, int, int]]) -> dict[int, int]:
    """One-to-one matching of (cost, a, b) pairs, cheapest first; a -> b in the order they were matched."""
    matched: dict[int, int] = {}
    used_b: set[int] = set()
    for _, a, b in sorted(pairs):
        if a not in matched and b not in used_b:
            matched[a] = b
            used_b.add(b)
    return matched


def text_events(frames: Iterable[FrameDetections], params: EventParams | None = None) -> list[TextEvent]:
    """Text blocks linked over consecutive sampled frames into events with a start and an end."""
    p = params or EventParams()
    ordered = _ordered_frames(frames)
    open_: list[_OpenText] = []
    done: list[_OpenText] = []
    for pos, frame in enumerate(ordered):
        blocks = text_blocks(frame.text, p.merge_lines)
        pairs = []
        for ei, ev in enumerate(open_):
            for bi, block in enumerate(blocks):
                d = ev.distance(block.text, p)
                if d is not None:
                    pairs.append((d, ei, bi))
        matched = greedy_match(pairs)
        used_b = set(matched.values())
        for ei, bi in matched.items():
            open_[ei].add(blocks[bi], frame, pos)
        for bi, block in enumerate(blocks):
            if bi not in used_b:
                ev = _OpenText()
                ev.add(block, frame, pos)
                open_.append(ev)
        still = []
        for ev in open_:
            (still if pos - ev.last_pos <= p.max_missed_frames else done).append(ev)
        open_ = still
    done.extend(open_)
    events = []
    for ev in sorted(done, key=lambda e: (e.frames[0].time_s, e.boxes[0][1], e.boxes[0][0])):
        text = max(ev.texts, key=lambda t: (ev.texts[t], len(t)))
        boxes = np.array(ev.boxes)
        events.append(
            TextEvent(
                id=len(events),
                text=text,
                start=ev.frames[0].time_s,
                end=ev.frames[-1].time_s,
                first_frame=ev.frames[0].frame,
                last_frame=ev.frames[-1].frame,
                frames=len(ev.frames),
                confidence=round(float(np.mean(ev.confidences)), 4),
                box=[round(float(v), 5) for v in (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))],
            )
        )
    return events


@dataclass
class _OpenTrack:
    label: str
    boxes: list[TrackBox] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    last_pos: int = 0


def object_tracks(frames: Iterable[FrameDetections], params: EventParams | None = None) -> list[ObjectTrack]:
    """Objects of one class linked across consecutive sampled frames by box overlap."""
    p = params or EventParams()
    open_: list[_OpenTrack] = []
    done: list[_OpenTrack] = []
    for pos, frame in enumerate(_ordered_frames(frames)):
        dets = frame.objects
        pairs = []
        if open_ and dets:
            iou = box_iou(np.array([t.boxes[-1].box for t in open_]), np.array([d.box for d in dets]))
            for ti, t in enumerate(open_):
                for di, d in enumerate(dets):
                    if d.label == t.label and iou[ti, di] >= p.track_iou:
                        pairs.append((-iou[ti, di], ti, di))
        matched = greedy_match(pairs)
        used_d = set(matched.values())
        for ti, di in matched.items():
            _extend(open_[ti], dets[di].box, dets[di].confidence, frame, pos)
        for di, d in enumerate(dets):
            if di not in used_d:
                t = _OpenTrack(d.label)
                _extend(t, d.box, d.confidence, frame, pos)
                open_.append(t)
        still = []
        for t in open_:
            (still if pos - t.last_pos <= p.max_missed_frames else done).append(t)
        open_ = still
    done.extend(open_)
    tracks = []
    for t in sorted(done, key=lambda t: (t.boxes[0].time_s, t.label, t.boxes[0].box[0])):
        if len(t.boxes) < p.min_track_frames:
            continue
        tracks.append(
            ObjectTrack(
                id=len(tracks),
                label=t.label,
                start=t.boxes[0].time_s,
                end=t.boxes[-1].time_s,
                frames=len(t.boxes),
                confidence=round(float(np.mean(t.confidences)), 4),
                boxes=t.boxes,
            )
        )
    return tracks


def _extend(track: _OpenTrack, box: list[float], confidence: float, frame: FrameDetections, pos: int) -> None:
    track.boxes.append(TrackBox(time_s=frame.time_s, frame=frame.frame, box=box))
    track.confidences.append(confidence)
    track.last_pos = pos


def build_events(frames: Sequence[FrameDetections], params: EventParams | None = None) -> EventsResult:
    return EventsResult(text_events=text_events(frames, params), object_tracks=object_tracks(frames, params))
