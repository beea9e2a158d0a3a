"""The timeline's inputs: every upstream JSON file of a partition, each one optional.

Files are given as a mapping ``file name -> content`` (parsed JSON, or raw bytes/str that are parsed here), so
the same loader serves the media store, an output folder and tests. A file that cannot be parsed is recorded in
``invalid`` and treated as absent: one broken input must not cost the others.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# input name (also the name used in ``Timeline.quality``) -> file in the partition folder
INPUT_FILES: dict[str, str] = {
    "media_metadata": "media_metadata.json",
    "scenes": "scenes.json",
    "keyframes": "keyframes.json",
    "transcript": "transcript.json",
    "speaker_transcript": "speaker_transcript.json",
    "diarization": "diarization.json",
    "audio_events": "audio_events.json",
    "detections": "detections.json",
    "events": "events.json",
}
SOURCE_FILE = "source.json"


@dataclass
class TimelineInputs:
    """Parsed upstream outputs of one partition; ``None`` where the file does not exist."""

    partition: str
    source: str | None = None
    media_metadata: dict[str, Any] | None = None
    scenes: dict[str, Any] | None = None
    keyframes: dict[str, Any] | None = None
    transcript: dict[str, Any] | None = None
    speaker_transcript: dict[str, Any] | None = None
    diarization: dict[str, Any] | None = None
    audio_events: dict[str, Any] | None = None
    detections: dict[str, Any] | None = None
    events: dict[str, Any] | None = None
    upstream_errors: dict[str, dict[str, Any]] = field(default_factory=dict)  # input name -> errors/<asset>.json
    invalid: dict[str, str] = field(default_factory=dict)  # input name -> why it could not be read

    def get(self, name: str) -> dict[str, Any] | None:
        return getattr(self, name)


def _parse(content: Any) -> dict[str, Any]:
    if isinstance(content, (bytes, bytearray)):
        content = content.decode("utf-8")
    if isinstance(content, str):
        content = json.loads(content)
    if not isinstance(content, dict):
        raise ValueError(f"expected a JSON object, got {type(content).__name__}")
    return content


def inputs_from_files(
    partition: str,
    files: Mapping[str, Any],
    *,
    source: str | None = None,
    upstream_errors: Mapping[str, dict[str, Any]] | None = None,
) -> TimelineInputs:
    """Build :class:`TimelineInputs` from ``{"scenes.json": {...}, ...}`` (unknown names are ignored).

    ``source.json`` (if given) supplies ``source`` unless it is passed explicitly; ``errors/<asset>.json``
    entries are picked up as upstream errors.
    """
    inputs = TimelineInputs(partition=partition, source=source, upstream_errors=dict(upstream_errors or {}))
    for name, file in INPUT_FILES.items():
        if file not in files or files[file] is None:
            continue
        try:
            setattr(inputs, name, _parse(files[file]))
        except (ValueError, UnicodeDecodeError) as exc:
            inputs.invalid[name] = f"{file}: {type(exc).__name__}: {exc}"
    for file, content in files.items():
        if file.startswith("errors/") and file.endswith(".json") and content is not None:
            asset = file[len("errors/") : -len(".json")]
            try:
                inputs.upstream_errors.setdefault(asset, _parse(content))
            except (ValueError, UnicodeDecodeError):
                inputs.upstream_errors.setdefault(asset, {"problem": f"unreadable {file}"})
    if inputs.source is None and files.get(SOURCE_FILE) is not None:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            inputs.source = _parse(files[SOURCE_FILE]).get("uri")
    return inputs


def wanted_files() -> list[str]:
    """Every file name the timeline may read from a partition folder (inputs, source and error records)."""
    return [SOURCE_FILE, *INPUT_FILES.values(), *(f"errors/{name}.json" for name in INPUT_FILES)]


def inputs_from_dir(folder: str | Path, partition: str | None = None) -> TimelineInputs:
    """Read a partition folder as written by ``media-assets process --out DIR`` (``DIR/<key>``)."""
    folder = Path(folder)
    files = {name: (folder / name).read_bytes() for name in wanted_files() if (folder / name).is_file()}
    return inputs_from_files(partition or folder.name, files)
