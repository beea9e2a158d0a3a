"""Typed errors for bad input.

Every error names the file and the problem, carries a stable machine-readable ``code`` and serialises to
JSON, so a failure can be recorded on one partition without stopping the others.
"""

from __future__ import annotations

from typing import Any


class MediaError(Exception):
    """Base class: something is wrong with one input file (not with the pipeline)."""

    code = "media_error"

    def __init__(self, path: str, problem: str, **details: Any) -> None:
        self.path = str(path)
        self.problem = problem
        self.details = details
        super().__init__(f"{self.path}: {problem}")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "file": self.path, "problem": self.problem, "details": self.details}


class SourceNotFoundError(MediaError):
    code = "not_found"


class EmptyFileError(MediaError):
    code = "empty_file"


class UnsupportedFormatError(MediaError):
    code = "unsupported_format"


class NoVideoStreamError(MediaError):
    code = "no_video_stream"


class NoAudioStreamError(MediaError):
    code = "no_audio_stream"


class CorruptedMediaError(MediaError):
    code = "corrupted"


class FileTooLargeError(MediaError):
    code = "too_large"


class DurationTooLongError(MediaError):
    code = "too_long"


ERROR_TYPES: dict[str, type[MediaError]] = {
    cls.code: cls
    for cls in (
        MediaError,
        SourceNotFoundError,
        EmptyFileError,
        UnsupportedFormatError,
        NoVideoStreamError,
        NoAudioStreamError,
        CorruptedMediaError,
        FileTooLargeError,
        DurationTooLongError,
    )
}


def error_from_dict(data: dict[str, Any]) -> MediaError:
    """Rebuild a recorded error (e.g. read back from an error record)."""
    cls = ERROR_TYPES.get(data.get("code", ""), MediaError)
    return cls(data.get("file", "?"), data.get("problem", "unknown problem"), **(data.get("details") or {}))
