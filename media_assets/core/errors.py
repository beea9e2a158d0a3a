"""Typed errors: bad input (:class:`MediaError` and its subclasses) and models that cannot be loaded.

Every input error names the file and the problem, carries a stable machine-readable ``code`` and serialises to
JSON, so a failure can be recorded on one partition without stopping the others. :class:`ModelLoadError` is the
one error of every model family (Whisper, text and image embedders, the vision ONNX models, diarization, audio
events): it names the model and every place tried, so ``except ModelLoadError`` catches any model-loading failure.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class ModelLoadError(RuntimeError):
    """A model could not be found or loaded: names the model, every place tried and, when known, how to get one.

    The message reads (parts not given are left out; no places at all reads ``  (nowhere)``)::

        cannot load <what> model '<model>': <reason> (<cause>). Places tried:
          - <place>
          - <place>
        <hint>

    ``message`` replaces that text whole, for errors worded as a sentence of their own (diarization, audio
    events); ``model`` and ``tried`` are set either way.
    """

    def __init__(
        self,
        model: str,
        tried: Sequence[str] = (),
        reason: str = "",
        *,
        what: str = "",
        hint: str = "",
        cause: str | None = None,
        message: str | None = None,
    ) -> None:
        self.model = model
        self.tried = list(tried)
        self.reason = reason
        self.what = what
        self.hint = hint
        self.cause = cause
        if message is None:
            kind = f"{what} model" if what else "model"
            extra = f": {reason}" if reason else ""
            detail = f" ({cause})" if cause else ""
            places = "\n".join(f"  - {t}" for t in self.tried) or "  (nowhere)"
            advice = f"\n{hint}" if hint else ""
            message = f"cannot load {kind} {model!r}{extra}{detail}. Places tried:\n{places}{advice}"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from its parts with the same text (the default would call __init__ with the message alone)
        kwargs = {"what": self.what, "hint": self.hint, "cause": self.cause, "message": str(self)}
        return (_rebuild_model_load_error, (type(self), self.model, self.tried, self.reason, kwargs))


def _rebuild_model_load_error(
    cls: type[ModelLoadError], model: str, tried: list[str], reason: str, kwargs: dict[str, Any]
) -> ModelLoadError:
    return cls(model, tried, reason, **kwargs)


class CheckFailedError(MediaError):
    """A blocking check failed on an output of the file: what reads that output must not consume it."""

    code = "check_failed"
