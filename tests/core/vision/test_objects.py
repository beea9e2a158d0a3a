"""Object detection: YOLO ONNX decoding checked on a tiny generated model with known boxes, the CenterNet test
model on real photos, and the errors for a missing model."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from media_assets.core.errors import ModelLoadError
from media_assets.core.vision import objects as objects_mod
from media_assets.core.vision.objects import (
    ENV_OBJECT_MODEL,
    CenterNetOnnxDetector,
    Letterbox,
    ObjectParams,
    YoloOnnxDetector,
    letterbox,
    load_object_detector,
    nms,
    unletterbox,
)
from media_assets.core.vision.onnx_runtime import resolve_runtime

CPU = resolve_runtime("cpu_only")


def _yolo_model(path: Path, rows: np.ndarray, *, batch: str | int = 1, size: int = 640, names: str | None = None):
    """A YOLO-shaped ONNX graph: output = rows (1, C, N) + 0 * sum(input), so it depends on the input and has the
    (B, 4 + classes, N) layout of a YOLOv8 export; batch may be a symbolic name (dynamic axis)."""
    const = helper.make_tensor("rows", TensorProto.FLOAT, rows.shape, rows.astype(np.float32).ravel().tolist())
    nodes = [
        helper.make_node("Constant", [], ["c"], value=const),
        helper.make_node("ReduceSum", ["images", "axes"], ["s"], keepdims=1),  # (B, 1, 1, 1)
        helper.make_node("Squeeze", ["s", "sq_axes"], ["s3"]),  # (B, 1, 1)
        helper.make_node("Mul", ["s3", "zero"], ["z"]),
        helper.make_node("Add", ["c", "z"], ["output0"]),  # broadcast to (B, C, N)
    ]
    init = [
        helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3]),
        helper.make_tensor("sq_axes", TensorProto.INT64, [1], [3]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, rows.shape[1], rows.shape[2]])],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if names is not None:
        helper.set_model_props(model, {"names": names})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _rows(boxes: list[tuple[float, float, float, float, int, float]], n_classes: int = 80, n: int = 8) -> np.ndarray:
    """(1, 4 + classes, n) with one column per (cx, cy, w, h, class, score); other columns score 0."""
    rows = np.zeros((1, 4 + n_classes, n), dtype=np.float32)
    for j, (cx, cy, w, h, cls, score) in enumerate(boxes):
        rows[0, :4, j] = (cx, cy, w, h)
        rows[0, 4 + cls, j] = score
    return rows


# A 1280x640 image letterboxed into 640x640: scale 0.5, 160 px of padding above and below.
IMAGE = np.zeros((640, 1280, 3), dtype=np.uint8)
COLUMNS = [
    (320, 320, 100, 200, 0, 0.9),  # person -> x 540..740, y 120..520 of 1280x640
    (322, 318, 100, 200, 0, 0.6),  # same person, weaker: removed by NMS
    (320, 320, 100, 200, 5, 0.5),  # a bus at the same place: another class, kept
    (100, 400, 40, 40, 2, 0.2),  # a car under the confidence threshold
    (600, 200, 80, 60, 17, 0.8),  # horse near the right edge -> x 1120..1280, y 20..140
]
PERSON = [540 / 1280, 120 / 640, 740 / 1280, 520 / 640]
HORSE = [1120 / 1280, 20 / 640, 1280 / 1280, 140 / 640]


def test_yolo_decoding_nms_and_letterbox_unmapping(tmp_path: Path) -> None:
    path = _yolo_model(tmp_path / "tiny.onnx", _rows(COLUMNS))
    det = load_object_detector(path, params=ObjectParams(confidence=0.3, iou=0.45), runtime=CPU)
    assert isinstance(det, YoloOnnxDetector) and det.info.backend == "yolo_onnx" and det.max_batch == 1
    assert det.info.revision and det.info.path == str(path.resolve())
    (found,) = det.detect([IMAGE])
    got = {(d.label, round(d.confidence, 2)): d.box for d in found}
    assert set(got) == {("person", 0.9), ("horse", 0.8), ("bus", 0.5)}
    np.testing.assert_allclose(got[("person", 0.9)], PERSON, atol=1e-4)
    np.testing.assert_allclose(got[("bus", 0.5)], PERSON, atol=1e-4)
    np.testing.assert_allclose(got[("horse", 0.8)], HORSE, atol=1e-4)
    assert [d.confidence for d in found] == sorted((d.confidence for d in found), reverse=True)


def test_yolo_class_filter_max_detections_and_dynamic_batch(tmp_path: Path) -> None:
    path = _yolo_model(tmp_path / "dyn.onnx", _rows(COLUMNS), batch="batch")
    det = YoloOnnxDetector(path, ObjectParams(classes=["horse", "person"], max_detections=1), CPU)
    assert det.max_batch is None  # a dynamic batch axis: all images in one call
    out = det.detect([IMAGE, IMAGE[:320, :640], IMAGE])
    assert [[d.label for d in dets] for dets in out] == [["person"]] * 3
    # a 640x320 image letterboxes with scale 1.0: the same boxes map to other normalised coordinates
    np.testing.assert_allclose(out[1][0].box, [270 / 640, 60 / 320, 370 / 640, 260 / 320], atol=1e-4)


def test_yolo_custom_class_names_from_export_metadata(tmp_path: Path) -> None:
    rows = _rows([(320, 320, 64, 64, 1, 0.7)], n_classes=2)
    path = _yolo_model(tmp_path / "custom.onnx", rows, names="{0: 'logo', 1: 'slide'}")
    (found,) = load_object_detector(path, backend="yolo_onnx", runtime=CPU).detect([np.zeros((64, 64, 3), np.uint8)])
    assert [(d.label, d.class_id) for d in found] == [("slide", 1)]


def test_letterbox_round_trip_and_nms() -> None:
    canvas, lb = letterbox(np.full((100, 300, 3), 7, np.uint8), (64, 64))
    assert canvas.shape == (64, 64, 3) and lb.scale == pytest.approx(64 / 300)
    assert canvas[0, 0, 0] == 114 and canvas[32, 32, 0] == 7  # padding above, the image in the middle
    box = np.array([[lb.pad_x, lb.pad_y, lb.pad_x + 300 * lb.scale, lb.pad_y + 100 * lb.scale]])
    np.testing.assert_allclose(unletterbox(box, lb), [[0, 0, 1, 1]], atol=1e-9)
    np.testing.assert_allclose(
        unletterbox(np.array([[-5.0, -5, 500, 500]]), Letterbox(1, 0, 0, 10, 10)), [[0, 0, 1, 1]]
    )
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]], dtype=float)
    scores = np.array([0.5, 0.9, 0.8, 0.7])
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.5, classes=np.array([0, 0, 0, 1])).tolist() == [1, 2, 3]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


@pytest.fixture(scope="module")
def centernet() -> CenterNetOnnxDetector:
    det = load_object_detector(runtime=CPU)  # the default: ../shared/models/coco_centernet_mbv3.onnx
    assert isinstance(det, CenterNetOnnxDetector)
    return det


def _labels(det: CenterNetOnnxDetector, media_dir: Path, name: str) -> tuple[Counter, list]:
    im = np.asarray(Image.open(media_dir / "images" / name).convert("RGB"))
    (found,) = det.detect([im])
    return Counter(d.label for d in found), found


def test_centernet_on_truth_photos(centernet: CenterNetOnnxDetector, media_dir: Path, truth: dict) -> None:
    assert centernet.info.name == "coco_centernet_mbv3" and centernet.max_batch == 1
    bus, found = _labels(centernet, media_dir, "ultralytics_bus.jpg")
    assert truth["images"]["images/ultralytics_bus.jpg"]["objects_helper"]["bus"] == 1
    assert bus["bus"] == 1 and bus["person"] >= 2
    for d in found:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1
    bus_box = next(d.box for d in found if d.label == "bus")
    assert bus_box[2] - bus_box[0] > 0.6  # the bus spans most of the photo's width
    horses, _ = _labels(centernet, media_dir, "darknet_horses.jpg")
    assert horses["horse"] >= 2 and set(horses) == {"horse"}
    rocket, _ = _labels(centernet, media_dir, "skimage_rocket.jpg")
    assert truth["images"]["images/skimage_rocket.jpg"]["objects"] == [] and not rocket


def test_missing_model_errors_name_the_file_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_OBJECT_MODEL, str(tmp_path / "nowhere.onnx"))
    with pytest.raises(ModelLoadError) as err:
        load_object_detector(runtime=CPU)
    assert "nowhere.onnx" in str(err.value) and ENV_OBJECT_MODEL in str(err.value)
    monkeypatch.delenv(ENV_OBJECT_MODEL)
    monkeypatch.setattr(objects_mod, "DEFAULT_MODEL_DIR", tmp_path / "no-shared-models")
    with pytest.raises(ModelLoadError) as err:
        load_object_detector(runtime=CPU)
    message = str(err.value)
    assert "coco_centernet_mbv3.onnx" in message and str(tmp_path / "no-shared-models") in message
    assert "YOLOv8" in message and ENV_OBJECT_MODEL in message
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match=r"broken\.onnx"):
        load_object_detector(tmp_path / "broken.onnx", runtime=CPU)


def test_ultralytics_backend_is_optional(tmp_path: Path) -> None:
    weights = tmp_path / "yolov8n.pt"
    weights.write_bytes(b"\0")
    with pytest.raises(ModelLoadError, match="ultralytics"):
        load_object_detector(weights, runtime=CPU)  # .pt picks the ultralytics backend, not installed here


def test_default_path_never_imports_torchvision_or_ultralytics() -> None:
    code = (
        "import sys; from media_assets.core.vision.objects import load_object_detector; "
        "import numpy as np; load_object_detector().detect([np.zeros((32, 32, 3), np.uint8)]); "
        "print(sorted(m for m in ('torchvision', 'torchaudio', 'ultralytics', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
