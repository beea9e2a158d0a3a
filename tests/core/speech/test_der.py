"""DER: hand-computed cases (miss, false alarm, confusion, overlap, collar, mapping)."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_assets.core.speech.der import diarization_error_rate
from media_assets.core.speech.rttm import Turn, read_rttm

REF = [Turn(0.0, 10.0, "a"), Turn(10.0, 20.0, "b")]


def test_perfect_and_relabelled_is_zero() -> None:
    res = diarization_error_rate(REF, [Turn(0.0, 10.0, "x"), Turn(10.0, 20.0, "y")], collar=0.0)
    assert res.der == pytest.approx(0.0)
    assert res.mapping == {"x": "a", "y": "b"}


def test_components_by_hand() -> None:
    # hyp: a-part 0-8 right (2 s missed), 10-15 given to a's label (5 s confusion), 15-20 right, 20-22 extra (FA)
    hyp = [Turn(0.0, 8.0, "x"), Turn(10.0, 15.0, "x"), Turn(15.0, 22.0, "y")]
    res = diarization_error_rate(REF, hyp, collar=0.0)
    assert res.total_s == pytest.approx(20.0)
    assert res.missed_s == pytest.approx(2.0, abs=1e-3)
    assert res.confusion_s == pytest.approx(5.0, abs=1e-3)
    assert res.false_alarm_s == pytest.approx(2.0, abs=1e-3)
    assert res.der == pytest.approx(9.0 / 20.0, abs=1e-4)


def test_overlap_counts_per_speaker() -> None:
    ref = [Turn(0.0, 10.0, "a"), Turn(5.0, 10.0, "b")]  # 15 s of speaker-time
    single = diarization_error_rate(ref, [Turn(0.0, 10.0, "x")], collar=0.0)
    assert single.total_s == pytest.approx(15.0)
    assert single.missed_s == pytest.approx(5.0, abs=1e-3)
    both = diarization_error_rate(ref, [Turn(0.0, 10.0, "x"), Turn(5.0, 10.0, "y")], collar=0.0)
    assert both.der == pytest.approx(0.0)


def test_collar_and_uem() -> None:
    hyp = [Turn(0.0, 10.2, "x"), Turn(10.2, 20.0, "y")]  # boundary 0.2 s late
    assert diarization_error_rate(REF, hyp, collar=0.0).confusion_s == pytest.approx(0.2, abs=1e-3)
    assert diarization_error_rate(REF, hyp, collar=0.25).der == pytest.approx(0.0)
    res = diarization_error_rate(REF, [Turn(0.0, 30.0, "x")], collar=0.0, uem=(0.0, 10.0))
    assert res.der == pytest.approx(0.0) and res.total_s == pytest.approx(10.0)


def test_empty_sides() -> None:
    assert diarization_error_rate(REF, [], collar=0.0).der == pytest.approx(1.0)
    assert diarization_error_rate([], [], collar=0.0).der == 0.0
    assert diarization_error_rate([], [Turn(0, 1, "x")], collar=0.0).der == float("inf")


def test_reference_against_itself_and_a_shifted_copy(media_dir: Path) -> None:
    ref = read_rttm(media_dir / "diarization/pyannote_tst00.rttm")
    assert diarization_error_rate(ref, ref).der == pytest.approx(0.0)
    shifted = [Turn(t.start + 0.1, t.end + 0.1, t.speaker) for t in ref]
    assert diarization_error_rate(ref, shifted, collar=0.25).der == pytest.approx(0.0, abs=1e-3)
    assert diarization_error_rate(ref, shifted, collar=0.0).der > 0.01
