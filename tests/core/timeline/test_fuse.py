"""fuse_timeline on contract-following synthetic outputs: structure, optional inputs, bad inputs, scaling."""

from __future__ import annotations

import gc
import json
import time
from collections import Counter

import pytest

from media_assets.core.timeline.fuse import fuse_timeline
from media_assets.core.timeline.inputs import inputs_from_files
from media_assets.core.timeline.timeline_models import EVENT_TYPES, Timeline
from tests.core.timeline.synthetic import synthetic_outputs

AUDIO_FILES = ("transcript", "speaker_transcript", "diarization", "audio_events")


@pytest.fixture(scope="module")
def files() -> dict:
    return synthetic_outputs(240.0, seed=7)


@pytest.fixture(scope="module")
def timeline(files: dict) -> Timeline:
    return fuse_timeline(inputs_from_files("p1", files, source="/media/show.mp4"))


def test_every_modality_becomes_events(files: dict, timeline: Timeline) -> None:
    counts = timeline.counts()
    assert set(counts) == set(EVENT_TYPES)
    assert counts["scene"] == len(files["scenes.json"]["scenes"])
    assert counts["transition"] == len(files["scenes.json"]["transitions"])
    assert counts["keyframe"] == len(files["keyframes.json"]["keyframes"])
    assert counts["speech"] == len(files["speaker_transcript.json"]["segments"])
    assert counts["speaker_turn"] == len(files["diarization.json"]["segments"])
    assert counts["audio_event"] == len(files["audio_events.json"]["events"])
    for kind in ("object_track", "face", "text_event"):
        assert counts[kind] > 0, kind
    assert timeline.video.model_dump() == {
        "partition": "p1",
        "source": "/media/show.mp4",
        "duration": 240.0,
        "has_audio": True,
        "has_video": True,
    }
    ids = [e.id for e in timeline.events]
    assert len(ids) == len(set(ids))
    assert [(e.start, e.end) for e in timeline.events] == sorted((e.start, e.end) for e in timeline.events)
    assert all(e.start <= e.end for e in timeline.events)
    # speech events come from the speaker-attributed transcript and keep its text
    first = next(e for e in timeline.events if e.type == "speech")
    seg = files["speaker_transcript.json"]["segments"][0]
    assert (first.start, first.data["text"], first.data["speaker"]) == (seg["start"], seg["text"], seg["speaker"])


def test_references_resolve_and_entities_add_up(files: dict, timeline: Timeline) -> None:
    events = {e.id: e for e in timeline.events}
    entities = {e.id: e for e in timeline.entities}
    for ent in timeline.entities:
        assert ent.event_ids and all(i in events for i in ent.event_ids)
    for r in timeline.relationships:
        assert r.source in events and (r.target in events or r.target in entities), r
        assert 0 < r.score <= 1
    kinds = Counter(r.type for r in timeline.relationships)
    assert kinds["face_speaker"] > 0 and kinds["text_speech"] > 0 and kinds["sound_in_scene"] > 0
    # speakers: the diarization's, with their talk time (turns do not overlap in the synthetic data)
    speakers = {e.label: e for e in timeline.entities if e.type == "speaker"}
    turns = files["diarization.json"]["segments"]
    assert set(speakers) == {t["speaker"] for t in turns}
    for sid, ent in speakers.items():
        assert ent.total_s == pytest.approx(sum(t["end"] - t["start"] for t in turns if t["speaker"] == sid), abs=1e-3)
    # recurring objects: labels with at least two tracks
    tracks = Counter(e.data["label"] for e in timeline.events if e.type == "object_track")
    assert {e.label for e in timeline.entities if e.type == "object"} == {k for k, n in tracks.items() if n >= 2}
    for ent in (e for e in timeline.entities if e.type == "text"):
        assert len(ent.event_ids) >= 2 and len({events[i].data["text"].lower() for i in ent.event_ids}) == 1
    # a linked face is on screen while its speaker talks
    for r in (r for r in timeline.relationships if r.type == "face_speaker"):
        face = events[r.source]
        sid = r.target.removeprefix("speaker:")
        assert any(t["speaker"] == sid and t["start"] < face.end and t["end"] > face.start for t in turns)


