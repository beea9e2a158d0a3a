"""The WER normaliser and the edit-distance counts."""

from __future__ import annotations

import pytest

from media_assets.core.speech.wer import normalize_text, wer, word_errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("And so my fellow Americans, ask not", "and so my fellow americans ask not"),
        ("  Don't   STOP!  ", "dont stop"),
        ("wash-water (all year).", "wash water all year"),
        ("It costs 1,500.25 dollars, 2.5% more", "it costs 1,500.25 dollars 2.5 more"),
        ("«Бедняга», ребят!", "бедняга ребят"),
        ("Ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
        ("", ""),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_identical_after_normalisation_is_zero() -> None:
    assert wer("She had your dark suit.", "she had your dark suit") == 0.0


def test_counts_each_kind_of_error() -> None:
    ref = "she had your dark suit in greasy wash water all year"
    hyp = "she had a dark suit in greasy washwater all year"
    r = word_errors(ref, hyp)
    assert r.reference_words == 11 and r.hypothesis_words == 10
    assert (r.substitutions, r.deletions, r.insertions) == (2, 1, 0)
    assert r.wer == pytest.approx(3 / 11)
    ins = word_errors("a b", "a x b y")
    assert (ins.substitutions, ins.deletions, ins.insertions) == (0, 0, 2)
    assert ins.wer == 1.0


def test_empty_sides() -> None:
    assert wer("", "") == 0.0
    assert wer("one two", "") == 1.0
    assert word_errors("", "extra words").insertions == 2
