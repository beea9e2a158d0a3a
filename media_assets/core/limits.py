"""Configurable input limits.

Limits protect the pipeline from inputs that would tie up a worker for hours or fill a disk (a 2 TB disk
image dropped by mistake, a 3-day livestream). They are checked before any decoding starts: the size before
the file is even opened, the duration right after its headers are read.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from media_assets.errors import DurationTooLongError, FileTooLargeError


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