def test_scene_view_holds_every_word_once(files: dict, timeline: Timeline) -> None:
    words = [w for s in files["speaker_transcript.json"]["segments"] for w in s["words"]]
    in_video = [w for w in words if (w["start"] + w["end"]) / 2 < 240.0]
    assert sum(len(v.words) for v in timeline.scenes) == len(in_video)
    for v in timeline.scenes:
        for w in v.words:
            assert v.start <= (w.start + w.end) / 2 < v.end
        assert sum(s.words for s in v.speakers) == len(v.words)
    assert [v.index for v in timeline.scenes] == list(range(len(timeline.scenes)))


def test_json_follows_the_contract(timeline: Timeline) -> None:
    doc = json.loads(timeline.model_dump_json())
    assert {"video", "events", "entities", "relationships", "scenes", "quality"} <= set(doc)
    assert set(doc["video"]) == {"partition", "source", "duration", "has_audio", "has_video"}
    assert {tuple(sorted(e)) for e in doc["events"]} == {("confidence", "data", "end", "id", "start", "type")}
    assert {tuple(sorted(e)) for e in doc["entities"]} == {("event_ids", "id", "label", "total_s", "type")}
    assert {tuple(sorted(r)) for r in doc["relationships"]} == {("score", "source", "target", "type")}
    scene_keys = {"index", "start", "end", "words", "text", "speakers", "objects", "faces", "on_screen_text", "sounds"}
    assert all(set(s) == scene_keys for s in doc["scenes"])
    assert {r["type"] for r in doc["relationships"]} == {"face_speaker", "text_speech", "sound_in_scene"}
    assert {e["type"] for e in doc["entities"]} == {"speaker", "object", "text"}
    assert Timeline.model_validate(doc) == timeline
    assert doc["model"]["upstream"]["transcript"]["name"] == "whisper-base"
    assert doc["model"]["upstream"]["detections"]["faces"]["name"] == "retinaface-mnet025"


def test_quality_per_modality(timeline: Timeline) -> None:
    q = timeline.quality
    assert {k: v.status for k, v in q.items()} == {
        "media_metadata": "ok",
        "scenes": "ok",
        "keyframes": "ok",
        "transcript": "ok",
        "speaker_transcript": "ok",
        "diarization": "ok",
        "audio_events": "ok",
        "detections": "ok",
        "events": "missing",
    }
    assert q["transcript"].score == 0.82
    assert q["diarization"].score == 0.9
    assert q["speaker_transcript"].score == 1.0
    assert q["scenes"].score == pytest.approx(1 - 1 / 240.0, abs=1e-3)
    assert 0.4 < q["detections"].score < 1 and q["detections"].metrics["frames_unreadable"] >= 0
    assert q["events"].reason == "events.json not found"


def test_video_without_audio_has_no_speech_lanes() -> None:
    files = synthetic_outputs(120.0, seed=3, has_audio=False)
    tl = fuse_timeline(inputs_from_files("silent", files))
    counts = tl.counts()
    assert tl.video.has_audio is False and tl.video.has_video is True
    assert counts["speech"] == counts["speaker_turn"] == counts["audio_event"] == 0
    assert counts["scene"] > 0 and counts["object_track"] > 0
    assert not [e for e in tl.entities if e.type == "speaker"]
    assert all(not v.words and not v.speakers and not v.sounds for v in tl.scenes)
    for name in AUDIO_FILES:
        assert (tl.quality[name].status, tl.quality[name].reason) == ("not_applicable", "no audio stream")


