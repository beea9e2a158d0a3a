"""CLIP-style image embedders, tested with a tiny randomly initialised CLIP built offline (no weights ship here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_assets.core.embed.image_embedder import (
    ImageEmbedder,
    Preprocess,
    find_onnx_pair,
    load_image_embedder,
)
from media_assets.core.errors import ModelLoadError

WORDS = ["<pad>", "<|startoftext|>", "<|endoftext|>", "<unk>", "a", "photo", "of", "cat", "dog", "red", "bus", "rabbit"]
PREPROCESSOR = {
    "do_center_crop": True,
    "crop_size": {"height": 32, "width": 32},
    "size": {"shortest_edge": 32},
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3,
    "rescale_factor": 1 / 255,
}


def build_tiny_clip(folder: Path, *, onnx: bool = False) -> Path:
    """A random CLIPModel (32-px images, 16-d embeddings) with a word-level tokenizer; optionally ONNX exports."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={
            "vocab_size": len(WORDS),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 16,
            "pad_token_id": 0,
            "bos_token_id": 1,
            "eos_token_id": 2,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    model = CLIPModel(config).eval()
    model.save_pretrained(folder)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>", special_tokens=[("<|startoftext|>", 1), ("<|endoftext|>", 2)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        model_max_length=16,
    ).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR))
    if onnx:
        _export_onnx(model, folder / "onnx")
        for name in ("tokenizer.json", "preprocessor_config.json"):
            (folder / "onnx" / name).write_bytes((folder / name).read_bytes())
    return folder


def _export_onnx(model, out: Path) -> None:
    import torch

    class Vision(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, pixel_values):
            return self.m.get_image_features(pixel_values=pixel_values).pooler_output

    class Text(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, input_ids, attention_mask):
            return self.m.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output

    out.mkdir()
    ids = torch.tensor([[1, 4, 5, 2]])
    torch.onnx.export(
        Vision(),
        (torch.zeros(1, 3, 32, 32),),
        str(out / "vision_model.onnx"),
        input_names=["pixel_values"],
        output_names=["image_embeds"],
        dynamic_axes={"pixel_values": {0: "batch"}},
        dynamo=False,
    )
    torch.onnx.export(
        Text(),
        (ids, torch.ones_like(ids)),
        str(out / "text_model.onnx"),
        input_names=["input_ids", "attention_mask"],
        output_names=["text_embeds"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
        dynamo=False,
    )


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"), onnx=True)


@pytest.fixture(scope="module")
def hf_model(tiny_clip: Path) -> ImageEmbedder:
    model = load_image_embedder(str(tiny_clip), backend="transformers")
    assert model is not None
    return model


@pytest.fixture(scope="module")
def images(media_dir: Path) -> list[Image.Image]:
    names = ["images/skimage_astronaut.png", "images/skimage_chelsea.png", "images/ultralytics_bus.jpg"]
    return [Image.open(media_dir / n).convert("RGB") for n in names]


def test_not_configured_is_none() -> None:
    assert load_image_embedder(None) is None
    assert load_image_embedder("") is None


def test_transformers_backend(hf_model: ImageEmbedder, tiny_clip: Path, images: list[Image.Image]) -> None:
    assert hf_model.backend == "transformers" and hf_model.dim == 16
    assert hf_model.revision == hf_model.info()["revision"] != "unknown"
    vecs = hf_model.encode_images(images)
    assert vecs.dtype == np.float32 and vecs.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.abs(vecs[0] - vecs[1]).max() > 1e-3  # different images, different vectors
    # same result from paths and arrays, and independent of batching
    np.testing.assert_allclose(hf_model.encode_images([np.asarray(images[2])]), vecs[2:], atol=1e-5)
    np.testing.assert_allclose(hf_model.encode_images(images, batch_size=1), vecs, atol=1e-5)
    texts = hf_model.encode_texts(["a photo of a cat", "red bus", "dog"])
    assert texts.shape == (3, 16) and texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert "torchvision" not in sys.modules


def test_onnx_backend_matches_transformers(
    hf_model: ImageEmbedder, tiny_clip: Path, images: list[Image.Image], tmp_path: Path
) -> None:
    assert find_onnx_pair(tiny_clip) == (
        tiny_clip / "onnx" / "vision_model.onnx",
        tiny_clip / "onnx" / "text_model.onnx",
    )
    onnx_model = load_image_embedder(tiny_clip / "onnx")
    assert onnx_model is not None and onnx_model.backend == "onnx" and onnx_model.dim == 16
    paths = []
    for i, img in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        img.save(paths[-1])
    np.testing.assert_allclose(onnx_model.encode_images(paths), hf_model.encode_images(images), atol=1e-4)
    texts = ["a photo of a cat", "red bus", "rabbit"]  # different lengths: padding must not matter
    np.testing.assert_allclose(onnx_model.encode_texts(texts), hf_model.encode_texts(texts), atol=1e-4)


def test_preprocess_matches_transformers_pil_processor(images: list[Image.Image]) -> None:
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    ours = Preprocess(size=224, crop=(224, 224))
    theirs = CLIPImageProcessorPil()  # OpenAI CLIP defaults: 224 shortest edge, 224 centre crop, bicubic
    for img in images:
        expected = np.asarray(theirs(images=img, return_tensors="np")["pixel_values"][0])
        got = ours(img)
        assert got.shape == expected.shape == (3, 224, 224)
        assert np.abs(got - expected).max() < 1e-4
    assert "torchvision" not in sys.modules


def test_unloadable_model_names_model_and_places(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as err:
        load_image_embedder(tmp_path / "missing-clip")
    assert "missing-clip" in str(err.value) and "Places tried" in str(err.value)
    with pytest.raises(ModelLoadError, match=r"vision_model\.onnx"):
        load_image_embedder(tmp_path, backend="onnx")
    with pytest.raises(ValueError):
        load_image_embedder("x", backend="tensorflow")
