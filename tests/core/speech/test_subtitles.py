"""SRT / VTT rendering: timestamps, splitting of long segments, no overlaps, escaping."""

from __future__ import annotations

import re

from media_assets.core.speech.subtitles import make_cues, to_srt, to_vtt
from media_assets.core.speech.transcript_models import Segment, Word


def _seg(i: int, start: float, end: float, words: list[tuple[float, float, str]]) -> Segment:
    return Segment(
        id=i,
        start=start,
        end=end,
        text=" ".join(w for _, _, w in words),
        avg_logprob=-0.2,
        no_speech_prob=0.01,
        compression_ratio=1.2,
        confidence=0.82,
        speech_probability=0.9,
        words=[Word(start=a, end=b, word=w, probability=0.9) for a, b, w in words],
    )


SHORT = _seg(0, 0.5, 2.25, [(0.5, 1.0, "Hello"), (1.1, 2.25, "there.")])
LONG = _seg(
    1,
    3661.0,
    3675.0,
    [(3661.0 + i, 3661.0 + i + 0.8, f"word{i:02d}") for i in range(14)],
)


def test_srt_format_and_hours() -> None:
    srt = to_srt([SHORT, LONG])
    blocks = srt.strip().split("\n\n")
    assert blocks[0] == "1\n00:00:00,500 --> 00:00:02,250\nHello there."
    assert blocks[1].startswith("2\n01:01:01,000 --> ")
    numbers = [int(b.split("\n")[0]) for b in blocks]
    assert numbers == list(range(1, len(blocks) + 1))


def test_long_segment_split_at_words_within_limits() -> None:
    cues = make_cues([LONG], max_chars=84, max_duration_s=7.0)
    assert len(cues) >= 2
    assert " ".join(c.text for c in cues) == LONG.text
    for c in cues:
        assert c.end - c.start <= 7.0 + 1e-6
        assert len(c.text) <= 84
    assert cues[0].start == LONG.start and cues[-1].end == LONG.end


def test_cues_never_overlap_and_have_duration() -> None:
    a = _seg(0, 1.0, 3.0, [(1.0, 3.0, "first")])
    b = _seg(1, 2.5, 2.5, [(2.5, 2.5, "second")])  # overlaps a and has zero length
    cues = make_cues([a, b])
    assert cues[1].start >= cues[0].end
    assert cues[1].end > cues[1].start


def test_vtt_header_timestamps_and_escaping() -> None:
    seg = _seg(0, 0.0, 1.5, [(0.0, 0.7, "a<b>"), (0.7, 1.5, "&c")])
    vtt = to_vtt([seg])
    assert vtt.startswith("WEBVTT\n\n")
    assert "00:00:00.000 --> 00:00:01.500" in vtt
    assert "a&lt;b&gt; &amp;c" in vtt
    assert re.search(r"\d,\d{3}", vtt) is None  # VTT uses '.', not ','


def test_long_lines_are_wrapped() -> None:
    words = [(i * 0.3, i * 0.3 + 0.25, "abcdefghi") for i in range(8)]  # 79 characters, 2.4 s
    srt = to_srt([_seg(0, 0.0, 2.4, words)])
    lines = srt.strip().split("\n")[2:]
    assert len(lines) == 2 and all(len(line) <= 42 for line in lines)


def test_empty_transcript() -> None:
    assert to_srt([]) == ""
    assert to_vtt([]).strip() == "WEBVTT"