def test_stale_speech_files_are_ignored_when_the_media_has_no_audio(files: dict) -> None:
    meta = dict(files["media_metadata.json"])
    meta["streams"] = [s for s in meta["streams"] if s["kind"] != "audio"]
    tl = fuse_timeline(inputs_from_files("p", {**files, "media_metadata.json": meta}))
    assert tl.video.has_audio is False and tl.counts()["speech"] == 0
    assert tl.quality["transcript"].status == "not_applicable"


def test_only_some_inputs(files: dict) -> None:
    errors = {"transcript": {"code": "internal_error", "problem": "model exploded"}}
    tl = fuse_timeline(inputs_from_files("p", {"scenes.json": files["scenes.json"]}, upstream_errors=errors))
    assert tl.counts()["scene"] == len(files["scenes.json"]["scenes"])
    assert tl.video.has_video is True and tl.video.has_audio is False and tl.video.duration == 240.0
    assert tl.quality["transcript"].status == "failed" and tl.quality["transcript"].reason == "model exploded"
    assert tl.quality["diarization"].status == "missing"
    assert all(v.words == [] for v in tl.scenes)
    # audio only: no scenes, speech still there
    audio_only = {k: v for k, v in files.items() if k.split(".")[0] in AUDIO_FILES}
    tl = fuse_timeline(inputs_from_files("a", audio_only))
    assert tl.scenes == [] and tl.counts()["speech"] > 0 and tl.video.has_video is False
    assert tl.video.duration == 240.0  # from the transcript
    # nothing at all
    empty = fuse_timeline(inputs_from_files("e", {}))
    assert empty.events == [] and empty.video.duration is None
    assert {q.status for q in empty.quality.values()} == {"missing"}


def test_bad_inputs_are_marked_not_fatal(files: dict) -> None:
    diar = json.loads(json.dumps(files["diarization.json"]))
    del diar["segments"][3]["speaker"]
    broken = {**files, "diarization.json": diar, "audio_events.json": b"{not json", "events.json": [1, 2]}
    tl = fuse_timeline(inputs_from_files("p", broken))
    assert tl.quality["diarization"].status == "invalid" and "KeyError" in tl.quality["diarization"].reason
    assert tl.quality["audio_events"].status == "invalid" and tl.quality["events"].status == "invalid"
    counts = tl.counts()
    assert counts["speaker_turn"] == 0 and counts["audio_event"] == 0
    # speakers now come from the speaker-attributed transcript
    assert counts["speech"] > 0 and {e.type for e in tl.entities} >= {"speaker"}
    assert any(v.speakers and v.speakers[0].speech_s > 0 for v in tl.scenes)


def test_events_json_tracks_are_used_when_present(files: dict) -> None:
    events = {
        "text_events": [
            {"id": 0, "text": "Hello World", "start": 10.0, "end": 12.0, "first_frame": 250, "last_frame": 300,
             "frames": 3, "confidence": 0.9, "box": [0.1, 0.1, 0.5, 0.2]},
            {"id": 1, "text": "HELLO world!", "start": 50.0, "end": 51.0, "first_frame": 1250, "last_frame": 1275,
             "frames": 2, "confidence": 0.8, "box": [0.1, 0.1, 0.5, 0.2]},
        ],
        "object_tracks": [
            {"id": 4, "label": "giraffe", "start": 1.0, "end": 9.0, "frames": 5, "confidence": 0.7,
             "boxes": [{"time_s": 1.0, "frame": 25, "box": [0, 0, 1, 1]}]},
        ],
    }  # fmt: skip
    tl = fuse_timeline(inputs_from_files("p", {**files, "events.json": events}))
    assert [e.id for e in tl.events if e.type == "object_track"] == ["track:4"]
    assert [e.id for e in tl.events if e.type == "text_event"] == ["ocr:0", "ocr:1"]
    texts = [e for e in tl.entities if e.type == "text"]
    assert [(t.label, t.event_ids, t.total_s) for t in texts] == [("Hello World", ["ocr:0", "ocr:1"], 3.0)]
    assert tl.quality["events"].status == "ok" and tl.quality["events"].score == pytest.approx(0.8)


