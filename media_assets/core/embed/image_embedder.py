"""Image-text embeddings (CLIP-style) of keyframes, when the user provides weights; no weights ship here.

Backends, all giving L2-normalised float32 rows that live in one space for images and texts:

* ``transformers``: a folder or cached hub id for ``AutoModel`` with ``get_image_features`` /
  ``get_text_features`` (CLIPModel, SigLIP), its ``AutoTokenizer`` and ``preprocessor_config.json``;
* ``onnx``: a folder with ``vision_model.onnx`` and ``text_model.onnx`` (also under ``onnx/``, the
  transformers.js layout), ``tokenizer.json`` and ``preprocessor_config.json``;
* ``open_clip``: ``"<architecture>:<pretrained tag or weights file>"`` (open_clip imports torchvision, so it is
  only imported when asked for).

Images are preprocessed here with PIL and numpy (resize shortest side, centre crop, scale, normalise) from the
model's ``preprocessor_config.json``, so transformers' image processors (which try torchvision) are never used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from PIL import Image

from media_assets.core.embed.text_embedder import (
    Embedder,
    EmbedderInfo,
    l2_normalise,
    sha256_prefix,
    weights_revision,
)
from media_assets.core.errors import ModelLoadError

Backend = Literal["auto", "transformers", "onnx", "open_clip"]
BACKENDS = ("auto", "transformers", "onnx", "open_clip")
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_BATCH = 16
ImageInput = Image.Image | np.ndarray | str | os.PathLike[str]


class ImageEmbedder(Embedder, Protocol):
    """What the embeddings asset needs from an image model."""

    def encode_images(self, images: Sequence[ImageInput], batch_size: int = DEFAULT_BATCH) -> np.ndarray: ...

    def encode_texts(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray: ...


@dataclass(frozen=True)
class Preprocess:
    """CLIP image preprocessing: shortest side to ``size``, centre crop ``crop``, /255, (x - mean) / std, CHW."""

    size: int = 224
    crop: tuple[int, int] = (224, 224)  # height, width
    mean: tuple[float, float, float] = OPENAI_CLIP_MEAN
    std: tuple[float, float, float] = OPENAI_CLIP_STD
    resample: int = Image.Resampling.BICUBIC
    center_crop: bool = True
    rescale: float = 1 / 255

    @classmethod
    def from_config(cls, path: Path) -> Preprocess:
        """Read ``preprocessor_config.json`` (the transformers format); CLIP defaults for what it lacks."""
        if not path.is_file():
            return cls()
        cfg = json.loads(path.read_text())
        size = cfg.get("size", 224)
        if isinstance(size, dict):
            size = size.get("shortest_edge") or min(size.get("height", 224), size.get("width", 224))
        crop = cfg.get("crop_size", size)
        crop_hw = (crop.get("height", size), crop.get("width", size)) if isinstance(crop, dict) else (crop, crop)
        do_crop = bool(cfg.get("do_center_crop", True))
        if not do_crop:  # e.g. SigLIP: plain resize to a square
            crop_hw = (int(size), int(size))
        return cls(
            size=int(size),
            crop=(int(crop_hw[0]), int(crop_hw[1])),
            mean=tuple(cfg.get("image_mean", OPENAI_CLIP_MEAN)),  # type: ignore[arg-type]
            std=tuple(cfg.get("image_std", OPENAI_CLIP_STD)),  # type: ignore[arg-type]
            resample=int(cfg.get("resample", Image.Resampling.BICUBIC)),
            center_crop=do_crop,
            rescale=float(cfg.get("rescale_factor", 1 / 255)),
        )

    def __call__(self, image: ImageInput) -> np.ndarray:
        img = _to_pil(image)
        h, w = self.crop
        if self.center_crop:
            short = min(img.width, img.height)  # long side truncated, as transformers does
            new = (max(w, int(self.size * img.width / short)), max(h, int(self.size * img.height / short)))
            img = img.resize(new, resample=self.resample)
            left, top = (img.width - w) // 2, (img.height - h) // 2
            img = img.crop((left, top, left + w, top + h))
        else:
            img = img.resize((w, h), resample=self.resample)
        arr = np.asarray(img, dtype=np.float32) * self.rescale
        arr = (arr - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)
        return arr.transpose(2, 0, 1)

    def batch(self, images: Sequence[ImageInput]) -> np.ndarray:
        return np.stack([self(img) for img in images]).astype(np.float32)


def _to_pil(image: ImageInput) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        return Image.fromarray(image.astype(np.uint8)).convert("RGB")
    with Image.open(os.fspath(image)) as img:
        return img.convert("RGB")


def _batched(items: Sequence[Any], size: int, fn: Any, dim: int) -> np.ndarray:
    """``fn`` over batches of ``size``, L2-normalised; (0, dim) for no items."""
    parts = [l2_normalise(fn(list(items[i : i + size]))) for i in range(0, len(items), size)]
    return np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)


def _features(out: Any) -> Any:
    """transformers >= 5 returns a ModelOutput whose ``pooler_output`` is the projected embedding."""
    return out if hasattr(out, "shape") else out.pooler_output


class TransformersImageEmbedder(EmbedderInfo):
    def __init__(self, source: str, *, name: str, revision: str, device: str, allow_download: bool) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.model = AutoModel.from_pretrained(source, local_files_only=not allow_download).to(device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=not allow_download)
        self.preprocess = Preprocess.from_config(_hub_or_local_file(source, "preprocessor_config.json"))
        self._max_length = "max_length" if str(self.model.config.model_type).startswith("siglip") else True
        dim = int(self._images([np.zeros((*self.preprocess.crop, 3), np.uint8)]).shape[1])
        super().__init__(name=name, path=source, revision=revision, backend="transformers", dim=dim, device=device)

    def _images(self, images: list[ImageInput]) -> np.ndarray:
        pixels = self._torch.from_numpy(self.preprocess.batch(images)).to(self.model.device)
        with self._torch.inference_mode():
            return _features(self.model.get_image_features(pixel_values=pixels)).float().cpu().numpy()

    def _texts(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(texts, padding=self._max_length, truncation=True, return_tensors="pt")
        batch = {k: v.to(self.model.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        with self._torch.inference_mode():
            return _features(self.model.get_text_features(**batch)).float().cpu().numpy()

    def encode_images(self, images: Sequence[ImageInput], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        return _batched(images, batch_size, self._images, self.dim)

    def encode_texts(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        return _batched(texts, batch_size, self._texts, self.dim)


class OnnxImageEmbedder(EmbedderInfo):
    def __init__(self, vision: Path, text: Path, tokenizer: Path, preprocess: Preprocess, *, name: str) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.vision = ort.InferenceSession(str(vision), providers=["CPUExecutionProvider"])
        self.text = ort.InferenceSession(str(text), providers=["CPUExecutionProvider"])
        self.text_inputs = {i.name for i in self.text.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        if self.tokenizer.padding is None:
            self.tokenizer.enable_padding(pad_id=0)
        self.preprocess = preprocess
        dim = int(self._images([np.zeros((*preprocess.crop, 3), np.uint8)]).shape[1])
        super().__init__(
            name=name,
            path=str(vision.parent),
            revision=sha256_prefix(vision)[:6] + sha256_prefix(text)[:6],
            backend="onnx",
            dim=dim,
            device="cpu",
        )

    @staticmethod
    def _output(session: Any, outputs: list[np.ndarray], wanted: str) -> np.ndarray:
        names = [o.name for o in session.get_outputs()]
        return outputs[names.index(wanted)] if wanted in names else outputs[0]

    def _images(self, images: list[ImageInput]) -> np.ndarray:
        outputs = self.vision.run(None, {"pixel_values": self.preprocess.batch(images)})
        return self._output(self.vision, outputs, "image_embeds")

    def _texts(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer.encode_batch(texts)
        feeds = {"input_ids": np.asarray([e.ids for e in enc], dtype=np.int64)}
        if "attention_mask" in self.text_inputs:
            feeds["attention_mask"] = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
        return self._output(self.text, self.text.run(None, feeds), "text_embeds")

    def encode_images(self, images: Sequence[ImageInput], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        return _batched(images, batch_size, self._images, self.dim)

    def encode_texts(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        return _batched(texts, batch_size, self._texts, self.dim)


class OpenClipImageEmbedder(EmbedderInfo):
    """open_clip model; ``spec`` is ``"ViT-B-32:laion2b_s34b_b79k"``, ``"ViT-B-32:/path/weights.bin"`` or
    ``"hf-hub:org/repo"``."""

    def __init__(self, spec: str, *, device: str) -> None:
        import open_clip  # imports torchvision: only on this explicitly chosen backend
        import torch

        self._torch = torch
        if spec.startswith("hf-hub:"):
            arch, pretrained = spec, None
        else:
            arch, _, pretrained = spec.partition(":")
        self.model, _, _ = open_clip.create_model_and_transforms(arch, pretrained=pretrained or None, device=device)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        cfg = getattr(self.model.visual, "preprocess_cfg", {}) or {}
        size = cfg.get("size", getattr(self.model.visual, "image_size", 224))
        size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.preprocess = Preprocess(
            size=size,
            crop=(size, size),
            mean=tuple(cfg.get("mean", OPENAI_CLIP_MEAN)),  # type: ignore[arg-type]
            std=tuple(cfg.get("std", OPENAI_CLIP_STD)),  # type: ignore[arg-type]
        )
        weights = Path(pretrained) if pretrained else None
        revision = sha256_prefix(weights) if weights is not None and weights.is_file() else (pretrained or "unknown")
        dim = int(self._images([np.zeros((size, size, 3), np.uint8)]).shape[1])
        super().__init__(name=spec, path=spec, revision=revision, backend="open_clip", dim=dim, device=device)

    def _images(self, images: list[ImageInput]) -> np.ndarray:
        pixels = self._torch.from_numpy(self.preprocess.batch(images))
        with self._torch.inference_mode():
            return self.model.encode_image(pixels).float().cpu().numpy()

    def _texts(self, texts: list[str]) -> np.ndarray:
        with self._torch.inference_mode():
            return self.model.encode_text(self.tokenizer(texts)).float().cpu().numpy()

    def encode_images(self, images: Sequence[ImageInput], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        return _batched(images, batch_size, self._images, self.dim)

    def encode_texts(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        return _batched(texts, batch_size, self._texts, self.dim)


# ----------------------------------------------------------------------------------------------------------------
# Resolution
# ----------------------------------------------------------------------------------------------------------------


def _hub_or_local_file(source: str, filename: str) -> Path:
    local = Path(source).expanduser() / filename
    if local.is_file():
        return local
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, filename)
    except Exception:
        cached = None
    return Path(cached) if isinstance(cached, str) else local


def find_onnx_pair(folder: Path) -> tuple[Path, Path] | None:
    """(vision, text) ONNX files of a folder, or None."""
    for base in (folder, folder / "onnx"):
        for vision_name, text_name in (("vision_model.onnx", "text_model.onnx"), ("visual.onnx", "textual.onnx")):
            if (base / vision_name).is_file() and (base / text_name).is_file():
                return base / vision_name, base / text_name
    return None


def load_image_embedder(
    name_or_path: str | os.PathLike[str] | None,
    backend: Backend | str = "auto",
    *,
    device: str = "cpu",
    allow_download: bool = False,
) -> ImageEmbedder | None:
    """Load a CLIP-style model, or return None when none is configured (``name_or_path`` empty).

    ``auto``: a folder with ONNX vision/text files -> onnx; ``"arch:pretrained"`` / ``"hf-hub:..."`` ->
    open_clip; anything else -> transformers (a folder, or a hub id from the local cache unless
    ``allow_download``).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown image embedding backend {backend!r}; expected one of {BACKENDS}")
    if name_or_path is None or os.fspath(name_or_path).strip() == "":
        return None
    key = os.fspath(name_or_path)
    path = Path(key).expanduser()
    tried: list[str] = []
    if backend == "auto":
        if path.is_dir() and find_onnx_pair(path):
            backend = "onnx"
        elif key.startswith("hf-hub:") or (":" in key and not path.exists()):
            backend = "open_clip"
        else:
            backend = "transformers"
    try:
        if backend == "onnx":
            pair = find_onnx_pair(path) if path.is_dir() else None
            if pair is None:
                tried.append(f"{path}/[onnx/]vision_model.onnx + text_model.onnx (missing)")
                raise FileNotFoundError("no vision/text ONNX pair")
            folders = [pair[0].parent, path]
            tok = next((f / "tokenizer.json" for f in folders if (f / "tokenizer.json").is_file()), None)
            if tok is None:
                tried.append(f"{path}/tokenizer.json (missing)")
                raise FileNotFoundError("no tokenizer.json")
            pre = next(
                (f / "preprocessor_config.json" for f in folders if (f / "preprocessor_config.json").is_file()), None
            )
            preprocess = Preprocess.from_config(pre) if pre else Preprocess()
            tried.append(f"{pair[0]} + {pair[1]}")
            return OnnxImageEmbedder(pair[0], pair[1], tok, preprocess, name=key)
        if backend == "open_clip":
            tried.append(f"open_clip {key}")
            return OpenClipImageEmbedder(key, device=device)
        if path.exists():
            tried.append(str(path))
            revision = weights_revision(path)
        else:
            tried.append(f"{key} (Hugging Face cache, {'download allowed' if allow_download else 'offline'})")
            revision = "unknown"
        return TransformersImageEmbedder(
            str(path) if path.exists() else key,
            name=key,
            revision=revision,
            device=device,
            allow_download=allow_download,
        )
    except Exception as exc:
        raise ModelLoadError(key, tried, f"{type(exc).__name__}: {exc}", what=f"image embedding ({backend})") from exc
