"""Sorted-interval helpers that keep fusion O(n log n): every lookup is a bisect, never a scan of all pairs."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate


class Coverage:
    """The union of some intervals, answering "how long is covered inside [a, b)?" in O(log n).

    Used for speaker talk time: the union is merged once, then a prefix sum of lengths gives the covered time
    up to any instant.
    """

    def __init__(self, intervals: Iterable[tuple[float, float]]) -> None:
        starts: list[float] = []
        ends: list[float] = []
        for a, b in sorted((a, b) for a, b in intervals if b > a):
            if ends and a <= ends[-1]:
                ends[-1] = max(ends[-1], b)
            else:
                starts.append(a)
                ends.append(b)
        self.starts = starts
        self.ends = ends
        self._cum = [0.0, *accumulate(b - a for a, b in zip(starts, ends, strict=True))]

    @property
    def total(self) -> float:
        return self._cum[-1]

    def _upto(self, t: float) -> float:
        i = bisect_right(self.starts, t)
        if i == 0:
            return 0.0
        return self._cum[i - 1] + min(t, self.ends[i - 1]) - self.starts[i - 1]

    def covered(self, a: float, b: float) -> float:
        return max(0.0, self._upto(b) - self._upto(a)) if b > a else 0.0


class SpanIndex:
    """Spans sorted by start (scenes, transcript segments): which of them overlap [a, b]?

    Spans may overlap each other; a running maximum of the ends keeps the lower bound a bisect.
    """

    def __init__(self, starts: Sequence[float], ends: Sequence[float]) -> None:
        order = sorted(range(len(starts)), key=lambda i: (starts[i], ends[i]))
        self.order = order  # position -> caller's index
        self.starts = [starts[i] for i in order]
        self.ends = [ends[i] for i in order]
        self._max_end = list(accumulate(self.ends, max))

    def __len__(self) -> int:
        return len(self.starts)

    def at(self, t: float) -> int | None:
        """Caller's index of the last span starting at or before ``t`` that still contains it."""
        pos = bisect_right(self.starts, t) - 1
        while pos >= 0 and self._max_end[pos] > t:
            if self.ends[pos] > t:
                return self.order[pos]
            pos -= 1
        return None

    def overlapping(self, a: float, b: float) -> Iterator[tuple[int, float]]:
        """``(caller's index, overlap seconds)`` of every span overlapping [a, b).

        A zero-length query (a point) matches the spans containing it, with overlap 0.
        """
        pos = bisect_right(self._max_end, a)  # spans before pos all end at or before a
        while pos < len(self.starts) and (self.starts[pos] < b or (a == b and self.starts[pos] <= a)):
            s, e = self.starts[pos], self.ends[pos]
            if a == b:
                if s <= a < e:
                    yield self.order[pos], 0.0
            elif e > a:
                yield self.order[pos], min(b, e) - max(a, s)
            pos += 1

    def near(self, a: float, b: float) -> Iterator[int]:
        """Caller's indices of spans touching [a, b] (closed: a span ending exactly at ``a`` counts)."""
        pos = bisect_left(self._max_end, a)
        while pos < len(self.starts) and self.starts[pos] <= b:
            if self.ends[pos] >= a:
                yield self.order[pos]
            pos += 1
