"""On-screen text with RapidOCR 3.10 (PP-OCRv6 small, ONNX Runtime): text, confidence, polygon, direction.

RapidOCR's own ``__call__`` handles one image. Here its three stages run separately so that work is shared
across many frames: detection per image (frames whose detection finds nothing stop there, so recognition
never runs on empty frames), then orientation classification and recognition of the text crops of all the
images of a batch together. Detection runs at ``det_side_len`` on the longer side (downscaling big frames
costs little accuracy on screen text and saves most of the time); crops are cut from the full-size image.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from media_assets.core.errors import ModelLoadError
from media_assets.core.vision.onnx_runtime import Runtime, resolve_runtime, weights_revision
from media_assets.core.vision.vision_models import ModelInfo, TextDetection

VERTICAL_RATIO = 1.5


@dataclass
class OcrParams:
    text_score: float = 0.5  # recognised lines below this confidence are dropped
    box_thresh: float = 0.5  # detection box score threshold
    det_side_len: int = 960  # detection input: longer side at most this (0: RapidOCR's default sizing)
    use_cls: bool = True  # 0/180 degree line classifier
    rec_batch_size: int = 16  # text crops per recognition call, images per detection call
    det_model: str | None = None  # any PP-OCR ONNX detection model; None: RapidOCR's packaged one
    rec_model: str | None = None
    rec_keys: str | None = None  # character dictionary for a custom rec model
    gate_side_len: int = 480  # the cheap look of text_reuse (longer side); 0: every frame is read in full
    gate_box_thresh: float = 0.3  # lower than box_thresh: faint text must still send a frame to the full reading


@dataclass
class OcrStats:
    """Counters that show recognition only runs where detection found text."""

    images: int = 0
    images_with_text: int = 0
    crops_recognized: int = 0
    det_s: float = 0.0
    rec_s: float = 0.0


@dataclass(frozen=True)
class Reading:
    """Where a frame's text lines were found (in RapidOCR's preprocessed pixels, with the record that maps them
    back) and what its kept lines read: enough to re-read a frame of the same size at the same places."""

    hw: tuple[int, int]
    boxes: np.ndarray  # (n, 4, 2)
    op_record: dict[str, Any]
    texts: tuple[str, ...]


@dataclass
class _Pending:
    index: int
    hw: tuple[int, int]
    boxes: np.ndarray  # (n, 4, 2) in preprocessed-image pixels
    op_record: dict[str, Any]
    crops: list[np.ndarray] = field(default_factory=list)


def direction_of(polygon: np.ndarray, text: str) -> str:
    """``vertical`` for a line much taller than wide holding more than one character."""
    w = float(np.linalg.norm(polygon[1] - polygon[0]))
    h = float(np.linalg.norm(polygon[3] - polygon[0]))
    return "vertical" if len(text.strip()) > 1 and h > VERTICAL_RATIO * w else "horizontal"


class RapidOcrEngine:
    """Batched OCR over RGB uint8 images."""

    def __init__(self, params: OcrParams | None = None, runtime: Runtime | None = None) -> None:
        self.params = p = params or OcrParams()
        runtime = runtime or resolve_runtime("auto")
        try:
            from rapidocr import RapidOCR
            from rapidocr.ch_ppocr_det.utils import DBPostProcess, DetPreProcess
            from rapidocr.utils.process_img import apply_vertical_padding, map_boxes_to_original
        except ImportError as exc:
            raise ModelLoadError(
                "rapidocr", ["python package 'rapidocr'"], hint="install rapidocr==3.10.0 and onnxruntime"
            ) from exc
        self._det_preprocess = DetPreProcess
        self._gate_postprocess = DBPostProcess(
            thresh=0.3, box_thresh=p.gate_box_thresh, unclip_ratio=1.6, use_dilation=True, score_mode="fast"
        )
        self._map_boxes = map_boxes_to_original
        self._pad = apply_vertical_padding
        cfg: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.text_score": p.text_score,
            "Global.use_cls": p.use_cls,
            "Det.box_thresh": p.box_thresh,
            "Rec.rec_batch_num": p.rec_batch_size,
            "Cls.cls_batch_num": p.rec_batch_size,
            "EngineConfig.onnxruntime.use_cuda": runtime.mode == "gpu",
            "EngineConfig.onnxruntime.intra_op_num_threads": runtime.intra_op_threads or -1,
            "EngineConfig.onnxruntime.inter_op_num_threads": runtime.inter_op_threads or -1,
        }
        if p.det_side_len:
            cfg.update({"Det.limit_side_len": p.det_side_len, "Det.limit_type": "max"})
        for key, value in (("Det.model_path", p.det_model), ("Rec.model_path", p.rec_model)):
            if value is not None:
                if not Path(value).is_file():
                    raise ModelLoadError(value, [value], hint=f"give an existing PP-OCR ONNX file for {key}")
                cfg[key] = value
        if p.rec_keys is not None:
            cfg["Rec.rec_keys_path"] = p.rec_keys
        try:
            self.engine = RapidOCR(params=cfg)
            det = self.engine._load_det_model()  # RapidOCR loads lazily: load all now, so load time is measured
            self.engine._load_rec_model()
            if p.use_cls:
                self.engine._load_cls_model()
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                "rapidocr",
                [str(p.det_model or "rapidocr packaged det"), str(p.rec_model or "rapidocr packaged rec")],
                hint="RapidOCR could not load its models (they ship inside the rapidocr wheel; offline it cannot "
                "download others)",
                cause=f"{type(exc).__name__}: {exc}",
            ) from exc
        self.stats = OcrStats()
        self._lock = threading.Lock()
        self.info = self._info(runtime, det)

    def _info(self, runtime: Runtime, det: Any) -> ModelInfo:
        det_path = self.params.det_model or _packaged_model("det")
        rec_path = self.params.rec_model or _packaged_model("rec")
        try:
            pkg = version("rapidocr")
        except PackageNotFoundError:
            pkg = "unknown"
        revs = [weights_revision(x)[:8] for x in (det_path, rec_path) if x and Path(x).is_file()]
        providers: list[str] = []
        sess = getattr(getattr(det, "session", None), "session", None)
        if sess is not None:
            providers = list(sess.get_providers())
        return ModelInfo(
            name=" + ".join(Path(x).stem if x else task for x, task in ((det_path, "det"), (rec_path, "rec"))),
            path=f"{det_path}; {rec_path}",
            revision=f"rapidocr {pkg}" + (f" ({'/'.join(revs)})" if revs else ""),
            backend="onnxruntime",
            device=runtime.device,
            compute_type="float32",
            providers=providers,
        )

    def recognize(self, images: Sequence[np.ndarray]) -> list[list[TextDetection]]:
        """Text lines per image: batched detection, then recognition of every found line in shared batches."""
        return [lines for lines, _ in self.read(images)]

    def read(self, images: Sequence[np.ndarray]) -> list[tuple[list[TextDetection], Reading | None]]:
        """Like :meth:`recognize`, with each image's :class:`Reading` (None where no text was found), so that
        another frame of the same size can be re-read at the same places."""
        t0 = time.perf_counter()
        pending = self._detect(images)
        t1 = time.perf_counter()
        with self._lock:  # read may run in several threads at once
            self.stats.images += len(images)
            self.stats.images_with_text += len(pending)
            self.stats.det_s += t1 - t0
        out: list[tuple[list[TextDetection], Reading | None]] = [([], None) for _ in images]
        crops = [c for p in pending for c in p.crops]
        if not crops:
            return out
        texts, scores = self._recognize_crops(crops)
        with self._lock:
            self.stats.crops_recognized += len(crops)
            self.stats.rec_s += time.perf_counter() - t1
        for p, lines in self._per_frame(pending, texts, scores):
            out[p.index] = (lines, Reading(p.hw, p.boxes, p.op_record, tuple(line.text for line in lines)))
        return out

    def reread(self, frames: Sequence[tuple[np.ndarray, Reading]]) -> list[list[TextDetection] | None]:
        """Recognition only, at the places of another frame's reading (``text_reuse``): each frame's lines if
        they read exactly as that reading's did, else None (the frame needs a full reading)."""
        t0 = time.perf_counter()
        staged: list[_Pending] = []
        results: list[list[TextDetection] | None] = [None] * len(frames)
        for i, (image, reading) in enumerate(frames):
            if image.shape[:2] != reading.hw:
                continue
            img, _ = self._prepared(image)
            crops = self.engine.crop_text_regions(img, reading.boxes)
            staged.append(_Pending(i, reading.hw, reading.boxes, reading.op_record, crops))
        crops = [c for p in staged for c in p.crops]
        if crops:
            texts, scores = self._recognize_crops(crops)
            for p, lines in self._per_frame(staged, texts, scores):
                if tuple(line.text for line in lines) == frames[p.index][1].texts:
                    results[p.index] = lines
        with self._lock:
            self.stats.crops_recognized += len(crops)
            self.stats.rec_s += time.perf_counter() - t0
        return results

    def text_boxes(self, image: np.ndarray) -> np.ndarray:
        """Axis-aligned boxes ``(n, 4)`` as x0, y0, x1, y1 in ``image`` pixels from the detection network at
        ``gate_side_len`` with ``gate_box_thresh``: the cheap look of ``text_reuse``."""
        det = self.engine.text_det
        h, w = image.shape[:2]
        side = min(self.params.gate_side_len or max(h, w), max(h, w))
        tensor = self._det_preprocess(side, "max", det.mean, det.std)(np.ascontiguousarray(image[..., ::-1]))
        boxes: Any = []
        if tensor is not None and 0 not in tensor.shape:
            boxes, _scores = self._gate_postprocess(det.session(tensor), (h, w))
        if len(boxes) == 0:
            return np.zeros((0, 4), dtype=np.float32)
        quads = np.asarray(boxes, dtype=np.float32)
        return np.concatenate([quads.min(axis=1), quads.max(axis=1)], axis=1)

    def _recognize_crops(self, crops: list[np.ndarray]) -> tuple[Sequence[str], Sequence[float]]:
        if self.params.use_cls:
            crops, _ = self.engine.cls_and_rotate(crops)
        rec = self.engine.recognize_txt(crops)
        return rec.txts, rec.scores

    def _per_frame(
        self, pending: Sequence[_Pending], texts: Sequence[str], scores: Sequence[float]
    ) -> Iterator[tuple[_Pending, list[TextDetection]]]:
        """Each frame's kept lines, from the recognition of all frames' crops in order."""
        pos = 0
        for p in pending:
            n = len(p.crops)
            yield p, self._lines(self._mapped(p), texts[pos : pos + n], scores[pos : pos + n], p.hw)
            pos += n

    def _mapped(self, p: _Pending) -> np.ndarray:
        """``p``'s boxes in the original image's pixels."""
        h, w = p.hw
        return self._map_boxes(np.array(p.boxes, dtype=np.float64), copy.deepcopy(p.op_record), h, w)

    def _prepared(self, image: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """RapidOCR's preprocessing of an RGB image: the image its boxes and crops refer to, and how to map back."""
        eng = self.engine
        img, op_record = eng.preprocess_img(np.ascontiguousarray(image[..., ::-1]))
        if eng.cfg.Global.use_vertical_padding:
            img, op_record = self._pad(img, op_record, eng.width_height_ratio, eng.min_height)
        else:
            op_record["padding_1"] = {"top": 0, "left": 0}
        return img, op_record

    def _detect(self, images: Sequence[np.ndarray]) -> list[_Pending]:
        """RapidOCR's detection (same preprocessing, thresholds and box order), with one ONNX call for all
        images whose detection input has the same size; images where nothing is found are dropped."""
        eng = self.engine
        det = eng.text_det
        prep = det.get_preprocess()
        staged: list[tuple[int, np.ndarray, dict[str, Any], np.ndarray]] = []
        for i, image in enumerate(images):
            img, op_record = self._prepared(image)
            tensor = prep(img)
            if tensor is not None:
                staged.append((i, img, op_record, tensor))
        groups: dict[tuple[int, ...], list[int]] = {}
        for j, (*_, tensor) in enumerate(staged):
            groups.setdefault(tensor.shape, []).append(j)
        preds: dict[int, np.ndarray] = {}
        for members in groups.values():
            for k in range(0, len(members), self.params.rec_batch_size):
                chunk = members[k : k + self.params.rec_batch_size]
                out = det.session(np.concatenate([staged[j][3] for j in chunk]))
                for n, j in enumerate(chunk):
                    preds[j] = out[n : n + 1]
        pending = []
        for j, (i, img, op_record, _) in enumerate(staged):
            boxes, _scores = det.postprocess_op(preds[j], img.shape[:2])
            if len(boxes) < 1:
                continue
            boxes = det.sorted_boxes(boxes)
            crops = eng.crop_text_regions(img, boxes)
            pending.append(_Pending(i, images[i].shape[:2], boxes, op_record, crops))
        return pending

    def _lines(
        self, boxes: np.ndarray, texts: Sequence[str], scores: Sequence[float], hw: tuple[int, int]
    ) -> list[TextDetection]:
        h, w = hw
        out = []
        for poly, text, score in zip(boxes, texts, scores, strict=True):
            text = text.strip()
            if not text or float(score) < self.params.text_score:
                continue
            norm = np.clip(poly / np.array([w, h], dtype=np.float64), 0.0, 1.0)
            out.append(
                TextDetection(
                    text=text,
                    confidence=round(float(score), 4),
                    polygon=[[round(float(x), 5), round(float(y), 5)] for x, y in norm],
                    box=[
                        round(float(norm[:, 0].min()), 5),
                        round(float(norm[:, 1].min()), 5),
                        round(float(norm[:, 0].max()), 5),
                        round(float(norm[:, 1].max()), 5),
                    ],
                    direction=direction_of(poly, text),
                )
            )
        return out


def _packaged_model(task: str) -> str | None:
    """Path of RapidOCR's packaged ONNX model for ``task`` (det/rec), for provenance."""
    try:
        import rapidocr
    except ImportError:
        return None
    folder = Path(rapidocr.__file__).parent / "models"
    found = sorted(folder.glob(f"*_{task}_*.onnx"))
    return str(found[0]) if found else None
