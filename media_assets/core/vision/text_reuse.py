"""Find on-screen text once per layout: which frames of a video need the full OCR, and which only a re-read.

Text detection at full size is most of OCR's cost, and a video's text rarely moves between its sampled frames:
a caption or a slide title stays across cuts, and many frames of footage hold no text at all. So each frame
first gets a cheap look, the detection network at a small size (``gate_side_len``, about a quarter of the
pixels, with a lower box threshold so that faint text still counts):

- no box at all: the frame has no text, and OCR stops there;
- the same boxes (matched one to one, IoU >= ``MIN_IOU``) as an earlier frame of the same video that was read
  in full (the *root* of that layout), and the same strokes in the root's line boxes (``same_strokes``: the
  glyphs, not the footage behind a translucent caption box): the root's lines are the frame's lines;
- the same boxes but other strokes: the frame is re-read at the root's lines (recognition only, no detection);
  if every line reads as the root's did, that is the frame's reading, else (a changed digit, another caption
  of the same size) the frame is read in full and becomes the layout's newest root;
- a new layout (new, moved or vanished lines): the frame is read in full and becomes its root.

A root is passed on only if it is sure of every line (``MIN_REUSE_CONFIDENCE``). The accurate preset reads every
frame in full. Time and recall against reading every frame in full: BENCHMARKS.md ("On-screen text").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

MAX_ROOTS = 4  # layouts remembered per video: enough for a few alternating slides or captions
MIN_IOU = 0.5
STROKE_CONTRAST = 40.0  # grey levels a thin structure stands out by to count as a stroke
BAND = 0.2  # of the line box's height, left out on every side (the detector's margin around the glyphs)
STROKE_AGREEMENT = 0.95  # share of a tile's clear stroke pixels that must be strokes in the other crop too
MIN_TILE_STROKES = 8  # tiles with fewer clear stroke pixels are not judged
# A reading is passed on only when every line of it is sure: a doubtful line (half-covered text, a caption over
# other text) may read better on the next frame, so its followers are read in full. Measured on the talk clips,
# misreadings scored 0.54-0.74 and good lines 0.95 and more.
MIN_REUSE_CONFIDENCE = 0.9

Decision = Literal["none", "reuse", "reread", "read"]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of axis-aligned boxes ``a`` (n, 4) and ``b`` (m, 4), as x0, y0, x1, y1."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)


def same_layout(a: np.ndarray, b: np.ndarray, min_iou: float = MIN_IOU) -> bool:
    """Both box sets hold the same boxes: as many, each overlapping one of the other set by ``min_iou``."""
    if len(a) == 0 or len(a) != len(b):
        return False
    iou = box_iou(a, b)
    return bool((iou.max(axis=1) >= min_iou).all() and (iou.max(axis=0) >= min_iou).all())


Region = tuple[tuple[int, int, int, int], np.ndarray]  # (x0, y0, x1, y1) in frame pixels, and its grey levels


def _gray(rgb: np.ndarray) -> np.ndarray:
    f = rgb.astype(np.float32)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def regions_of(image: np.ndarray, boxes: np.ndarray) -> tuple[Region, ...]:
    """The grey levels of ``image`` (RGB) in each box (x0, y0, x1, y1)."""
    h, w = image.shape[:2]
    out = []
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        xa, ya = int(max(0, np.floor(x0))), int(max(0, np.floor(y0)))
        xb, yb = int(min(w, np.ceil(x1))), int(min(h, np.ceil(y1)))
        if xb - xa >= 4 and yb - ya >= 4:
            out.append(((xa, ya, xb, yb), _gray(image[ya:yb, xa:xb])))
    return tuple(out)


def _strokes(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thin bright or dark structures of a crop (white and black top-hat, kernel a quarter of the height): the
    clear strokes (the strongest ones) and the loose ones. Wide areas, such as the footage behind a translucent
    caption box, are not strokes whatever their brightness."""
    import cv2

    k = max(3, round(gray.shape[0] / 4) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    g = gray.astype(np.float32)
    hat = np.maximum(cv2.morphologyEx(g, cv2.MORPH_TOPHAT, kernel), cv2.morphologyEx(g, cv2.MORPH_BLACKHAT, kernel))
    strong = max(STROKE_CONTRAST, 0.5 * float(np.percentile(hat, 99)))
    return hat > strong, hat > 0.5 * strong


def same_strokes(a: np.ndarray, b: np.ndarray) -> bool:
    """Two grey crops of the same place hold the same glyphs: along the line, in square tiles, almost every
    clear stroke pixel of each is a stroke in the other. A glyph changed inside a tile fails that tile; a
    different background behind a translucent caption box does not (strokes are compared, not pixels). The
    detector's margin around the glyphs, where footage may show in full, is left out."""
    h, w = a.shape
    vertical = h > w
    if vertical:
        a, b = a.T, b.T
        h, w = w, h
    margin = int(BAND * h)  # the detector's margin is about as wide at the ends of the line
    if h - 2 * margin < 2 or w - 2 * margin < 2:
        return False
    inner = (slice(margin, h - margin), slice(margin, w - margin))
    (core_a, loose_a), (core_b, loose_b) = _strokes(a[inner]), _strokes(b[inner])
    side = max(4, core_a.shape[0])
    for start in range(0, core_a.shape[1], side):
        cut = slice(start, start + side)
        for core, other in ((core_a[:, cut], loose_b[:, cut]), (core_b[:, cut], loose_a[:, cut])):
            n = int(core.sum())
            if n >= MIN_TILE_STROKES and (core & other).sum() < STROKE_AGREEMENT * n:
                return False
    return True


@dataclass(frozen=True)
class TextRoot:
    """A frame that was read in full: its lines, what the engine needs to re-read at their places, and the grey
    levels around each line for the stroke comparison."""

    lines: list
    reading: object
    regions: tuple[Region, ...]
    shape: tuple[int, ...] = ()  # of the root frame: a frame of another size is never compared

    @property
    def sure(self) -> bool:
        return all(line.confidence >= MIN_REUSE_CONFIDENCE for line in self.lines)

    def strokes_match(self, image: np.ndarray) -> bool:
        if not self.regions or image.shape[:2] != self.shape[:2]:
            return False
        return all(same_strokes(gray, _gray(image[ya:yb, xa:xb])) for (xa, ya, xb, yb), gray in self.regions)


@dataclass
class RootSlot:
    """A layout of a video: the gate boxes of the first frame that showed it, and that frame's full reading once
    it is done (None until then, and None if the reading found no text after all)."""

    gate_boxes: np.ndarray
    root: TextRoot | None = None


@dataclass
class ReusePlanner:
    """Decides, frame by frame in time order within each video, what the OCR must do.

    ``decide`` says ``none`` (no text), ``read`` (a new layout: read it in full and put the result in the slot)
    or ``follow`` (a known layout: once its slot is read, ``resolve`` says ``reuse``, ``reread`` or ``read``).
    Layouts are kept per video, the latest first. ``counts`` says what each frame finally got."""

    slots: dict[str, list[RootSlot]] = field(default_factory=dict)
    counts: dict[str, int] = field(
        default_factory=lambda: {"none": 0, "reuse": 0, "reread": 0, "read": 0, "reread_failed": 0}
    )

    def decide(self, video: str, gate_boxes: np.ndarray) -> tuple[Literal["none", "read", "follow"], RootSlot | None]:
        if len(gate_boxes) == 0:
            self.counts["none"] += 1
            return "none", None
        kept = self.slots.setdefault(video, [])
        for slot in kept:
            if same_layout(slot.gate_boxes, gate_boxes):
                return "follow", slot
        slot = RootSlot(gate_boxes)
        kept.insert(0, slot)
        del kept[MAX_ROOTS:]
        self.counts["read"] += 1
        return "read", slot

    def resolve(self, slot: RootSlot, image: np.ndarray) -> Decision:
        """What a frame that follows ``slot`` gets, now that the slot's frame has been read: a full reading if
        that found nothing or was unsure of a line."""
        root = slot.root
        if root is None or not root.sure:
            outcome: Decision = "read"
        else:
            outcome = "reuse" if root.strokes_match(image) else "reread"
        self.counts[outcome] += 1
        return outcome

    def reread_failed(self) -> None:
        """A re-read that did not read as its root: the frame was read in full instead."""
        self.counts["reread"] -= 1
        self.counts["reread_failed"] += 1
        self.counts["read"] += 1
