"""The ``embeddings`` asset through Dagster: batched multi-partition runs, optional inputs, idempotent re-runs.

The upstream assets are written by other modules; here their output files are written into the store directly
(shapes from docs/outputs.md) and ``embeddings`` runs alone with its deps as external assets.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from PIL import Image

from media_assets.assets.embeddings import embeddings
from media_assets.core.catalog import Catalog
from media_assets.core.embed.text_embedder import load_text_embedder
from media_assets.core.search.vector_store import point_id
from media_assets.sources import describe_local, register_source
from resources.catalog import CatalogResource
from resources.embedders import ImageEmbedderResource, TextEmbedderResource
from resources.fulltext import FulltextResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from resources.vector_store import VectorStoreResource
from tests.assets.harness import materializations
from tests.core.embed.test_image_embedder import build_tiny_clip

VIDEO = "video/composite_bbb_cuts_jfk_speech.mp4"  # BBB shots + JFK speech
AUDIO = "speech/LDC93S1.wav"  # audio only
SILENT = "formats/bbb_seg_vfr_drop3.mp4"  # video without audio
BROKEN = "broken/png_bytes_named.mp4"  # media_metadata failed upstream


def _jfk_outputs(text: str) -> dict[str, dict]:
    words = text.split()
    step = 10.0 / len(words)
    timed = [
        {"start": round(i * step, 3), "end": round((i + 1) * step, 3), "word": f" {w}", "probability": 0.9}
        for i, w in enumerate(words)
    ]
    half = len(timed) // 2
    segments = [
        {"start": timed[0]["start"], "end": timed[half - 1]["end"], "speaker": "SPEAKER_00", "words": timed[:half]},
        {"start": timed[half]["start"], "end": timed[-1]["end"], "speaker": "SPEAKER_01", "words": timed[half:]},
    ]
    for seg in segments:
        seg["text"] = "".join(w["word"] for w in seg["words"])
    scenes = [
        {"index": 0, "kind": "shot", "start_s": 0.0, "end_s": 1.792, "keyframes": [0]},
        {"index": 1, "kind": "shot", "start_s": 1.792, "end_s": 5.667, "keyframes": [1]},
        {"index": 2, "kind": "shot", "start_s": 5.667, "end_s": 11.0, "keyframes": [2, 3]},
    ]
    keyframes = [
        {
            "index": i,
            "scene_index": s,
            "frame": i * 40,
            "time_s": t,
            "image": f"keyframes/{i:05d}.jpg",
            "duplicate_of": None,
        }
        for i, (s, t) in enumerate([(0, 0.5), (1, 3.0), (2, 7.0)])
    ]
    keyframes.append({"index": 3, "scene_index": 2, "frame": 200, "time_s": 9.0, "image": None, "duplicate_of": 2})
    frame = {"source": "keyframe", "status": "ok", "faces": []}
    return {
        "speaker_transcript.json": {"has_audio": True, "speakers": [], "segments": segments},
        "scenes.json": {"has_video": True, "scenes": scenes, "transitions": []},
        "keyframes.json": {"has_video": True, "keyframes": keyframes},
        "detections.json": {
            "has_video": True,
            "frames": [
                {**frame, "index": 0, "time_s": 0.5, "objects": [{"label": "rabbit"}], "text": []},
                {**frame, "index": 1, "time_s": 3.0, "objects": [{"label": "bird"}], "text": [{"text": "BIG BUCK"}]},
            ],
        },
        "events.json": {
            "text_events": [{"id": 0, "text": "BIG BUCK BUNNY", "start": 2.5, "end": 4.0, "confidence": 0.9}],
            "object_tracks": [],
        },
    }


def _write_keyframes(store: MediaStore, key: str, tmp_path: Path, broken: int | None = None) -> None:
    rng = np.random.default_rng(0)
    for i in range(3):
        path = tmp_path / f"kf{i}.jpg"
        if i == broken:
            path.write_bytes(b"not a jpeg")
        else:
            Image.fromarray(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)).save(path)
        store.put_file(key, f"keyframes/{i:05d}.jpg", path)


@pytest.fixture(scope="module")
def text_model():
    return load_text_embedder()  # shared with the resource through its process-wide model cache


@pytest.fixture
def env(tmp_path: Path, media_dir: Path, truth: dict) -> dict:
    store = MediaStore(root=str(tmp_path / "store"))
    keys = {}
    for rel in (VIDEO, AUDIO, SILENT, BROKEN):
        keys[rel] = register_source(store, describe_local(media_dir / rel)).key
    jfk = truth["speech"]["speech/jfk.flac"]["reference_text"]
    for name, data in _jfk_outputs(jfk).items():
        store.put_json(keys[VIDEO], name, data)
    _write_keyframes(store, keys[VIDEO], tmp_path)
    ldc = truth["speech"][AUDIO]["reference_text"]
    store.put_json(
        keys[AUDIO],
        "transcript.json",
        {"has_audio": True, "segments": [{"id": 0, "start": 0.1, "end": 2.9, "text": ldc}]},
    )
    store.put_json(keys[AUDIO], "scenes.json", {"has_video": False, "scenes": [], "transitions": []})
    store.put_json(keys[SILENT], "speaker_transcript.json", {"has_audio": False, "reason": "no audio stream"})
    store.put_json(
        keys[SILENT],
        "events.json",
        {"has_video": True, "text_events": [{"id": 3, "text": "THE END", "start": 6.0, "end": 6.9}]},
    )
    store.put_json(
        keys[BROKEN], "errors/media_metadata.json", {"code": "unsupported_format", "file": BROKEN, "problem": "PNG"}
    )
    instance = dg.DagsterInstance.ephemeral()
    ordered = sorted(keys.values())
    instance.add_dynamic_partitions("videos", ordered)
    return {"store": store, "keys": keys, "ordered": ordered, "instance": instance, "tmp": tmp_path, "jfk": jfk}


def _job(env: dict, image_model: str | None = None):
    tmp = env["tmp"]
    resources = {
        "media_store": env["store"],
        "processing": ProcessingSettings(),
        "catalog": CatalogResource(path=str(tmp / "index" / "catalog.sqlite")),
        "text_embedder": TextEmbedderResource(),
        "image_embedder": ImageEmbedderResource(model=image_model),
        "vector_store": VectorStoreResource(path=str(tmp / "index" / "vectors")),
        "fulltext": FulltextResource(path=str(tmp / "index" / "fulltext")),
    }
    defs = dg.Definitions(
        assets=[embeddings],
        jobs=[dg.define_asset_job("embed", selection=dg.AssetSelection.assets(embeddings))],
        resources=resources,
    )
    return defs.resolve_job_def("embed"), resources


def _run(env: dict, image_model: str | None = None):
    job, resources = _job(env, image_model)
    keys = env["ordered"]
    result = job.execute_in_process(
        instance=env["instance"],
        tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]},
        raise_on_error=False,
    )
    return result, resources


def _materializations(result) -> dict[str, dict]:
    return {key: meta for (_asset, key), meta in materializations(result).items()}


def _record(catalog: Catalog, result, mats: dict[str, dict]) -> None:
    """The videos rows media_metadata would write (not part of this run); the runner recorded the jobs."""
    for key, meta in mats.items():
        catalog.upsert_video(key, status=meta["status"])


def test_embeddings_run_records_every_partition(env: dict, text_model) -> None:
    result, resources = _run(env)
    assert result.success
    mats = _materializations(result)
    k = env["keys"]
    assert k[BROKEN] not in mats  # not materialized
    assert env["store"].get_json(k[BROKEN], "errors/embeddings.json")["code"] == "upstream_failed"
    video = mats[k[VIDEO]]
    assert video["status"] == "ok" and video["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert video["model_backend"] == "onnx" and video["device"] == "cpu" and video["model_revision"]
    assert video["compute_type"] == "int8_weights"
    assert video["media_assets/preset"] == "balanced" and video["media_assets/code_version"]
    assert (video["count_segment"], video["count_text_event"], video["count_scene"], video["count_keyframe"]) == (
        2,
        1,
        3,
        0,
    )
    assert mats[k[AUDIO]]["count_segment"] == 1 and mats[k[AUDIO]]["vectors"] == 1  # transcript.json fallback
    assert mats[k[SILENT]]["vectors"] == 1 and mats[k[SILENT]]["count_text_event"] == 1
    assert "keyframes.json" in mats[k[SILENT]]["missing_inputs"]

    store = env["store"]
    doc = store.get_json(k[VIDEO], "embeddings.json")
    assert doc["image_model"] is None and doc["collections"] == {"text": "media_text", "image": None}
    assert doc["text_model"]["name"] == video["model"] and doc["text_model"]["dim"] == 384
    assert doc["text_model"]["preset"] == "balanced" and doc["text_model"]["compute_type"] == "int8_weights"
    assert doc["counts"] == {"segment": 2, "text_event": 1, "scene": 3, "keyframe": 0}
    assert doc["point_ids"]["text_event"] == [point_id(k[VIDEO], "text_event", "0")]
    assert doc["source"].endswith(VIDEO)

    vectors = resources["vector_store"].open()
    for key in (k[VIDEO], k[AUDIO], k[SILENT]):
        assert vectors.count("media_text", partition=key) == store.get_json(key, "embeddings.json")["counts"][
            "segment"
        ] + sum(
            n for kind, n in store.get_json(key, "embeddings.json")["counts"].items() if kind in ("text_event", "scene")
        )
    assert vectors.count("media_text", partition=k[BROKEN]) == 0
    # semantic search: a paraphrase finds the right speech, with the contract payload
    query = text_model.encode(["what you are able to do for your nation"])[0]
    top = vectors.search("media_text", query, top_k=1, kinds=["segment"])[0]
    assert top.payload["partition"] == k[VIDEO] and top.payload["speaker"] == "SPEAKER_01"
    assert {"partition", "source", "kind", "item", "start", "end", "text", "model", "revision"} <= set(top.payload)
    assert top.payload["revision"] == video["model_revision"] and "country" in top.payload["text"]
    scene = vectors.search(
        "media_text", text_model.encode(["a bird and the title Big Buck"])[0], top_k=1, kinds=["scene"]
    )[0]
    assert (scene.payload["partition"], scene.payload["item"]) == (k[VIDEO], "1")
    # the same documents are in the full-text index
    index = resources["fulltext"].open()
    hits = index.search("greasy wash water")
    assert hits and hits[0].partition == k[AUDIO] and hits[0].kind == "segment"
    assert {h.kind for h in index.search("buck bunny", partitions=[k[VIDEO]])} == {"text_event", "scene"}


def test_rematerializing_changes_no_counts(env: dict, text_model) -> None:
    catalog = Catalog(f"sqlite:///{env['tmp'] / 'index' / 'catalog.sqlite'}")
    first, resources = _run(env)
    _record(catalog, first, _materializations(first))
    vectors = resources["vector_store"]
    counts1 = (vectors.open().count("media_text"), resources["fulltext"].open().count(), catalog.counts())
    ids1 = env["store"].get_json(env["keys"][VIDEO], "embeddings.json")["point_ids"]
    vectors.close()
    second, resources = _run(env)
    _record(catalog, second, _materializations(second))
    counts2 = (
        resources["vector_store"].open().count("media_text"),
        resources["fulltext"].open().count(),
        catalog.counts(),
    )
    assert counts1[0] == counts2[0] == 2 + 1 + 3 + 1 + 1  # VIDEO, AUDIO, SILENT
    assert counts1[1] == counts2[1]
    assert counts1[2] == counts2[2] == {"videos": 3, "processing_jobs": 4, "video_results": 3, "timelines": 0}
    assert env["store"].get_json(env["keys"][VIDEO], "embeddings.json")["point_ids"] == ids1
    # fewer documents on a later run: the partition's stale points go
    key = env["keys"][VIDEO]
    st = env["store"].get_json(key, "speaker_transcript.json")
    env["store"].put_json(key, "speaker_transcript.json", {**st, "segments": st["segments"][:1]})
    third, resources = _run(env)
    # left: one segment, the text event and two scenes (the last scene only had the removed words)
    assert third.success and resources["vector_store"].open().count("media_text", partition=key) == 1 + 1 + 2
    assert env["store"].get_json(key, "embeddings.json")["counts"] == {
        "segment": 1,
        "text_event": 1,
        "scene": 2,
        "keyframe": 0,
    }
    catalog.close()


def test_keyframes_with_an_image_model(env: dict, tmp_path_factory: pytest.TempPathFactory, text_model) -> None:
    clip = build_tiny_clip(tmp_path_factory.mktemp("clip"))
    key = env["keys"][VIDEO]
    _write_keyframes(env["store"], key, env["tmp"], broken=1)
    result, resources = _run(env, image_model=str(clip))
    assert result.success
    mats = _materializations(result)
    assert mats[key]["count_keyframe"] == 2 and mats[key]["image_model"] == str(clip)
    doc = env["store"].get_json(key, "embeddings.json")
    assert doc["image_model"]["backend"] == "transformers" and doc["collections"]["image"] == "media_image"
    assert doc["unreadable_images"] == ["keyframes/00001.jpg"]
    assert doc["point_ids"]["keyframe"] == [point_id(key, "keyframe", "0"), point_id(key, "keyframe", "2")]
    store = resources["vector_store"].open()
    assert store.count("media_image") == 2 and store.count("media_text", partition=key) == 6
    hit = store.search("media_image", np.ones(16, np.float32), top_k=5)[0]
    assert hit.payload["kind"] == "keyframe" and hit.payload["image"].startswith("keyframes/")
    assert hit.payload["model"] == str(clip)
