"""SubRip (.srt) and WebVTT (.vtt) subtitles from transcript segments.

Long segments are split into cues at word boundaries (using the word timestamps) so that a cue stays readable:
at most ``max_chars`` characters (wrapped on two lines of ``line_chars``) and ``max_duration_s`` seconds. Cues
never overlap and always last at least a millisecond.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from media_assets.core.speech.transcript_models import Segment

MAX_CHARS = 84
LINE_CHARS = 42
MAX_DURATION_S = 7.0


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def _split_segment(seg: Segment, max_chars: int, max_duration_s: float) -> list[Cue]:
    words = [w for w in seg.words if w.word]
    if not words or (len(seg.text) <= max_chars and seg.end - seg.start <= max_duration_s):
        return [Cue(seg.start, seg.end, seg.text.strip())]
    cues: list[Cue] = []
    group = [words[0]]
    for w in words[1:]:
        text = " ".join(x.word for x in [*group, w])
        if len(text) > max_chars or w.end - group[0].start > max_duration_s:
            cues.append(Cue(group[0].start, group[-1].end, " ".join(x.word for x in group)))
            group = [w]
        else:
            group.append(w)
    cues.append(Cue(group[0].start, group[-1].end, " ".join(x.word for x in group)))
    # the first and last cue keep the segment's own bounds
    cues[0] = Cue(min(seg.start, cues[0].start), cues[0].end, cues[0].text)
    cues[-1] = Cue(cues[-1].start, max(seg.end, cues[-1].end), cues[-1].text)
    return cues


def make_cues(
    segments: Sequence[Segment],
    *,
    max_chars: int = MAX_CHARS,
    max_duration_s: float = MAX_DURATION_S,
) -> list[Cue]:
    """Readable, non-overlapping cues, in time order."""
    cues: list[Cue] = []
    for seg in segments:
        for cue in _split_segment(seg, max_chars, max_duration_s):
            if not cue.text:
                continue
            start = max(cue.start, cues[-1].end if cues else 0.0, 0.0)
            end = max(cue.end, start + 0.001)
            cues.append(Cue(start, end, cue.text))
    return cues


def _timestamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _wrap(text: str, line_chars: int) -> str:
    """One line if it fits, else two lines split at the space nearest the middle (cues hold at most two lines
    of ``line_chars``); textwrap only when no split gives two short enough lines."""
    text = " ".join(text.split())
    if len(text) <= line_chars:
        return text
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    fitting = [i for i in spaces if i <= line_chars and len(text) - i - 1 <= line_chars]
    if fitting:
        cut = min(fitting, key=lambda i: abs(len(text) / 2 - i))
        return text[:cut] + "\n" + text[cut + 1 :]
    return "\n".join(textwrap.wrap(text, line_chars)) or text


def to_srt(segments: Sequence[Segment], *, line_chars: int = LINE_CHARS, **kwargs: float) -> str:
    """SubRip text: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, blank line between cues."""
    blocks = []
    for i, cue in enumerate(make_cues(segments, **kwargs), start=1):  # type: ignore[arg-type]
        span = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append(f"{i}\n{span}\n{_wrap(cue.text, line_chars)}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: Sequence[Segment], *, line_chars: int = LINE_CHARS, **kwargs: float) -> str:
    """WebVTT text: ``WEBVTT`` header, ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues, markup characters escaped."""
    blocks = ["WEBVTT\n"]
    for cue in make_cues(segments, **kwargs):  # type: ignore[arg-type]
        span = f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}"
        blocks.append(f"{span}\n{_vtt_escape(_wrap(cue.text, line_chars))}\n")
    return "\n".join(blocks)
