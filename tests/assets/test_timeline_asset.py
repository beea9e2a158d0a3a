"""The ``timeline`` asset through Dagster: one multi-partition run over stored upstream outputs."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from PIL import Image

from media_assets.asset_graph import INFO
from media_assets.assets.common import PARTITIONS
from media_assets.assets.timeline import timeline
from media_assets.core.timeline.timeline_models import Timeline
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from tests.core.timeline.synthetic import synthetic_outputs

UPSTREAM = INFO["timeline"].upstream

WITH_AUDIO = "aaaaaaaaaaaaaaaa"
NO_AUDIO = "bbbbbbbbbbbbbbbb"
BROKEN = "cccccccccccccccc"


def _store_partition(store: MediaStore, key: str, files: dict) -> None:
    store.put_json(key, "source.json", {"key": key, "uri": f"/media/{key}.mp4", "size_bytes": 1, "mtime": "x"})
    for name, doc in files.items():
        store.put_json(key, name, doc)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    store = MediaStore(root=str(tmp_path_factory.mktemp("timeline-asset") / "store"))
    _store_partition(store, WITH_AUDIO, synthetic_outputs(90.0, seed=21))
    silent = synthetic_outputs(45.0, seed=22, has_audio=False)
    silent.pop("detections.json")  # and no vision outputs at all
    _store_partition(store, NO_AUDIO, silent)
    store.put_json(BROKEN, "errors/media_metadata.json", {"code": "unsupported_format", "problem": "PNG image"})
    keys = [WITH_AUDIO, NO_AUDIO, BROKEN]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("videos", keys)
    upstream = [dg.AssetSpec(name, partitions_def=PARTITIONS) for name in UPSTREAM]
    job = dg.Definitions(
        assets=[timeline, *upstream],
        jobs=[dg.define_asset_job("timeline_job", selection=dg.AssetSelection.assets(timeline))],
        resources={"media_store": store, "processing": ProcessingSettings(), "catalog": CatalogResource()},
    ).resolve_job_def("timeline_job")
    result = job.execute_in_process(
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]},
        raise_on_error=False,
    )
    mats = {}
    for ev in result.get_asset_materialization_events():
        m = ev.event_specific_data.materialization
        mats[m.partition] = {k: v.value for k, v in m.metadata.items()}
    return store, result, mats


def test_run_succeeds_and_records_each_partition(run) -> None:
    _store, result, mats = run
    assert result.success
    assert set(mats) == {WITH_AUDIO, NO_AUDIO}  # the broken one is not materialized
    assert _store.get_json(BROKEN, "errors/timeline.json")["code"] == "upstream_failed"
    for key in (WITH_AUDIO, NO_AUDIO):
        meta = mats[key]
        assert meta["status"] == "ok"
        assert meta["media_assets/code_version"] and meta["media_assets/preset"] == "balanced"
        assert meta["model"] == "media-assets-timeline-fusion" and meta["model_revision"] and meta["device"] == "cpu"
        assert meta["preview"] == f"![timeline](/media-assets/files/{key}/timeline.png)"
        assert meta["dagster/uri"].endswith(f"{key}/timeline.json")


def test_outputs_with_audio(run) -> None:
    store, _result, mats = run
    meta = mats[WITH_AUDIO]
    assert meta["has_audio"] is True and meta["duration_s"] == 90.0
    assert all(meta["event_counts"][t] > 0 for t in ("scene", "speech", "speaker_turn", "audio_event", "face"))
    assert set(meta["relationships"]) == {"face_speaker", "text_speech", "sound_in_scene"}
    assert meta["upstream_models"]["transcript"]["name"] == "whisper-base"
    tl = Timeline.model_validate(store.get_json(WITH_AUDIO, "timeline.json"))
    assert tl.counts() == meta["event_counts"] and tl.video.source == f"/media/{WITH_AUDIO}.mp4"
    assert sum(len(v.words) for v in tl.scenes) > 0
    path = store.fetch(WITH_AUDIO, "timeline.parquet")
    df = pd.read_parquet(path)
    assert len(df) == len(tl.events) and set(df["partition"]) == {WITH_AUDIO}
    n = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?) WHERE type = 'speech'", [str(path)]).fetchone()
    assert n[0] == meta["event_counts"]["speech"]
    with Image.open(store.fetch(WITH_AUDIO, "timeline.png")) as im:
        assert im.format == "PNG" and im.width == 1600


def test_outputs_without_audio(run) -> None:
    store, _result, mats = run
    meta = mats[NO_AUDIO]
    assert meta["has_audio"] is False and meta["has_video"] is True
    counts = meta["event_counts"]
    assert counts["scene"] > 0 and counts["keyframe"] > 0
    assert counts["speech"] == counts["speaker_turn"] == counts["audio_event"] == counts["face"] == 0
    q = meta["quality"]
    assert q["transcript"]["status"] == "not_applicable" and q["detections"]["status"] == "missing"
    assert "detections" in meta["unavailable"] and "transcript" in meta["unavailable"]
    tl = Timeline.model_validate(store.get_json(NO_AUDIO, "timeline.json"))
    assert not tl.relationships and not [e for e in tl.entities if e.type == "speaker"]
    assert store.exists(NO_AUDIO, "timeline.parquet") and store.exists(NO_AUDIO, "timeline.png")
    assert not store.exists(BROKEN, "timeline.json") and store.exists(BROKEN, "errors/timeline.json")
