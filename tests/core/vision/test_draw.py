"""The contact sheet draws each kind of detection where its normalised box says."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from media_assets.core.vision.draw import FACE_COLOUR, OBJECT_COLOUR, contact_sheet, draw_detections, pick_tiles
from media_assets.core.vision.vision_models import FaceDetection, FrameDetections, ObjectDetection


def _frame(i: int, status: str = "ok", source: str = "keyframe") -> FrameDetections:
    return FrameDetections(
        source=source,
        index=i,
        frame=i,
        time_s=float(i),
        image=None,
        width=200,
        height=100,
        status=status,
        objects=[ObjectDetection(label="bus", class_id=5, confidence=0.9, box=[0.1, 0.2, 0.5, 0.8])],
        faces=[FaceDetection(confidence=0.99, box=[0.6, 0.1, 0.9, 0.5], landmarks=[[0.7, 0.3]] * 5)],
    )


def test_boxes_are_drawn_at_their_place() -> None:
    im = draw_detections(Image.new("RGB", (200, 100)), _frame(0))
    assert im.getpixel((20, 50)) == OBJECT_COLOUR  # left edge of the bus box (x = 0.1 * 200)
    assert im.getpixel((150, 30)) == (0, 0, 0)  # inside the face box: not filled
    assert im.getpixel((180, 30)) == FACE_COLOUR  # right edge of the face box
    assert im.getpixel((140, 30)) == FACE_COLOUR  # a landmark


def test_contact_sheet(tmp_path: Path) -> None:
    frames = [_frame(i) for i in range(8)] + [_frame(8, status="unreadable"), _frame(9, source="sample")]
    tiles = pick_tiles(frames, max_tiles=4)
    assert [f.index for f in tiles] == [0, 2, 5, 7]
    out = contact_sheet([(f, Image.new("RGB", (480, 240), (90, 90, 90))) for f in tiles], tmp_path / "s.jpg", columns=2)
    with Image.open(out) as sheet:
        assert sheet.size == (2 * 244 + 4, 2 * (120 + 18 + 4) + 4)
    assert contact_sheet([], tmp_path / "none.jpg") is None and not (tmp_path / "none.jpg").exists()
