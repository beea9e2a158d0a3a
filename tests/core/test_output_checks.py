"""The output checks on documents whose truth is known by construction."""

from __future__ import annotations

from media_assets.core import output_checks as oc


def _scenes(bounds: list[tuple[int, int, float, float]], frames: int, duration: float) -> dict:
    scenes = [
        {"index": i, "start_frame": a, "end_frame": b, "start_s": s, "end_s": e}
        for i, (a, b, s, e) in enumerate(bounds)
    ]
    return {"has_video": True, "scenes": scenes, "decode": {"frames_total": frames}, "video": {"duration_s": duration}}


def test_audio_duration_mismatch_fails_unless_a_loss_explains_it() -> None:
    ok = oc.audio_duration({"has_audio": True, "duration_s": 10.04, "expected_duration_s": 10.0, "lost_s": 0.0})
    assert ok is not None and ok.passed
    short = oc.audio_duration({"has_audio": True, "duration_s": 7.0, "expected_duration_s": 10.0, "lost_s": 0.0})
    assert short is not None and not short.passed and "7.000 s" in short.description
    lost = oc.audio_duration({"has_audio": True, "duration_s": 7.0, "expected_duration_s": 10.0, "lost_s": 3.0})
    assert lost is not None and lost.passed
    assert oc.audio_duration({"has_audio": False}) is None


def test_scenes_must_tile_the_video() -> None:
    good = _scenes([(0, 49, 0.0, 2.0), (50, 99, 2.0, 4.0)], 100, 4.0)
    assert oc.scenes_tile(good).passed
    gap = _scenes([(0, 49, 0.0, 2.0), (52, 99, 2.08, 4.0)], 100, 4.0)
    result = oc.scenes_tile(gap)
    assert result is not None and not result.passed and "scene 0 ends 49, next starts 52" in result.description
    short = _scenes([(0, 49, 0.0, 2.0)], 100, 4.0)
    assert not oc.scenes_tile(short).passed


def test_keyframes_must_lie_in_their_scene() -> None:
    scenes = _scenes([(0, 49, 0.0, 2.0), (50, 99, 2.0, 4.0)], 100, 4.0)
    inside = {"has_video": True, "keyframes": [{"index": 0, "scene_index": 1, "frame": 60, "time_s": 2.4}]}
    assert oc.keyframes_inside(inside, scenes).passed
    outside = {"has_video": True, "keyframes": [{"index": 0, "scene_index": 0, "frame": 60, "time_s": 2.4}]}
    assert not oc.keyframes_inside(outside, scenes).passed


def _transcript(times: list[float]) -> dict:
    words = [{"word": f" w{i}", "start": t, "end": t + 0.3} for i, t in enumerate(times)]
    return {"has_audio": True, "segments": [{"words": words}]}


def test_words_in_silence_or_music_are_flagged_beyond_a_tolerance() -> None:
    events = {
        "has_audio": True,
        "events": [
            {"start": 0.0, "end": 5.0, "category": "speech"},
            {"start": 5.0, "end": 20.0, "category": "silence"},
            {"start": 20.0, "end": 30.0, "category": "music"},
            {"start": 25.0, "end": 26.0, "category": "speech"},  # singing heard as speech: supported
        ],
    }
    spoken = [0.5 * i for i in range(9)]  # 9 words in speech
    assert oc.words_supported_by_audio(_transcript(spoken), events).passed
    tolerated = oc.words_supported_by_audio(_transcript([*spoken, 6.0, 7.0, 25.2]), events)
    assert tolerated.passed and tolerated.metadata["unsupported_words"] == 2
    hallucinated = oc.words_supported_by_audio(_transcript([*spoken, 6.0, 8.0, 10.0, 21.0, 22.0]), events)
    assert not hallucinated.passed and hallucinated.metadata["unsupported_words"] == 5
    assert "(silence)" in hallucinated.description and "5 of 14" in hallucinated.description
    assert oc.words_supported_by_audio({"has_audio": False}, events) is None


def test_timeline_events_must_lie_inside_the_media() -> None:
    doc = {"video": {"duration": 10.0}, "events": [{"id": "scene:0", "start": 0.0, "end": 10.02}]}
    assert oc.timeline_within_duration(doc).passed
    doc["events"].append({"id": "speech:3", "start": 9.5, "end": 11.0})
    doc["events"].append({"id": "ocr:1", "start": 4.0, "end": 3.0})
    bad = oc.timeline_within_duration(doc)
    assert not bad.passed and bad.metadata["outside"] == ["speech:3 [9.500, 11.000]", "ocr:1 [4.000, 3.000]"]
