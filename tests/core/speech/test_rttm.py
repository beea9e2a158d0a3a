"""RTTM / STM reading and writing against the pyannote reference files."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_assets.core.speech.rttm import Turn, format_rttm, parse_rttm, parse_stm, read_rttm, read_stm, write_rttm


def test_reads_reference_rttm(media_dir: Path, truth: dict) -> None:
    info = truth["diarization"]["diarization/pyannote_sample.wav"]
    turns = read_rttm(media_dir / info["rttm"])
    got = [[t.speaker, round(t.start, 3), round(t.end, 3)] for t in turns]
    assert got == [[s, a, b] for s, a, b in info["rttm_segments"]]
    for rel in ("diarization/pyannote_dev00.wav", "diarization/pyannote_tst00.wav"):
        entry = truth["diarization"][rel]
        assert {t.speaker for t in read_rttm(media_dir / entry["rttm"])} == set(entry["speakers"])


def test_round_trip_and_file_filter(tmp_path: Path) -> None:
    turns = [Turn(1.5, 2.25, "B"), Turn(0.0, 1.0, "A"), Turn(3.0, 3.0, "A")]
    path = write_rttm(tmp_path / "x.rttm", turns, "abc")
    text = path.read_text()
    assert text.splitlines()[0] == "SPEAKER abc 1 0.000 1.000 <NA> <NA> A <NA> <NA>"
    assert len(text.splitlines()) == 2  # zero-length turn dropped
    assert parse_rttm(text) == [Turn(0.0, 1.0, "A"), Turn(1.5, 2.25, "B")]
    mixed = text + "SPEAKER other 1 5.000 1.000 <NA> <NA> C <NA> <NA>\n;; comment\n"
    assert [t.speaker for t in parse_rttm(mixed, file_id="other")] == ["C"]
    assert format_rttm([], "abc") == ""
    with pytest.raises(ValueError):
        format_rttm(turns, "two words")
    with pytest.raises(ValueError):
        parse_rttm("SPEAKER f 1 0.0")


def test_reads_reference_stm(media_dir: Path, truth: dict) -> None:
    info = truth["diarization"]["diarization/pyannote_sample.wav"]
    lines = read_stm(media_dir / info["stm"])
    assert [[x.speaker, x.start, x.end, x.text] for x in lines] == info["transcript_stm"]
    assert parse_stm(";; c\nf 1 spk 1.0 2.0 <o,f0,male> hello world\n")[0].text == "hello world"
