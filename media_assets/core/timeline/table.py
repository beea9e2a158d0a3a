"""``timeline.parquet``: one row per event, typed so pandas and DuckDB read it without guessing.

Columns: ``partition``, ``id``, ``type``, ``start``, ``end``, ``confidence`` (null when the producer gives
none), ``label`` (what the event is: speaker, sound, object, scene kind...), ``text`` (spoken words or
on-screen text), ``data`` (the event's ``data`` as JSON text).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from media_assets.core.timeline.timeline_models import Timeline, TimelineEvent

SCHEMA = pa.schema(
    [
        pa.field("partition", pa.string(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("start", pa.float64(), nullable=False),
        pa.field("end", pa.float64(), nullable=False),
        pa.field("confidence", pa.float64()),
        pa.field("label", pa.string()),
        pa.field("text", pa.string()),
        pa.field("data", pa.string(), nullable=False),
    ]
)
COLUMNS = SCHEMA.names


def event_label(e: TimelineEvent) -> str | None:
    """One short word or name per event, the same across types so a table can group by it."""
    d = e.data
    if e.type in ("scene", "transition"):
        return d.get("kind")
    if e.type == "keyframe":
        return d.get("reason")
    if e.type in ("speech", "speaker_turn"):
        return d.get("speaker")
    if e.type in ("audio_event", "object_track"):
        return d.get("label")
    if e.type == "face":
        return "face"
    if e.type == "text_event":
        return d.get("text")
    return None


def event_text(e: TimelineEvent) -> str | None:
    return e.data.get("text") if e.type in ("speech", "text_event") else None


def _columns(timeline: Timeline) -> dict[str, list[Any]]:
    part = timeline.video.partition
    evs = timeline.events
    return {
        "partition": [part] * len(evs),
        "id": [e.id for e in evs],
        "type": [e.type for e in evs],
        "start": [float(e.start) for e in evs],
        "end": [float(e.end) for e in evs],
        "confidence": [e.confidence for e in evs],
        "label": [event_label(e) for e in evs],
        "text": [event_text(e) for e in evs],
        "data": [json.dumps(e.data, sort_keys=True, ensure_ascii=False) for e in evs],
    }


def timeline_table(timeline: Timeline) -> pa.Table:
    return pa.Table.from_pydict(_columns(timeline), schema=SCHEMA)


def timeline_frame(timeline: Timeline) -> pd.DataFrame:
    """The events as a DataFrame (nullable float ``confidence``, string columns as ``object``)."""
    return timeline_table(timeline).to_pandas()


def write_parquet(timeline: Timeline, path: str | os.PathLike[str]) -> Path:
    """Write ``timeline.parquet`` atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        pq.write_table(timeline_table(timeline), tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
