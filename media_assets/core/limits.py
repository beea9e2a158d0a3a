"""Configurable input limits.

Limits protect the pipeline from inputs that would tie up a worker for hours or fill a disk (a 2 TB disk
image dropped by mistake, a 3-day livestream). They are checked before any decoding starts: the size before
the file is even opened, the duration right after its headers are read.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from media_assets.core.errors import DurationTooLongError, FileTooLargeError


def _human_bytes(n: float) -> str:
    """Readable byte count (binary units), for error messages."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _human_seconds(seconds: float) -> str:
    """Readable duration like ``26h03m12s`` (or ``12.5s``), for error messages."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class Limits(BaseModel):
    """Upper bounds for one input file; ``None`` disables a bound."""

    model_config = ConfigDict(frozen=True)

    max_file_bytes: int | None = 200 * 1024**3
    max_duration_s: float | None = 24 * 3600

    def check_size(self, path: str | Path, size: int) -> None:
        """Raise FileTooLargeError if ``size`` (bytes) exceeds the limit."""
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            raise FileTooLargeError(
                str(path),
                f"file is {_human_bytes(size)} ({size} bytes), over the limit of {_human_bytes(self.max_file_bytes)}",
                size_bytes=size,
                max_file_bytes=self.max_file_bytes,
            )

    def check_duration(self, path: str | Path, seconds: float | None) -> None:
        """Raise DurationTooLongError if ``seconds`` exceeds the limit (unknown durations pass)."""
        if self.max_duration_s is not None and seconds is not None and seconds > self.max_duration_s:
            raise DurationTooLongError(
                str(path),
                f"media lasts {_human_seconds(seconds)}, over the limit of {_human_seconds(self.max_duration_s)}",
                duration_s=round(seconds, 3),
                max_duration_s=self.max_duration_s,
            )


DEFAULT_LIMITS = Limits()

_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024**2, "mb": 1000**2, "mib": 1024**2,
               "g": 1024**3, "gb": 1000**3, "gib": 1024**3, "t": 1024**4, "tb": 1000**4, "tib": 1024**4}  # fmt: skip
_TIME_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_NO_LIMIT = ("none", "off", "unlimited")


def _split_number(text: str, what: str) -> tuple[float, str]:
    s = text.strip().lower().replace(" ", "")
    i = len(s)
    while i and not (s[i - 1].isdigit() or s[i - 1] == "."):
        i -= 1
    try:
        value = float(s[:i])
    except ValueError:
        raise ValueError(f"invalid {what} {text!r}") from None
    if value < 0:
        raise ValueError(f"invalid {what} {text!r}: negative")
    return value, s[i:]


def parse_size(text: str) -> int | None:
    """``"2G"``, ``"500MB"``, ``"1.5GiB"``, ``"123456"`` (bytes) -> bytes; ``"none"`` -> no limit.
    K/M/G/T alone are binary units (as in ``ls -h``); KB/MB/GB/TB are decimal."""
    if text.strip().lower() in _NO_LIMIT:
        return None
    value, unit = _split_number(text, "size")
    if unit not in _SIZE_UNITS:
        raise ValueError(f"invalid size {text!r}: unit must be one of K, M, G, T, KB, MB, GB, TB, KiB, MiB, GiB")
    return int(value * _SIZE_UNITS[unit])


def parse_duration(text: str) -> float | None:
    """``"90m"``, ``"2h"``, ``"45s"``, ``"3600"`` (seconds), ``"1:30:00"`` -> seconds; ``"none"`` -> no limit."""
    s = text.strip().lower()
    if s in _NO_LIMIT:
        return None
    if ":" in s:
        parts = s.split(":")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"invalid duration {text!r}") from None
        if len(values) > 3 or any(v < 0 for v in values):
            raise ValueError(f"invalid duration {text!r}")
        return sum(v * 60**i for i, v in enumerate(reversed(values)))
    value, unit = _split_number(s, "duration")
    if unit not in _TIME_UNITS:
        raise ValueError(f"invalid duration {text!r}: unit must be s, m or h")
    return value * _TIME_UNITS[unit]
