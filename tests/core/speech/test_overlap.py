"""Overlapped speech: segmentation-3.0 on real recordings against their RTTM overlaps, on a mix made here, and
the second-speaker assignment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from media_assets.core.audio import extract_audio
from media_assets.core.speech.diarization_models import DiarizationModelError
from media_assets.core.speech.overlap import OverlapDetector, add_overlap_speakers
from media_assets.core.speech.rttm import read_rttm

SR = 16000


@pytest.fixture(scope="module")
def detector() -> OverlapDetector:
    d = OverlapDetector()
    d.load()
    return d


def _reference_overlaps(rttm: Path) -> list[tuple[float, float]]:
    """Where two or more reference speakers are active."""
    events = sorted([(t.start, 1) for t in read_rttm(rttm)] + [(t.end, -1) for t in read_rttm(rttm)])
    active, last, out = 0, 0.0, []
    for t, delta in events:
        if active >= 2 and t > last:
            out.append((last, t))
        active += delta
        last = t
    return out


def _intersection(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


@pytest.mark.parametrize(
    ("name", "min_precision", "min_recall"),
    [("pyannote_sample", 0.7, 0.6), ("pyannote_tst00", 0.8, 0.45)],
)
def test_regions_match_the_reference_overlaps(
    detector: OverlapDetector, media_dir: Path, name: str, min_precision: float, min_recall: float
) -> None:
    audio, sr = sf.read(media_dir / f"diarization/{name}.wav", dtype="float32")
    assert sr == SR
    found = detector.detect(audio)
    ref = _reference_overlaps(media_dir / f"diarization/{name}.rttm")
    hit = _intersection(found, ref)
    precision = hit / sum(e - s for s, e in found)
    recall = hit / sum(e - s for s, e in ref)
    assert precision >= min_precision and recall >= min_recall, (precision, recall, found)
    assert all(0.0 <= s < e <= len(audio) / SR for s, e in found)


def _espeak(tmp_path: Path, voice: str, text: str) -> np.ndarray:
    raw = tmp_path / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
    audio, _ = sf.read(extract_audio(raw, tmp_path / f"{voice}.16k.wav").path, dtype="float32")
    return audio


def test_a_mix_made_here_overlaps_where_it_was_mixed(detector: OverlapDetector, tmp_path: Path) -> None:
    a = _espeak(tmp_path, "en+m3", "the quick brown fox jumps over the lazy dog near the river bank today")
    b = _espeak(tmp_path, "en+f4", "she sells sea shells by the sea shore every single summer morning")
    lead, offset = SR, 2 * SR  # 1 s of silence, then a; b starts 2 s into a
    mix = np.zeros(lead + max(len(a), offset + len(b)) + SR, dtype=np.float32)
    mix[lead : lead + len(a)] += a
    mix[lead + offset : lead + offset + len(b)] += b
    truth = [((lead + offset) / SR, (lead + len(a)) / SR)]
    found = detector.detect(mix)
    assert found, "no overlap found in a two-voice mix"
    hit = _intersection(found, truth)
    assert hit >= 0.7 * (truth[0][1] - truth[0][0]) and hit >= 0.8 * sum(e - s for s, e in found), (found, truth)


def test_single_speakers_silence_and_noise_have_no_overlap(
    detector: OverlapDetector, media_dir: Path, tmp_path: Path
) -> None:
    for rel in ("speech/jfk.flac", "speech/LDC93S1.wav"):
        audio, _ = sf.read(extract_audio(media_dir / rel, tmp_path / "x.wav").path, dtype="float32")
        assert detector.detect(audio) == [], rel
    assert detector.detect(np.zeros(SR * 12, dtype=np.float32)) == []
    assert detector.detect(np.random.default_rng(0).normal(0, 0.1, SR * 12).astype(np.float32)) == []
    assert detector.detect(np.zeros(100, dtype=np.float32)) == []  # too short to hold anything


def test_a_missing_checkpoint_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DiarizationModelError, match=r"nowhere\.pt"):
        OverlapDetector(str(tmp_path / "nowhere.pt")).load()


def test_second_speaker_is_the_nearest_other_one() -> None:
    turns = [(0.0, 5.0, "A", 0.9), (5.0, 9.0, "B", 0.8), (9.5, 12.0, "C", 0.7), (20.0, 25.0, "A", 0.9)]
    regions = [
        (4.6, 5.4),  # A and B already share it: nothing added
        (7.0, 8.0),  # held by B: A ends 2 s before, C starts 1.5 s after -> C
        (12.0, 12.5),  # held by nobody (C ends at 12.0): nothing added
        (21.0, 22.0),  # held by A: C ended 9 s before, beyond max_gap_s -> nothing
    ]
    out = add_overlap_speakers(turns, regions, max_gap_s=3.0)
    assert out[: len(turns)] == turns
    assert out[len(turns) :] == [(7.0, 8.0, "C", 0.7)]
    assert add_overlap_speakers(turns, []) == turns
