"""COCO object detection: one interface, three backends.

- ``yolo_onnx``: any YOLOv8/YOLO11 ONNX export (output ``(B, 4 + classes, N)``: cx, cy, w, h then one score
  per class), letterboxed input, NMS in numpy; batches when the export has a dynamic batch axis.
- ``centernet_onnx``: CenterNet-style exports with a ``(1, K, 6)`` detections output (x1, y1, x2, y2, score,
  class in input pixels, top-K, already peak-picked), NHWC RGB 0-255 input; the offline test model
  ``../shared/models/coco_centernet_mbv3.onnx`` is one.
- ``ultralytics``: ``.pt`` weights through the ultralytics package (for GPU users); imported only when chosen.

No package ships COCO weights, so the model path comes from the caller, ``$MEDIA_ASSETS_OBJECT_MODEL``, or the
shared test model beside the repository; a missing file raises :class:`ModelLoadError` saying how to give one.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np
import onnxruntime as ort

from media_assets.core.errors import ModelLoadError
from media_assets.core.vision.coco import COCO_CLASSES, class_ids
from media_assets.core.vision.onnx_runtime import (
    Runtime,
    create_session,
    resolve_runtime,
    weights_revision,
)
from media_assets.core.vision.vision_models import ModelInfo, ObjectDetection

ENV_OBJECT_MODEL = "MEDIA_ASSETS_OBJECT_MODEL"
DEFAULT_MODEL_FILE = "coco_centernet_mbv3.onnx"
# <repo>/media_assets/core/vision/objects.py -> <repo>/../shared/models
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[4] / "shared" / "models"
HOW_TO_PROVIDE = (
    f"No package ships COCO weights: set ${ENV_OBJECT_MODEL} (or the vision resource's objects.model) to a "
    "YOLOv8/YOLO11 ONNX export (e.g. `yolo export model=yolov8n.pt format=onnx`), a CenterNet ONNX model, or "
    "a .pt file with backend 'ultralytics'; or disable objects (objects.enabled=false)."
)
Backend = Literal["auto", "yolo_onnx", "centernet_onnx", "ultralytics"]


@dataclass
class ObjectParams:
    """Thresholds shared by every backend."""

    confidence: float = 0.3
    iou: float = 0.45
    classes: list[str] | None = None  # labels or ids to keep; None keeps all
    max_detections: int = 100
    input_size: int | None = None  # YOLO exports with a dynamic size run at this size (default 640)


# --------------------------------------------------------------------------------------------------------------
# geometry shared by the backends
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model input: ``input = original * scale + pad``."""

    scale: float
    pad_x: float
    pad_y: float
    width: int  # original size
    height: int