def test_fusion_scales_n_log_n() -> None:
    """Four times the outputs must cost about four times the CPU, not sixteen (O(n²)).

    Short scenes and dense detection frames make pairwise matching (every word against every scene, every
    face against every turn) dominate if it exists: such a variant measured a ratio of 7.7-8.3, this code 3.6-4.
    The garbage collector is paused while timing: its cost grows with the heap, not with the algorithm.
    """

    def inputs(seconds: float):
        return inputs_from_files("s", synthetic_outputs(seconds, seed=1, scene_mean_s=0.6, sample_every_s=0.4))

    def cpu(inp) -> float:
        t = time.process_time()
        fuse_timeline(inp)
        return time.process_time() - t

    small, big = inputs(200.0), inputs(800.0)
    fuse_timeline(small)  # warm caches
    gc.collect()
    gc.disable()
    try:  # interleaved, best of five: a burst of load elsewhere hits one run, not the ratio
        runs = [(cpu(small), cpu(big)) for _ in range(5)]
    finally:
        gc.enable()
    ratio = min(b for _, b in runs) / min(s for s, _ in runs)
    assert ratio < 6, ratio


def _det_frame(t: float, *, faces: int = 0, objects: tuple[str, ...] = (), text: str | None = None, ok: bool = True):
    return {
        "source": "sample",
        "index": int(t),
        "frame": int(t * 25),
        "time_s": t,
        "status": "ok" if ok else "unreadable",
        "objects": [{"label": o, "confidence": 0.5, "box": [0, 0, 0.5, 0.5]} for o in objects],
        "faces": [{"confidence": 0.9 + i / 100, "box": [0.1 * i, 0, 0.2, 0.2]} for i in range(faces)],
        "text": [{"text": text, "confidence": 0.8, "box": [0, 0.8, 1, 0.9]}] if text else [],
    }


def test_faces_and_fallback_tracks_from_detection_frames() -> None:
    scenes = {
        "has_video": True,
        "scenes": [
            {"index": 0, "kind": "shot", "start_s": 0.0, "end_s": 4.0},
            {"index": 1, "kind": "shot", "start_s": 4.0, "end_s": 10.0},
        ],
    }
    frames = [
        _det_frame(1, faces=1, objects=("dog",)),
        _det_frame(3, faces=2, objects=("dog", "dog")),
        _det_frame(5, faces=1, objects=("dog",), text="Hello"),
        _det_frame(7, text="HELLO!"),
        _det_frame(9, faces=1, objects=("dog", "cup")),
        _det_frame(9.5, objects=("cup",), ok=False),
        _det_frame(12, faces=1),  # after the last scene
    ]
    tl = fuse_timeline(
        inputs_from_files("d", {"scenes.json": scenes, "detections.json": {"has_video": True, "frames": frames}})
    )
    faces = [(e.start, e.end, e.data["count"], e.data["frames"], e.confidence) for e in tl.events if e.type == "face"]
    assert faces == [(0.0, 4.0, 2, 2, 0.91), (4.0, 6.0, 1, 1, 0.9), (8.0, 9.25, 1, 1, 0.9), (12.0, 12.0, 1, 1, 0.9)]
    tracks = [(e.data["label"], e.start, e.end, e.data["frames"]) for e in tl.events if e.type == "object_track"]
    assert tracks == [("dog", 1.0, 5.0, 3), ("cup", 9.0, 9.0, 1), ("dog", 9.0, 9.0, 1)]
    texts = [(e.data["text"], e.start, e.end, e.data["frames"]) for e in tl.events if e.type == "text_event"]
    assert texts == [("Hello", 5.0, 7.0, 2)]
    assert [e.label for e in tl.entities if e.type == "object"] == ["dog"]
    assert tl.quality["detections"].metrics["tracks_from"] == "detections"
    assert [len(v.faces) for v in tl.scenes] == [1, 2]
