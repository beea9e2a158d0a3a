"""Diarization error rate (NIST md-eval style) with an optimal one-to-one speaker mapping.

DER = (missed speech + false alarm + speaker confusion) / total reference speech, all measured in
speaker-time on a fine time grid. Overlapped speech counts once per speaker (a region where two reference
speakers talk weighs 2). A ``collar`` (seconds either side of every reference boundary) is excluded from
scoring, as in the NIST evaluations. Speakers are mapped with the Hungarian algorithm on the co-occurrence
matrix, so the score does not depend on label names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from media_assets.core.speech.rttm import Turn

DEFAULT_STEP_S = 0.001


@dataclass(frozen=True)
class DerResult:
    """Components of the error, in seconds of speaker-time."""

    der: float
    missed_s: float
    false_alarm_s: float
    confusion_s: float
    total_s: float
    scored_s: float
    mapping: dict[str, str]  # hypothesis speaker -> reference speaker

    @property
    def missed(self) -> float:
        return self.missed_s / self.total_s if self.total_s else 0.0

    @property
    def false_alarm(self) -> float:
        return self.false_alarm_s / self.total_s if self.total_s else 0.0

    @property
    def confusion(self) -> float:
        return self.confusion_s / self.total_s if self.total_s else 0.0


def _activity(turns: Sequence[Turn], speakers: list[str], n_frames: int, step: float) -> np.ndarray:
    """Boolean (frames, speakers) matrix: speaker active in the frame."""
    index = {s: i for i, s in enumerate(speakers)}
    act = np.zeros((n_frames, max(1, len(speakers))), dtype=bool)
    for t in turns:
        a = max(0, round(t.start / step))
        b = min(n_frames, round(t.end / step))
        if b > a:
            act[a:b, index[t.speaker]] = True
    return act


def _collar_mask(reference: Sequence[Turn], n_frames: int, step: float, collar: float) -> np.ndarray:
    """True where a frame is scored (outside every collar)."""
    scored = np.ones(n_frames, dtype=bool)
    if collar <= 0:
        return scored
    for t in reference:
        for edge in (t.start, t.end):
            a = max(0, round((edge - collar) / step))
            b = min(n_frames, round((edge + collar) / step))
            scored[a:b] = False
    return scored


def diarization_error_rate(
    reference: Sequence[Turn],
    hypothesis: Sequence[Turn],
    *,
    collar: float = 0.25,
    uem: tuple[float, float] | None = None,
    step: float = DEFAULT_STEP_S,
) -> DerResult:
    """DER of ``hypothesis`` against ``reference``.

    ``collar`` is the half-width (seconds) of the no-score zone around reference boundaries; ``uem`` limits
    scoring to ``[start, end)`` (default: from 0 to the end of the last turn of either side).
    """
    end = max([t.end for t in (*reference, *hypothesis)], default=0.0)
    start, stop = uem if uem is not None else (0.0, end)
    n_frames = round(max(stop, end) / step) + 1
    ref_speakers = sorted({t.speaker for t in reference})
    hyp_speakers = sorted({t.speaker for t in hypothesis})
    ref = _activity(reference, ref_speakers, n_frames, step)
    hyp = _activity(hypothesis, hyp_speakers, n_frames, step)
    ref = ref[:, : len(ref_speakers)]
    hyp = hyp[:, : len(hyp_speakers)]

    scored = _collar_mask(reference, n_frames, step, collar)
    in_uem = np.zeros(n_frames, dtype=bool)
    in_uem[round(start / step) : round(stop / step)] = True
    scored &= in_uem
    ref, hyp = ref[scored], hyp[scored]

    # optimal mapping: maximise co-occurring speaker-time
    mapping: dict[str, str] = {}
    mapped = np.zeros(len(ref), dtype=np.int64)
    if ref_speakers and hyp_speakers:
        cooc = ref.T.astype(np.float64) @ hyp.astype(np.float64)
        rows, cols = linear_sum_assignment(cooc, maximize=True)
        for r, c in zip(rows, cols, strict=True):
            mapping[hyp_speakers[c]] = ref_speakers[r]
            mapped += (ref[:, r] & hyp[:, c]).astype(np.int64)

    n_ref = ref.sum(axis=1).astype(np.int64)
    n_hyp = hyp.sum(axis=1).astype(np.int64)
    missed = np.maximum(0, n_ref - n_hyp).sum() * step
    false_alarm = np.maximum(0, n_hyp - n_ref).sum() * step
    confusion = (np.minimum(n_ref, n_hyp) - mapped).sum() * step
    total = n_ref.sum() * step
    der = (missed + false_alarm + confusion) / total if total > 0 else (0.0 if n_hyp.sum() == 0 else float("inf"))
    return DerResult(
        der=float(der),
        missed_s=float(missed),
        false_alarm_s=float(false_alarm),
        confusion_s=float(confusion),
        total_s=float(total),
        scored_s=float(scored.sum() * step),
        mapping=mapping,
    )
