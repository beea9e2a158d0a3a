"""timeline.parquet: one row per event, read back with pandas and DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from media_assets.core.timeline.fuse import fuse_timeline
from media_assets.core.timeline.inputs import inputs_from_files
from media_assets.core.timeline.table import COLUMNS, timeline_frame, write_parquet
from media_assets.core.timeline.timeline_models import Timeline, TimelineVideo
from tests.core.timeline.synthetic import synthetic_outputs


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    return fuse_timeline(inputs_from_files("k1", synthetic_outputs(90.0, seed=11), source="/m/a.mp4"))


def test_frame_has_one_row_per_event(timeline: Timeline) -> None:
    df = timeline_frame(timeline)
    assert list(df.columns) == COLUMNS
    assert COLUMNS == ["partition", "id", "type", "start", "end", "confidence", "label", "text", "data"]
    assert len(df) == len(timeline.events) and df["id"].is_unique
    assert (df["partition"] == "k1").all()
    assert df["start"].dtype == "float64" and df["confidence"].dtype == "float64"
    assert df.loc[df["type"] == "scene", "confidence"].isna().all()
    row = df[df["type"] == "speech"].iloc[0]
    ev = next(e for e in timeline.events if e.id == row["id"])
    assert row["text"] == ev.data["text"] and row["label"] == ev.data["speaker"]
    assert json.loads(row["data"]) == ev.data
    sound = df[df["type"] == "audio_event"].iloc[0]
    assert sound["label"] == json.loads(sound["data"])["label"] and pd.isna(sound["text"])


def test_parquet_reads_in_pandas_and_duckdb(timeline: Timeline, tmp_path: Path) -> None:
    path = write_parquet(timeline, tmp_path / "out" / "timeline.parquet")
    assert path.exists() and not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]
    df = pd.read_parquet(path)
    pd.testing.assert_frame_equal(df, timeline_frame(timeline))

    con = duckdb.connect()
    rows = con.execute("SELECT type, count(*) FROM read_parquet(?) GROUP BY type ORDER BY type", [str(path)]).fetchall()
    assert dict(rows) == {k: v for k, v in timeline.counts().items() if v}
    # the data column is JSON text that DuckDB can query
    speakers = con.execute(
        "SELECT DISTINCT json_extract_string(data, '$.speaker') FROM read_parquet(?) WHERE type = 'speaker_turn'",
        [str(path)],
    ).fetchall()
    assert {s for (s,) in speakers} == {e.label for e in timeline.entities if e.type == "speaker"}
    n_words = con.execute(
        "SELECT sum(CAST(json_extract(data, '$.words') AS INTEGER)) FROM read_parquet(?) WHERE type = 'speech'",
        [str(path)],
    ).fetchone()[0]
    assert n_words == sum(e.data["words"] for e in timeline.events if e.type == "speech")


def test_empty_timeline_keeps_the_schema(tmp_path: Path) -> None:
    path = write_parquet(Timeline(video=TimelineVideo(partition="z")), tmp_path / "t.parquet")
    df = pd.read_parquet(path)
    assert list(df.columns) == COLUMNS and len(df) == 0
    assert duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0] == 0
