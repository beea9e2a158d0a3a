"""Embedder resources: lazy loading, one model per process and configuration, clear errors, env defaults."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from media_assets.core.errors import ModelLoadError
from resources.embedders import ImageEmbedderResource, TextEmbedderResource


def test_text_model_is_loaded_once_and_shared() -> None:
    first = TextEmbedderResource()
    model = first.get()
    assert first.get() is model and TextEmbedderResource().get() is model  # same configuration, same model
    assert model.backend == "onnx" and model.dim == 384
    vec = model.encode(["a rabbit"])
    assert vec.dtype == np.float32 and abs(float(np.linalg.norm(vec)) - 1) < 1e-5


def test_image_model_is_optional(tmp_path: Path) -> None:
    assert ImageEmbedderResource().get() is None and not ImageEmbedderResource().configured
    with pytest.raises(ModelLoadError, match="missing-clip"):
        ImageEmbedderResource(model=str(tmp_path / "missing-clip")).get()


def test_env_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDIA_ASSETS_TEXT_MODEL", str(tmp_path / "my-model"))
    monkeypatch.setenv("MEDIA_ASSETS_TEXT_BACKEND", "sentence-transformers")
    monkeypatch.setenv("MEDIA_ASSETS_IMAGE_MODEL", "ViT-B-32:laion2b_s34b_b79k")
    text, image = TextEmbedderResource.from_env(), ImageEmbedderResource.from_env()
    assert (text.model, text.backend, text.allow_download) == (
        str(tmp_path / "my-model"),
        "sentence-transformers",
        False,
    )
    assert image.model == "ViT-B-32:laion2b_s34b_b79k" and image.configured


def test_loading_is_lazy_and_failures_name_the_model(tmp_path: Path) -> None:
    bad = str(tmp_path / "no-such-embedder")

    @dg.asset
    def untouched(text_embedder: TextEmbedderResource) -> None:
        """Never asks for the model: a bad configuration costs nothing."""

    @dg.asset
    def uses_model(text_embedder: TextEmbedderResource) -> None:
        text_embedder.get()

    resources = {"text_embedder": TextEmbedderResource(model=bad)}
    assert dg.materialize([untouched], resources=resources).success
    result = dg.materialize([uses_model], resources=resources, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no-such-embedder" in str(failure.event_specific_data.error.to_string())
    assert "Places tried" in str(failure.event_specific_data.error.to_string())
