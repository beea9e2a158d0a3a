"""RTTM (diarization) and STM (speaker-attributed transcript) text formats.

RTTM lines: ``SPEAKER <file> <chan> <start> <duration> <NA> <NA> <speaker> <NA> <NA>``.
STM lines: ``<file> <chan> <speaker> <start> <end> <text...>``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Turn:
    """One speaker turn: ``speaker`` talks from ``start`` to ``end`` seconds."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class StmLine:
    """One STM utterance."""

    file_id: str
    speaker: str
    start: float
    end: float
    text: str


def parse_rttm(text: str, file_id: str | None = None) -> list[Turn]:
    """Turns from RTTM text (``SPEAKER`` lines only; other record types and comments are skipped).

    With ``file_id`` only that recording's lines are kept.
    """
    turns = []
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith((";", "#")) or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise ValueError(f"RTTM line {lineno}: expected at least 8 fields, got {len(fields)}: {line!r}")
        if file_id is not None and fields[1] != file_id:
            continue
        start, duration = float(fields[3]), float(fields[4])
        if duration < 0:
            raise ValueError(f"RTTM line {lineno}: negative duration {duration}")
        turns.append(Turn(start=start, end=start + duration, speaker=fields[7]))
    return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))


def read_rttm(path: str | os.PathLike[str], file_id: str | None = None) -> list[Turn]:
    return parse_rttm(Path(path).read_text(encoding="utf-8"), file_id)


def format_rttm(turns: Iterable[Turn], file_id: str, channel: int = 1) -> str:
    """RTTM text for ``turns`` (times rounded to the millisecond, zero-length turns dropped)."""
    if not file_id or any(c.isspace() for c in file_id):
        raise ValueError(f"RTTM file id must be a non-empty word, got {file_id!r}")
    lines = []
    for t in sorted(turns, key=lambda t: (t.start, t.end, t.speaker)):
        duration = round(t.end - t.start, 3)
        if duration <= 0:
            continue
        lines.append(f"SPEAKER {file_id} {channel} {t.start:.3f} {duration:.3f} <NA> <NA> {t.speaker} <NA> <NA>")
    return "\n".join(lines) + ("\n" if lines else "")


def write_rttm(path: str | os.PathLike[str], turns: Iterable[Turn], file_id: str) -> Path:
    out = Path(path)
    out.write_text(format_rttm(turns, file_id), encoding="utf-8")
    return out


def parse_stm(text: str) -> list[StmLine]:
    """STM utterances (``;;`` comment lines skipped), in time order."""
    lines = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith(";;"):
            continue
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            raise ValueError(f"STM line {lineno}: expected at least 5 fields: {line!r}")
        text_part = fields[5] if len(fields) > 5 else ""
        if text_part.startswith("<") and ">" in text_part:  # optional <label> field
            text_part = text_part.split(">", 1)[1].strip()
        lines.append(
            StmLine(file_id=fields[0], speaker=fields[2], start=float(fields[3]), end=float(fields[4]), text=text_part)
        )
    return sorted(lines, key=lambda s: (s.start, s.end))


def read_stm(path: str | os.PathLike[str]) -> list[StmLine]:
    return parse_stm(Path(path).read_text(encoding="utf-8"))
