"""Label transcript words with diarization speakers, and render a readable script.

Transcript and diarization are computed independently (so re-running one does not invalidate the other);
this module joins them: each word takes the speaker whose turns overlap it most (or the nearest turn within
``max_gap_s``), and a transcript segment is split wherever the speaker changes between words.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from media_assets.core.speech.diarization_models import SpeakerSummary

DEFAULT_MAX_GAP_S = 0.5


class SpeakerWord(BaseModel):
    start: float
    end: float
    word: str
    probability: float | None = None
    speaker: str | None = None


class SpeakerTranscriptSegment(BaseModel):
    start: float
    end: float
    speaker: str | None = None
    text: str
    words: list[SpeakerWord] = Field(default_factory=list)


class SpeakerTranscript(BaseModel):
    has_audio: bool = True
    reason: str | None = None
    speakers: list[SpeakerSummary] = Field(default_factory=list)
    segments: list[SpeakerTranscriptSegment] = Field(default_factory=list)
    language: str | None = None
    unassigned_words: int = 0

    def to_json(self) -> dict[str, Any]:
        if not self.has_audio:
            return {"has_audio": False, "reason": self.reason or "no audio stream"}
        return self.model_dump(mode="json", exclude={"reason"})


class _Turns:
    """Diarization turns indexed for overlap queries."""

    def __init__(self, segments: Sequence[dict[str, Any]]) -> None:
        self.turns = sorted((float(s["start"]), float(s["end"]), str(s["speaker"])) for s in segments)
        self.starts = [t[0] for t in self.turns]
        self.longest = max((e - s for s, e, _ in self.turns), default=0.0)

    def speaker_at(self, start: float, end: float, max_gap_s: float) -> str | None:
        """Speaker with the most overlap with [start, end]; else the nearest within max_gap_s; else None."""
        if not self.turns:
            return None
        lo = bisect.bisect_left(self.starts, start - self.longest - max_gap_s)
        hi = bisect.bisect_right(self.starts, end + max_gap_s)
        overlap: dict[str, float] = {}
        nearest: tuple[float, str] | None = None
        for s, e, spk in self.turns[lo:hi]:
            ov = min(end, e) - max(start, s)
            if ov > 0:
                overlap[spk] = overlap.get(spk, 0.0) + ov
            gap = max(s - end, start - e, 0.0)
            if nearest is None or gap < nearest[0]:
                nearest = (gap, spk)
        if overlap:
            return max(sorted(overlap), key=lambda k: overlap[k])
        if end <= start and nearest is not None and nearest[0] == 0.0:
            return nearest[1]
        if nearest is not None and nearest[0] <= max_gap_s:
            return nearest[1]
        return None


def _join(words: Sequence[SpeakerWord]) -> str:
    """Whisper's raw words carry their leading space; transcript.json stores them stripped."""
    if any(w.word[:1].isspace() for w in words):
        return "".join(w.word for w in words).strip()
    return " ".join(w.word.strip() for w in words if w.word.strip())


def _majority(words: Sequence[SpeakerWord]) -> str | None:
    weights: dict[str, float] = {}
    for w in words:
        if w.speaker is not None:
            weights[w.speaker] = weights.get(w.speaker, 0.0) + max(w.end - w.start, 1e-3)
    return max(sorted(weights), key=lambda k: weights[k]) if weights else None


def _fill_gaps(words: list[SpeakerWord]) -> None:
    """Words that no turn covers take the speaker of their neighbours when both agree (or only one exists)."""
    for i, w in enumerate(words):
        if w.speaker is not None:
            continue
        prev = next((x.speaker for x in reversed(words[:i]) if x.speaker), None)
        nxt = next((x.speaker for x in words[i + 1 :] if x.speaker), None)
        if prev == nxt or nxt is None or prev is None:
            w.speaker = prev or nxt


def align_speakers(
    transcript: dict[str, Any], diarization: dict[str, Any], *, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> SpeakerTranscript:
    """``speaker_transcript`` from a ``transcript.json`` and a ``diarization.json`` document (see
    docs/outputs.md). Either without audio gives ``has_audio: false``."""
    if not transcript.get("has_audio", True) or not diarization.get("has_audio", True):
        return SpeakerTranscript(has_audio=False, reason=transcript.get("reason") or diarization.get("reason"))
    turns = _Turns(diarization.get("segments") or [])
    speakers = [SpeakerSummary.model_validate(s) for s in diarization.get("speakers") or []]
    out: list[SpeakerTranscriptSegment] = []
    unassigned = 0
    for seg in transcript.get("segments") or []:
        words = [
            SpeakerWord(
                start=float(w["start"]),
                end=float(w["end"]),
                word=str(w.get("word", "")),
                probability=w.get("probability"),
                speaker=turns.speaker_at(float(w["start"]), float(w["end"]), max_gap_s),
            )
            for w in seg.get("words") or []
        ]
        if not words:
            spk = turns.speaker_at(float(seg["start"]), float(seg["end"]), max_gap_s)
            text = str(seg.get("text", "")).strip()
            out.append(SpeakerTranscriptSegment(start=seg["start"], end=seg["end"], speaker=spk, text=text))
            continue
        _fill_gaps(words)
        unassigned += sum(1 for w in words if w.speaker is None)
        run: list[SpeakerWord] = [words[0]]
        for w in words[1:]:
            if w.speaker != run[-1].speaker:
                out.append(_segment(run))
                run = []
            run.append(w)
        out.append(_segment(run))
    return SpeakerTranscript(
        has_audio=True,
        speakers=speakers,
        segments=out,
        language=transcript.get("language"),
        unassigned_words=unassigned,
    )


def _segment(words: list[SpeakerWord]) -> SpeakerTranscriptSegment:
    return SpeakerTranscriptSegment(
        start=words[0].start, end=words[-1].end, speaker=_majority(words), text=_join(words), words=list(words)
    )


def format_timestamp(seconds: float) -> str:
    """``MM:SS.ss`` (``H:MM:SS.ss`` from one hour)."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 1:
        return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"
    return f"{int(minutes):02d}:{secs:05.2f}"


def to_markdown(result: SpeakerTranscript, title: str | None = None) -> str:
    """A readable script: one paragraph per speaker turn (consecutive segments of one speaker joined)."""
    lines = [f"# {title}", ""] if title else []
    if not result.has_audio:
        return "\n".join([*lines, f"_No audio: {result.reason or 'no audio stream'}._", ""])
    blocks: list[tuple[str | None, float, float, list[str]]] = []
    for seg in result.segments:
        if not seg.text:
            continue
        if blocks and blocks[-1][0] == seg.speaker:
            spk, start, _, texts = blocks[-1]
            blocks[-1] = (spk, start, seg.end, [*texts, seg.text])
        else:
            blocks.append((seg.speaker, seg.start, seg.end, [seg.text]))
    for spk, start, end, texts in blocks:
        lines.append(f"**{spk or 'UNKNOWN'}** [{format_timestamp(start)} - {format_timestamp(end)}]")
        lines.append(" ".join(texts))
        lines.append("")
    if not blocks:
        lines.append("_No speech._")
        lines.append("")
    return "\n".join(lines)
