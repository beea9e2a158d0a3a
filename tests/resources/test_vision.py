"""The ``vision`` resource: config, presets, lazy loading once per run, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import onnxruntime as ort
import pytest

from media_assets.core import model_cache
from media_assets.core.errors import ModelLoadError
from media_assets.core.vision.objects import ENV_OBJECT_MODEL
from resources.vision import FacesConfig, ObjectsConfig, OcrConfig, VisionModels


def test_models_load_on_first_use_and_only_once() -> None:
    model_cache.clear()
    with dg.build_resources({"vision": VisionModels(mode="cpu_only", batch_size=4)}) as res:
        vision: VisionModels = res.vision
        assert vision.load_report()["models_loaded"] == 0  # nothing loads before it is needed
        first = vision.pipeline("fast")
        second = vision.pipeline("fast")
        report = vision.load_report()
        assert report["models_loaded"] == 3 and [x["model"] for x in report["loads"]] == ["objects", "faces", "ocr"]
        assert first.objects is second.objects and first.ocr is second.ocr and first.batch_size == 4
        assert first.faces.params.input_size == 480 and first.ocr.params.det_side_len == 640  # the fast preset
        blocks = vision.model_blocks("fast")
        assert blocks["objects"]["name"] == "coco_centernet_mbv3" and blocks["objects"]["preset"] == "fast"
        assert blocks["faces"]["device"] == "cpu" and blocks["ocr"]["revision"].startswith("rapidocr 3.10.0")
    with dg.build_resources({"vision": VisionModels(mode="cpu_only", batch_size=4)}) as res:
        assert res.vision.load_report()["models_loaded"] == 0  # a new run starts with nothing in use ...
        again = res.vision.pipeline("fast")
        report = res.vision.load_report()
        assert report["models_loaded"] == 0 and report["models_reused"] == 3  # ... and the process's models
        assert again.ocr is first.ocr


def test_disabled_models_are_not_loaded() -> None:
    vision = VisionModels(faces=FacesConfig(enabled=False), ocr=OcrConfig(enabled=False), mode="cpu_only")
    pipe = vision.pipeline()
    assert pipe.faces is None and pipe.ocr is None and pipe.objects is not None
    assert len(vision.load_report()["loads"]) == 1
    assert vision.model_blocks()["faces"] is None


def test_params_follow_the_preset_unless_set() -> None:
    vision = VisionModels(faces=FacesConfig(input_size=800), objects=ObjectsConfig(classes=["person"]))
    p = vision.params("accurate")
    assert p["faces"]["input_size"] == 800 and p["ocr"]["det_side_len"] == 1280
    assert p["objects"]["classes"] == ["person"] and p["objects"]["confidence"] == 0.3
    assert p["events"]["text_max_distance"] == 0.3 and p["batch_size"] == 32
    assert vision.params("balanced")["ocr"]["det_side_len"] == 960


def test_workers_and_threads() -> None:
    cores = os.cpu_count() or 1
    auto = VisionModels(mode="cpu_only")
    assert auto.n_workers() == min(4, cores)
    assert auto.runtime().intra_op_threads == (max(1, cores // auto.n_workers()) if auto.n_workers() > 1 else 0)
    one = VisionModels(mode="cpu_only", workers=1)
    assert one.n_workers() == 1 and one.runtime().intra_op_threads == 0  # ONNX Runtime's default: all cores
    fixed = VisionModels(mode="cpu_only", workers=3, intra_op_threads=2)
    assert (fixed.n_workers(), fixed.runtime().intra_op_threads) == (3, 2)
    assert fixed.params()["workers"] == 3 and fixed.params()["intra_op_threads"] == 2


def test_missing_object_model_and_gpu_mode_errors(tmp_path: Path) -> None:
    vision = VisionModels(objects=ObjectsConfig(model=str(tmp_path / "yolo11n.onnx")), mode="cpu_only")
    with pytest.raises(ModelLoadError) as err:
        vision.pipeline()
    assert "yolo11n.onnx" in str(err.value) and ENV_OBJECT_MODEL in str(err.value)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
            VisionModels(mode="gpu").runtime()


def test_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDIA_ASSETS_VISION_MODE", "cpu_only")
    monkeypatch.setenv("MEDIA_ASSETS_VISION_BATCH_SIZE", "8")
    monkeypatch.setenv("MEDIA_ASSETS_VISION_THREADS", "1")
    monkeypatch.setenv(ENV_OBJECT_MODEL, str(tmp_path / "m.onnx"))
    v = VisionModels.from_env()
    assert (v.mode, v.batch_size, v.intra_op_threads, v.objects.model) == ("cpu_only", 8, 1, str(tmp_path / "m.onnx"))
    assert v.runtime().mode == "cpu_only"


def test_no_object_model_anywhere_skips_objects_and_says_why(tmp_path: Path, monkeypatch) -> None:
    import media_assets.core.vision.objects as objects_mod

    monkeypatch.delenv(ENV_OBJECT_MODEL, raising=False)
    monkeypatch.setattr(objects_mod, "DEFAULT_MODEL_DIR", tmp_path / "no-models-here")
    models = VisionModels(faces=FacesConfig(enabled=False), ocr=OcrConfig(enabled=False))
    assert models.object_detector() is None
    block = models.model_blocks()["objects"]
    assert block is not None and ENV_OBJECT_MODEL in block["skipped"]


def test_an_object_model_that_was_asked_for_and_is_missing_fails(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_OBJECT_MODEL, raising=False)
    missing = tmp_path / "yolo11n.onnx"
    with pytest.raises(ModelLoadError, match=r"yolo11n\.onnx"):
        VisionModels(objects=ObjectsConfig(model=str(missing))).object_detector()
