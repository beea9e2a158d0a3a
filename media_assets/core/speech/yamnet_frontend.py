"""YAMNet's log-mel front end in numpy (no torchaudio), matching the TensorFlow reference
(models/research/audioset/yamnet/features.py): 16 kHz mono, 25 ms periodic-Hann STFT windows every 10 ms
(512-point FFT, magnitude), 64 HTK mel bins over 125-7500 Hz, ``log(mel + 0.001)``, then patches of
96 frames (0.96 s) every ``hop_s``.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
STFT_WINDOW_S = 0.025
STFT_HOP_S = 0.010
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96
PATCH_S = PATCH_FRAMES * STFT_HOP_S  # 0.96 s

_WIN = round(SAMPLE_RATE * STFT_WINDOW_S)  # 400
_HOP = round(SAMPLE_RATE * STFT_HOP_S)  # 160
_FFT = 1 << (_WIN - 1).bit_length()  # 512


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_matrix(
    num_mel_bins: int = MEL_BANDS,
    num_spectrogram_bins: int = _FFT // 2 + 1,
    sample_rate: int = SAMPLE_RATE,
    lower_hz: float = MEL_MIN_HZ,
    upper_hz: float = MEL_MAX_HZ,
) -> np.ndarray:
    """``tf.signal.linear_to_mel_weight_matrix``: triangular HTK-mel filters, DC bin zeroed, no normalisation.
    Shape (num_spectrogram_bins, num_mel_bins)."""
    linear_hz = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins)[1:]
    spec_mel = _hz_to_mel(linear_hz)[:, None]
    edges = np.linspace(_hz_to_mel(lower_hz), _hz_to_mel(upper_hz), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((spec_mel - lower) / (center - lower), (upper - spec_mel) / (upper - center)))
    return np.pad(weights, ((1, 0), (0, 0))).astype(np.float32)


_MEL = mel_matrix()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_WIN) / _WIN)).astype(np.float32)  # periodic Hann


def pad_waveform(waveform: np.ndarray, hop_s: float) -> np.ndarray:
    """Zero-pad so that there is at least one patch and the last patch is complete (YAMNet's pad_waveform)."""
    min_samples = round(SAMPLE_RATE * (PATCH_S + STFT_WINDOW_S - STFT_HOP_S))
    hop = round(SAMPLE_RATE * hop_s)
    n = len(waveform)
    hops = int(np.ceil(max(0, n - min_samples) / hop))
    target = min_samples + hops * hop
    return np.pad(waveform, (0, target - n)) if target > n else waveform


def log_mel(waveform: np.ndarray) -> np.ndarray:
    """(frames, 64) log-mel spectrogram of a 16 kHz mono float waveform (no centring, like tf.signal.stft)."""
    x = np.asarray(waveform, dtype=np.float32)
    if len(x) < _WIN:
        return np.zeros((0, MEL_BANDS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, _WIN)[::_HOP]
    out = np.empty((len(frames), MEL_BANDS), dtype=np.float32)
    step = 4096  # bound the temporary FFT buffer for long inputs
    for i in range(0, len(frames), step):
        spec = np.abs(np.fft.rfft(frames[i : i + step] * _WINDOW, n=_FFT)).astype(np.float32)
        out[i : i + step] = np.log(spec @ _MEL + LOG_OFFSET)
    return out


def patches(waveform: np.ndarray, hop_s: float = 0.48) -> np.ndarray:
    """(N, 1, 96, 64) float32 log-mel patches; patch i starts at ``i * hop_s`` seconds."""
    mel = log_mel(pad_waveform(np.asarray(waveform, dtype=np.float32), hop_s))
    hop = round(hop_s / STFT_HOP_S)
    if len(mel) < PATCH_FRAMES:
        return np.zeros((0, 1, PATCH_FRAMES, MEL_BANDS), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(mel, (PATCH_FRAMES, MEL_BANDS))[::hop, 0]
    return np.ascontiguousarray(view[:, None, :, :])
