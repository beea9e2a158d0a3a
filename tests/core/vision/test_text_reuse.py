"""Reading on-screen text once per layout: the cheap look, the stroke comparison and the pipeline's plan give the
same text as reading every frame in full, on frames whose text is known by construction (ffmpeg drawtext)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from media_assets.core.vision.batching import FrameRef, VisionPipeline
from media_assets.core.vision.ocr import OcrParams, RapidOcrEngine
from media_assets.core.vision.onnx_runtime import resolve_runtime
from media_assets.core.vision.text_reuse import ReusePlanner, box_iou, regions_of, same_layout, same_strokes

CAPTION = "Quarterly budget review"
# Four shots with hard cuts: different footage behind a translucent caption box; the corner counter changes in
# the last shot only, and the third shot (plain colour) has no text at all.
SHOTS = [
    ("gradients=seed=1:speed=0.2", True, "Slide 1"),
    ("mandelbrot", True, "Slide 1"),
    ("color=c=0x406080", False, None),
    ("gradients=seed=7:speed=0.3:nb_colors=3", True, "Slide 7"),
]


def _shot(source: str, caption: bool, counter: str | None) -> str:
    chain = f"{source}:size=1280x720:rate=5" if "=" in source else f"{source}=size=1280x720:rate=5"
    chain += ",format=rgb24"
    if caption:
        chain += f",drawtext=text='{CAPTION}':fontcolor=white:fontsize=40:box=1:boxcolor=black@0.6:x=(w-tw)/2:y=h-th-60"
    if counter:
        chain += f",drawtext=text='{counter}':fontcolor=yellow:fontsize=36:box=1:boxcolor=black@0.5:x=40:y=40"
    return chain


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Two frames of each shot (a second apart), as RGB arrays."""
    out = []
    d = tmp_path_factory.mktemp("text_reuse")
    for k, (source, caption, counter) in enumerate(SHOTS):
        for second in (0, 1):
            png = d / f"{k}_{second}.png"
            subprocess.run(
                ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", _shot(source, caption, counter), "-ss", str(second),
                 "-frames:v", "1", "-y", str(png)],
                check=True,
            )  # fmt: skip
            out.append(np.asarray(Image.open(png).convert("RGB")))
    return out


@pytest.fixture(scope="module")
def engines() -> tuple[RapidOcrEngine, RapidOcrEngine]:
    runtime = resolve_runtime("cpu_only")
    return RapidOcrEngine(OcrParams(), runtime), RapidOcrEngine(OcrParams(gate_side_len=0), runtime)


def test_layouts_match_box_for_box() -> None:
    a = np.array([[10, 10, 110, 40], [10, 100, 60, 120]], dtype=np.float32)
    assert box_iou(a, a).diagonal().tolist() == [1.0, 1.0]
    assert same_layout(a, a + 3)
    assert not same_layout(a, a[:1])  # a line vanished
    assert not same_layout(a, a + np.array([0, 50, 0, 50]))  # the lines moved
    assert not same_layout(a[:0], a[:0])  # no text is not a layout


def test_strokes_ignore_the_footage_behind_a_caption_but_not_a_changed_glyph(
    frames: list[np.ndarray], engines: tuple[RapidOcrEngine, RapidOcrEngine]
) -> None:
    lines = {line.text: line.box for line in engines[1].recognize([frames[0]])[0]}
    assert set(lines) == {CAPTION, "Slide 1"}

    def crop(frame: np.ndarray, text: str) -> np.ndarray:
        (_, gray), *_ = regions_of(frame, np.array(lines[text]) * [1280, 720, 1280, 720])
        return gray

    gradients, mandelbrot, life = frames[0], frames[2], frames[6]
    assert same_strokes(crop(gradients, CAPTION), crop(mandelbrot, CAPTION))
    assert same_strokes(crop(gradients, CAPTION), crop(life, CAPTION))
    assert same_strokes(crop(gradients, "Slide 1"), crop(frames[1], "Slide 1"))  # the same shot a second later
    assert not same_strokes(crop(gradients, "Slide 1"), crop(life, "Slide 1"))  # "Slide 1" against "Slide 7"


def test_the_planner_follows_known_layouts_and_resolves_them_after_the_read() -> None:
    planner = ReusePlanner()
    boxes = np.array([[0, 0, 100, 20]], dtype=np.float32)
    assert planner.decide("v", boxes[:0])[0] == "none"
    decision, slot = planner.decide("v", boxes)
    assert decision == "read" and slot is not None
    again, same = planner.decide("v", boxes + 2)
    assert again == "follow" and same is slot
    assert planner.decide("w", boxes)[0] == "read"  # layouts are per video
    assert planner.resolve(slot, np.zeros((20, 100, 3), np.uint8)) == "read"  # the slot's reading found nothing
    assert planner.counts == {"none": 1, "reuse": 0, "reread": 0, "read": 3, "reread_failed": 0}


