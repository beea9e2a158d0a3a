"""OCR on the RapidOCR test images and on video frames, and the text events built from them."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageOps

from media_assets.core.vision.events import normalise_text, text_distance, text_events
from media_assets.core.vision.ocr import OcrParams, RapidOcrEngine
from media_assets.core.vision.onnx_runtime import resolve_runtime
from media_assets.core.vision.vision_models import FrameDetections

TITLE = "THE PEACH OPEN MOVIE PROJECT PRESENTS"


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine(OcrParams(det_side_len=960), resolve_runtime("cpu_only"))


def _image(media_dir: Path, name: str) -> np.ndarray:
    with Image.open(media_dir / "images" / name) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _frames(path: Path, start_s: float, end_s: float, every: int, width: int) -> list[tuple[int, float, np.ndarray]]:
    """(frame number, time on the media timeline, RGB scaled to ``width``) of every ``every``-th frame."""
    out = []
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        origin = c.start_time / 1e6 if c.start_time is not None else 0.0
        fps = float(vs.average_rate)
        if start_s > 1:
            c.seek(int((start_s - 1) / vs.time_base), stream=vs)
        for f in c.decode(vs):
            t = float(f.pts * vs.time_base) - origin
            n = round(t * fps)
            if t > end_s:
                break
            if t >= start_s - 1e-6 and n % every == 0:
                h = round(f.height * width / f.width / 2) * 2
                out.append((n, round(t, 6), f.to_ndarray(format="rgb24", width=width, height=h)))
    return out


def test_rapidocr_test_images(engine: RapidOcrEngine, media_dir: Path, truth: dict) -> None:
    imgs = truth["images"]
    names = [
        "rapidocr_en_rec.jpg",
        "rapidocr_issue_170.png",
        "rapidocr_ch_en_num.jpg",
        "rapidocr_img_exif_orientation.jpg",
        "rapidocr_return_word_debug.jpg",
        "rapidocr_empty_black.jpg",
    ]
    before = engine.stats.crops_recognized
    results = dict(zip(names, engine.recognize([_image(media_dir, n) for n in names]), strict=True))
    text = {n: [t.text for t in r] for n, r in results.items()}
    assert text["rapidocr_en_rec.jpg"] == [imgs["images/rapidocr_en_rec.jpg"]["ocr_text_origin_truth"]]
    assert text["rapidocr_issue_170.png"] == [imgs["images/rapidocr_issue_170.png"]["ocr_text_origin_truth"]]
    assert text["rapidocr_ch_en_num.jpg"][0] == imgs["images/rapidocr_ch_en_num.jpg"]["ocr_first_line_origin_truth"]
    assert text["rapidocr_img_exif_orientation.jpg"] == [
        imgs["images/rapidocr_img_exif_orientation.jpg"]["ocr_text_origin_truth"]
    ]
    assert "027-88852022" in text["rapidocr_return_word_debug.jpg"]
    assert text["rapidocr_empty_black.jpg"] == []
    recognised = sum(len(r) for r in results.values())
    assert engine.stats.crops_recognized - before >= recognised
    for r in results.values():
        for t in r:
            pts = np.array(t.polygon)
            area2 = sum(pts[i, 0] * pts[(i + 1) % 4, 1] - pts[(i + 1) % 4, 0] * pts[i, 1] for i in range(4))
            assert area2 > 0 and pts[0, 0] < pts[1, 0]  # clockwise (y down), starting left of the line
            assert t.box == [min(p[0] for p in t.polygon), min(p[1] for p in t.polygon),
                             max(p[0] for p in t.polygon), max(p[1] for p in t.polygon)]  # fmt: skip
            assert t.direction == "horizontal" and 0.5 <= t.confidence <= 1


def test_no_recognition_where_detection_finds_nothing(
    engine: RapidOcrEngine, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args, **_kwargs):
        raise AssertionError("recognition ran on an image without text")

    monkeypatch.setattr(engine.engine, "recognize_txt", fail)
    monkeypatch.setattr(engine.engine, "cls_and_rotate", fail)
    stats = (engine.stats.images, engine.stats.images_with_text)
    black = _image(media_dir, "rapidocr_empty_black.jpg")
    assert engine.recognize([black, np.full((200, 300, 3), 255, np.uint8)]) == [[], []]
    assert (engine.stats.images, engine.stats.images_with_text) == (stats[0] + 2, stats[1])


def test_counter_video_text_events_match_burnt_in_pts(engine: RapidOcrEngine, media_dir: Path, truth: dict) -> None:
    assert truth["video"]["video/psd_counter.mp4"]["origin_truth"]["fps"] == 10
    frames = _frames(media_dir / "video/psd_counter.mp4", 0.0, 0.75, every=1, width=640)
    assert [n for n, *_ in frames] == list(range(8))
    texts = engine.recognize([rgb for *_, rgb in frames])
    dets = [
        FrameDetections(source="sample", index=i, frame=n, time_s=t, image=None, width=640, height=360, text=tx)
        for i, ((n, t, _), tx) in enumerate(zip(frames, texts, strict=True))
    ]
    events = text_events(dets)
    assert len(events) == len(frames)  # a new counter value is new text, never merged with the previous one
    for ev, (n, t, _) in zip(events, frames, strict=True):
        assert f"frame{n + 1}" in normalise_text(ev.text), ev.text
        pts = re.search(r"PTS\s*=\s*([0-9.]+)", ev.text)
        assert pts is not None, ev.text
        assert ev.start == ev.end == t and abs(float(pts.group(1)) - ev.start) < 1e-6
        assert ev.first_frame == ev.last_frame == n and ev.frames == 1


def test_title_overlay_is_one_text_event(engine: RapidOcrEngine, media_dir: Path, truth: dict) -> None:
    overlay = truth["video"]["video/bbb_0_30.webm"]["text_overlays_helper_read"][0]
    assert overlay["text"] == TITLE
    first, last = overlay["frames_visible_approx"]
    frames = _frames(media_dir / "video/bbb_0_30.webm", 19.5, 23.5, every=12, width=640)
    texts = engine.recognize([rgb for *_, rgb in frames])
    dets = [
        FrameDetections(source="sample", index=i, frame=n, time_s=t, image=None, width=640, height=360, text=tx)
        for i, ((n, t, _), tx) in enumerate(zip(frames, texts, strict=True))
    ]
    events = text_events(dets)
    titles = [e for e in events if text_distance(e.text, TITLE) <= 0.3]
    assert len(titles) == 1, [e.text for e in events]
    ev = titles[0]
    assert normalise_text(ev.text) == normalise_text(TITLE)
    assert first - 12 <= ev.first_frame and ev.last_frame <= last + 6 and ev.frames >= 4
    assert ev.start == pytest.approx(ev.first_frame / 24, abs=0.01)
    assert 0.2 < ev.box[0] < ev.box[2] < 0.8  # centred