def letterbox(image: np.ndarray, size_hw: tuple[int, int], fill: int = 114) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio and pad to ``size_hw`` (centred), as YOLO exports expect."""
    h, w = image.shape[:2]
    th, tw = size_hw
    scale = min(th / h, tw / w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != (h, w) else image
    top, left = (th - nh) // 2, (tw - nw) // 2
    canvas = np.full((th, tw, 3), fill, dtype=np.uint8)
    canvas[top : top + nh, left : left + nw] = resized
    return canvas, Letterbox(scale, float(left), float(top), w, h)


def unletterbox(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """Input-pixel ``x1,y1,x2,y2`` boxes back to 0-1 of the original image (clipped)."""
    out = boxes.astype(np.float64).copy()
    out[:, [0, 2]] = (out[:, [0, 2]] - lb.pad_x) / lb.scale / lb.width
    out[:, [1, 3]] = (out[:, [1, 3]] - lb.pad_y) / lb.scale / lb.height
    return np.clip(out, 0.0, 1.0)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of ``x1,y1,x2,y2`` boxes ``a`` (N,4) and ``b`` (M,4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, classes: np.ndarray | None = None) -> np.ndarray:
    """Greedy non-maximum suppression; with ``classes`` boxes only suppress boxes of their own class.

    Returns the kept indices, best score first.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64)
    if classes is not None:  # shift each class to its own region so classes never overlap
        offset = (boxes.max() + 1.0) * np.asarray(classes, dtype=np.float64)[:, None]
        boxes = boxes + offset
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        ious = box_iou(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _to_detections(
    boxes01: np.ndarray, scores: np.ndarray, classes: np.ndarray, names: Sequence[str]
) -> list[ObjectDetection]:
    out = []
    for box, score, cls in zip(boxes01, scores, classes, strict=True):
        c = int(cls)
        out.append(
            ObjectDetection(
                label=names[c] if 0 <= c < len(names) else str(c),
                class_id=c,
                confidence=round(float(score), 4),
                box=[round(float(v), 5) for v in box],
            )
        )
    return out


# --------------------------------------------------------------------------------------------------------------
# interface
# --------------------------------------------------------------------------------------------------------------


class ObjectDetector(Protocol):
    """Detects COCO objects on RGB uint8 images ``(H, W, 3)``; one list of detections per image."""

    info: ModelInfo
    params: ObjectParams
    names: Sequence[str]
    max_batch: int | None  # None: any batch size; 1: the model takes one image at a time

    def detect(self, images: Sequence[np.ndarray]) -> list[list[ObjectDetection]]: ...


@dataclass
class _DetectorBase:
    """What the concrete detectors share: the :class:`ObjectDetector` fields and the post-processing."""

    info: ModelInfo
    params: ObjectParams
    names: Sequence[str] = COCO_CLASSES
    max_batch: int | None = None
    _keep: set[int] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._keep = class_ids(self.params.classes, tuple(self.names))

    def _filter(
        self, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Confidence, class filter, per-class NMS, max detections."""
        m = scores >= self.params.confidence
        if self._keep is not None:
            m &= np.isin(classes, list(self._keep))
        boxes, scores, classes = boxes[m], scores[m], classes[m]
        keep = nms(boxes, scores, self.params.iou, classes)[: self.params.max_detections]
        return boxes[keep], scores[keep], classes[keep]


def _chunks(items: Sequence, n: int | None) -> list[Sequence]:
    n = n or len(items) or 1
    return [items[i : i + n] for i in range(0, len(items), n)]


def _onnx_names(session: ort.InferenceSession) -> Sequence[str]:
    """Class names from an ultralytics export's metadata (``names``); else COCO when the output has 84 rows,
    else numbers for the rows after the 4 box rows (the smaller of the two output axes)."""
    raw = session.get_modelmeta().custom_metadata_map.get("names")
    if raw:
        try:
            parsed = ast.literal_eval(raw)
            if isinstance(parsed, dict):
                return [str(parsed[k]) for k in sorted(parsed)]
            if isinstance(parsed, list | tuple):
                return [str(x) for x in parsed]
        except (ValueError, SyntaxError):
            pass
    dims = [d for d in session.get_outputs()[0].shape[1:] if isinstance(d, int)]
    if 4 + len(COCO_CLASSES) in dims or not dims:
        return COCO_CLASSES
    return [str(i) for i in range(min(dims) - 4)]


def _model_info(path: Path, backend: str, runtime: Runtime, session: ort.InferenceSession) -> ModelInfo:
    return ModelInfo(
        name=path.stem,
        path=str(path),
        revision=weights_revision(path),
        backend=backend,
        device=runtime.device,
        compute_type="float32",
        providers=list(session.get_providers()),
    )


# --------------------------------------------------------------------------------------------------------------
# YOLOv8 / YOLO11 ONNX
# --------------------------------------------------------------------------------------------------------------


def _input_geometry(
    session: ort.InferenceSession, default_size: int, *, nhwc: bool
) -> tuple[str, tuple[int, int], int | None]:
    """Input name, (height, width) and fixed batch size of an image model; dynamic axes take the defaults."""
    inp = session.get_inputs()[0]
    shape = (list(inp.shape) + [None] * 4)[:4]
    b, h, w = (shape[0], shape[1], shape[2]) if nhwc else (shape[0], shape[2], shape[3])
    hw = (h if isinstance(h, int) else default_size, w if isinstance(w, int) else default_size)
    return inp.name, hw, b if isinstance(b, int) else None


class YoloOnnxDetector(_DetectorBase):
    """YOLOv8/YOLO11 ONNX export: letterbox to the input size, scores per class, numpy NMS."""

    def __init__(
        self, path: str | Path, params: ObjectParams, runtime: Runtime, session: ort.InferenceSession | None = None
    ) -> None:
        path = Path(path)
        self.session = session or create_session(path, runtime, str(path))
        self.input_name, self.input_hw, max_batch = _input_geometry(self.session, params.input_size or 640, nhwc=False)
        super().__init__(
            info=_model_info(path, "yolo_onnx", runtime, self.session),
            params=params,
            names=_onnx_names(self.session),
            max_batch=max_batch,
        )

    def _preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        canvas, lb = letterbox(image, self.input_hw)
        return canvas.transpose(2, 0, 1).astype(np.float32) / 255.0, lb

    def detect(self, images: Sequence[np.ndarray]) -> list[list[ObjectDetection]]:
        results: list[list[ObjectDetection]] = []
        for chunk in _chunks(images, self.max_batch):
            prepared = [self._preprocess(im) for im in chunk]
            batch = np.stack([t for t, _ in prepared])
            if self.max_batch and len(batch) < self.max_batch:  # a fixed batch axis: pad with blank images
                batch = np.concatenate([batch, np.zeros((self.max_batch - len(batch), *batch.shape[1:]), np.float32)])
            pred = self.session.run(None, {self.input_name: batch})[0]
            for i, (_, lb) in enumerate(prepared):
                results.append(self._decode(pred[i], lb))
        return results

    def _decode(self, pred: np.ndarray, lb: Letterbox) -> list[ObjectDetection]:
        n_rows = 4 + len(self.names)
        if pred.shape[0] != n_rows and pred.shape[-1] == n_rows:  # (N, 84) exports
            pred = pred.T
        xywh, cls_scores = pred[:4].T, pred[4:]
        classes = cls_scores.argmax(axis=0)
        scores = cls_scores.max(axis=0)
        boxes = np.empty_like(xywh)
        boxes[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
        boxes[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
        boxes, scores, classes = self._filter(boxes, scores, classes)
        return _to_detections(unletterbox(boxes, lb), scores, classes, self.names)


# --------------------------------------------------------------------------------------------------------------
# CenterNet-style ONNX (detections output (1, K, 6))
# --------------------------------------------------------------------------------------------------------------


def _detections_output(session: ort.InferenceSession) -> str | None:
    """Name of a ``(B, K, 6)`` detections output, if the model has one."""
    for out in session.get_outputs():
        if len(out.shape) == 3 and out.shape[-1] == 6:
            return out.name
    return None


class CenterNetOnnxDetector(_DetectorBase):
    """CenterNet export with built-in peak picking: NHWC RGB float 0-255 input, top-K ``(x1,y1,x2,y2,s,c)``."""

    def __init__(
        self, path: str | Path, params: ObjectParams, runtime: Runtime, session: ort.InferenceSession | None = None
    ) -> None:
        path = Path(path)
        self.session = session or create_session(path, runtime, str(path))
        self.input_name, self.input_hw, max_batch = _input_geometry(self.session, params.input_size or 512, nhwc=True)
        name = _detections_output(self.session)
        if name is None:
            raise ModelLoadError(str(path), [str(path)], "a CenterNet model needs a (1, K, 6) detections output")
        self.output_name = name
        super().__init__(
            info=_model_info(path, "centernet_onnx", runtime, self.session),
            params=params,
            names=COCO_CLASSES,
            max_batch=max_batch,
        )

    def detect(self, images: Sequence[np.ndarray]) -> list[list[ObjectDetection]]:
        results: list[list[ObjectDetection]] = []
        for chunk in _chunks(images, self.max_batch):
            prepared = [letterbox(im, self.input_hw) for im in chunk]
            batch = np.stack([c for c, _ in prepared]).astype(np.float32)
            dets = self.session.run([self.output_name], {self.input_name: batch})[0]
            for i, (_, lb) in enumerate(prepared):
                d = dets[i]
                boxes, scores, classes = self._filter(d[:, :4], d[:, 4], d[:, 5].astype(np.int64))
                results.append(_to_detections(unletterbox(boxes, lb), scores, classes, self.names))
        return results


# --------------------------------------------------------------------------------------------------------------
# ultralytics (.pt), never imported unless chosen
# --------------------------------------------------------------------------------------------------------------


class UltralyticsDetector(_DetectorBase):
    """Any model the ultralytics package loads (``yolov8n.pt``, ``yolo11s.pt``, a path); for GPU users."""

    def __init__(self, model: str, params: ObjectParams, runtime: Runtime) -> None:
        try:
            from ultralytics import YOLO  # heavy, imports torchvision: only on this path
        except Exception as exc:
            raise ModelLoadError(
                model,
                ["python package 'ultralytics'"],
                hint="backend 'ultralytics' needs ultralytics with a working torch + torchvision "
                "(pip install 'media-assets[ultralytics]'); on CPU export the model to ONNX and use 'yolo_onnx'",
                cause=f"{type(exc).__name__}: {exc}",
            ) from exc
        self.device = "cuda:0" if runtime.mode == "gpu" else "cpu"
        try:
            self.model = YOLO(model)
        except Exception as exc:
            raise ModelLoadError(model, [model], hint=HOW_TO_PROVIDE, cause=str(exc)[:300]) from exc
        names = self.model.names
        p = Path(model)
        super().__init__(
            info=ModelInfo(
                name=p.stem,
                path=str(p.resolve()) if p.is_file() else model,
                revision=weights_revision(p) if p.is_file() else _package_version("ultralytics"),
                backend="ultralytics",
                device=runtime.device,
                compute_type="float32",
            ),
            params=params,
            names=[names[k] for k in sorted(names)] if isinstance(names, dict) else list(names),
        )

    def detect(self, images: Sequence[np.ndarray]) -> list[list[ObjectDetection]]:
        if not images:
            return []
        results = self.model.predict(
            [np.ascontiguousarray(im[..., ::-1]) for im in images],  # ultralytics expects BGR arrays
            conf=self.params.confidence,
            iou=self.params.iou,
            max_det=self.params.max_detections,
            classes=sorted(self._keep) if self._keep is not None else None,
            device=self.device,
            verbose=False,
        )
        out = []
        for r in results:
            b = r.boxes
            out.append(
                _to_detections(b.xyxyn.cpu().numpy(), b.conf.cpu().numpy(), b.cls.cpu().numpy().astype(int), self.names)
            )
        return out


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------------------


def resolve_object_model(model: str | os.PathLike[str] | None = None) -> tuple[str, list[str]]:
    """The model to load and the places looked at: ``model``, else ``$MEDIA_ASSETS_OBJECT_MODEL``, else the
    shared test model beside the repository. Raises :class:`ModelLoadError` when none exists."""
    tried: list[str] = []
    for origin, value in (("config", model), (f"${ENV_OBJECT_MODEL}", os.environ.get(ENV_OBJECT_MODEL))):
        if value:
            p = Path(value).expanduser()
            if p.is_file():
                return str(p.resolve()), tried
            if p.suffix == ".pt" and not p.parent.parts:  # a bare ultralytics name such as yolov8n.pt
                return str(value), tried
            tried.append(f"{p} (from {origin})")
            raise ModelLoadError(str(value), tried, "the file does not exist", hint=HOW_TO_PROVIDE)
    default = DEFAULT_MODEL_DIR / DEFAULT_MODEL_FILE
    tried.append(f"{default} (default)")
    if default.is_file():
        return str(default), tried
    raise ModelLoadError(DEFAULT_MODEL_FILE, tried, hint=HOW_TO_PROVIDE)


def load_object_detector(
    model: str | os.PathLike[str] | None = None,
    backend: Backend = "auto",
    params: ObjectParams | None = None,
    runtime: Runtime | None = None,
) -> ObjectDetector:
    """Load a detector; ``backend='auto'`` picks ultralytics for ``.pt`` and inspects ONNX outputs."""
    params = params or ObjectParams()
    runtime = runtime or resolve_runtime("auto")
    resolved, _ = resolve_object_model(model)
    if backend == "ultralytics" or (backend == "auto" and resolved.endswith(".pt")):
        return UltralyticsDetector(resolved, params, runtime)
    session = create_session(resolved, runtime, resolved)
    if backend == "auto":
        backend = "centernet_onnx" if _detections_output(session) is not None else "yolo_onnx"
    if backend == "centernet_onnx":
        return CenterNetOnnxDetector(resolved, params, runtime, session)
    if backend == "yolo_onnx":
        return YoloOnnxDetector(resolved, params, runtime, session)
    raise ValueError(f"unknown object backend {backend!r}: use auto, yolo_onnx, centernet_onnx or ultralytics")