def _jpeg(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _texts(pipeline: VisionPipeline, images: list[np.ndarray]) -> tuple[list[list[str]], dict]:
    refs = [FrameRef("video", "keyframe", i, i * 5, float(i), f"k/{i}.jpg", 1280, 720) for i in range(len(images))]
    data = {r.image: _jpeg(im) for r, im in zip(refs, images, strict=True)}
    result = pipeline.run(refs, lambda r: data[r.image])
    return [[line.text for line in f.text] for f in result.frames["video"]], result.stats.as_dict()


# Frames 0-1 and 2-3 show the caption and "Slide 1" over two kinds of footage (the gate also sees a false box in
# the fractal of frame 3: a new layout, read in full, nothing more found), 4-5 plain colour, 6-7 the caption and
# "Slide 7" in the places of "Slide 1". Frame 6 fails the stroke test against frame 0, is re-read, reads
# differently and is read in full; frame 7 then follows frame 6 if it comes in a later batch. Whether a follower
# is reused or re-read (recognition only) depends on the stroke test, which may go either way near its threshold.
NOT_READ_IN_FULL = {1: 3, 4: 2}  # at least: frames 1 and 2 (and 7 when it comes after 6's reading)


@pytest.mark.parametrize(("batch_size", "workers"), [(1, 1), (4, 1), (4, 2)])
def test_the_pipeline_reads_each_layout_once_and_finds_what_a_full_reading_finds(
    frames: list[np.ndarray], engines: tuple[RapidOcrEngine, RapidOcrEngine], batch_size: int, workers: int
) -> None:
    gated, full = engines
    got, stats = _texts(VisionPipeline(ocr=gated, workers=workers, batch_size=batch_size), frames)
    want, _ = _texts(VisionPipeline(ocr=full, workers=workers, batch_size=batch_size), frames)
    assert got == want
    assert got[0] == got[1] == got[2] == got[3] == ["Slide 1", CAPTION]
    assert got[4] == got[5] == []
    assert got[6] == got[7] == ["Slide 7", CAPTION]
    plan = stats["text_frames"]
    assert plan["none"] == 2
    assert plan["reread_failed"] >= 1  # "Slide 7" in the places of "Slide 1" was caught
    assert plan["reuse"] + plan["reread"] >= NOT_READ_IN_FULL[batch_size]
    assert plan["reuse"] >= 1
    assert sum(plan[k] for k in ("none", "reuse", "reread", "read")) == len(frames)
    assert "text_gate" in stats["ms_per_image"]


def test_recall_on_the_ocr_truth_images_is_unchanged(
    engines: tuple[RapidOcrEngine, RapidOcrEngine], media_dir: Path
) -> None:
    """Every truth image with text still gets its full reading: the cheap look finds text on all of them."""
    gated, full = engines
    images = media_dir / "images"
    for path in [*sorted(images.glob("rapidocr_*")), images / "ultralytics_bus.jpg"]:
        image = np.asarray(Image.open(path).convert("RGB"))
        if full.recognize([image])[0]:
            assert len(gated.text_boxes(image)) > 0, path.name


class FakeOcr:
    """Frames that encode their text layout and their text: the gate box is given by the layout, the text is drawn
    as 1-px strokes whose spacing depends on the text, and reading returns that text."""

    BOXES: ClassVar[dict[int, list[float]]] = {1: [4.0, 4.0, 96.0, 24.0], 2: [4.0, 40.0, 96.0, 60.0]}

    def __init__(self) -> None:
        self.params = OcrParams()
        self.read_frames: list[int] = []

    @staticmethod
    def frame(layout: int, text: int) -> np.ndarray:
        image = np.full((64, 100, 3), 30, np.uint8)
        x0, y0, x1, y1 = (int(v) for v in FakeOcr.BOXES[layout])
        image[y0:y1, x0:x1][:, :: 3 + text] = 230  # the "glyphs"
        image[0, 0] = (layout, text, 0)  # what the fake reads back
        return image

    def text_boxes(self, image: np.ndarray) -> np.ndarray:
        return np.array([self.BOXES[int(image[0, 0, 0])]], dtype=np.float32)

    def _lines(self, image: np.ndarray) -> list:
        from media_assets.core.vision.vision_models import TextDetection

        x0, y0, x1, y1 = self.BOXES[int(image[0, 0, 0])]
        box = [x0 / 100, y0 / 64, x1 / 100, y1 / 64]
        poly = [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]]
        return [TextDetection(text=f"text {image[0, 0, 1]}", confidence=0.99, polygon=poly, box=box)]

    def read(self, images):
        self.read_frames += [int(im[0, 0, 1]) for im in images]
        return [(self._lines(im), tuple(line.text for line in self._lines(im))) for im in images]

    def reread(self, frames):
        return [self._lines(im) if tuple(x.text for x in self._lines(im)) == texts else None for im, texts in frames]


def test_a_failed_re_read_makes_its_own_layout_newer_not_another() -> None:
    """Two layouts in one batch; the first layout's text changes, so its re-read fails and the frame is read in
    full: that reading must become the first layout's root (a later frame with the new text reuses it), while
    the second layout keeps its own."""
    fake = FakeOcr()
    plan = [(1, 1), (2, 5), (1, 2), (2, 5), (1, 2), (2, 5)]  # (layout, text) in time order
    images = [FakeOcr.frame(layout, text) for layout, text in plan]
    refs = [FrameRef("v", "keyframe", i, i, float(i), f"k/{i}.png", 100, 64) for i in range(len(images))]
    data = {}
    for r, im in zip(refs, images, strict=True):
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="PNG")
        data[r.image] = buf.getvalue()
    result = VisionPipeline(ocr=fake, batch_size=4).run(refs, lambda r: data[r.image])  # type: ignore[arg-type]
    texts = [[line.text for line in f.text] for f in result.frames["v"]]
    assert texts == [[f"text {text}"] for _, text in plan]
    assert fake.read_frames == [1, 5, 2]  # frames 0 and 1 (new layouts), frame 2 after its failed re-read
    assert result.stats.text_frames == {"none": 0, "reuse": 3, "reread": 0, "read": 3, "reread_failed": 1}
