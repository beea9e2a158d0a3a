"""Bisect-based interval helpers against brute force on random intervals."""

from __future__ import annotations

import random

import pytest

from media_assets.core.timeline.intervals import Coverage, SpanIndex


def _brute_covered(intervals: list[tuple[float, float]], a: float, b: float, step: float = 0.001) -> float:
    n = round((b - a) / step)
    hits = sum(1 for k in range(n) if any(s <= a + (k + 0.5) * step < e for s, e in intervals))
    return hits * step


def test_coverage_matches_brute_force() -> None:
    rng = random.Random(1)
    intervals = []
    for _ in range(25):
        s = round(rng.uniform(0, 20), 3)
        intervals.append((s, round(s + rng.uniform(0, 3), 3)))
    cov = Coverage(intervals)
    assert cov.total == pytest.approx(_brute_covered(intervals, 0, 25), abs=0.01)
    for _ in range(30):
        a = round(rng.uniform(-1, 24), 3)
        b = round(a + rng.uniform(0, 6), 3)
        assert cov.covered(a, b) == pytest.approx(_brute_covered(intervals, a, b), abs=0.01)
    assert cov.covered(5, 5) == 0 and cov.covered(6, 5) == 0


def test_coverage_merges_overlaps_and_ignores_empty() -> None:
    cov = Coverage([(0, 2), (1, 3), (3, 4), (5, 5), (7, 6)])
    assert (cov.starts, cov.ends, cov.total) == ([0], [4], 4)


def test_span_index_overlapping_and_at() -> None:
    rng = random.Random(2)
    starts, ends = [], []
    for _ in range(60):
        s = rng.uniform(0, 100)
        starts.append(s)
        ends.append(s + rng.choice([0.0, rng.uniform(0, 10)]))
    idx = SpanIndex(starts, ends)
    for _ in range(200):
        a = rng.uniform(-5, 105)
        b = a + rng.choice([0.0, rng.uniform(0, 15)])
        got = dict(idx.overlapping(a, b))
        if a == b:
            want = {i: 0.0 for i in range(60) if starts[i] <= a < ends[i]}
        else:
            want = {i: min(b, ends[i]) - max(a, starts[i]) for i in range(60) if starts[i] < b and ends[i] > a}
        assert got.keys() == want.keys()
        for i in want:
            assert got[i] == pytest.approx(want[i])
        near = set(idx.near(a, b))
        assert near == {i for i in range(60) if starts[i] <= b and ends[i] >= a}


def test_span_index_at_on_tiling_scenes() -> None:
    idx = SpanIndex([4.0, 0.0, 2.0], [6.0, 2.0, 4.0])  # caller's order need not be sorted
    assert [idx.at(t) for t in (0.0, 1.99, 2.0, 5.5, 6.0, -0.1)] == [1, 1, 2, 0, None, None]
