"""Building one partition's search documents from its output files (contract of docs/outputs.md)."""

from __future__ import annotations

from media_assets.core.embed.documents import PartitionInputs, build_documents, describe_scene

SPEAKER_TRANSCRIPT = {
    "has_audio": True,
    "speakers": [{"id": "SPEAKER_00", "total_s": 5.0, "turns": 1}, {"id": "SPEAKER_01", "total_s": 3.0, "turns": 1}],
    "segments": [
        {
            "start": 0.5,
            "end": 3.9,
            "speaker": "SPEAKER_00",
            "text": " And so my fellow Americans,",
            "words": [
                {"start": 0.5, "end": 1.2, "word": " And", "probability": 0.9, "speaker": "SPEAKER_00"},
                {"start": 1.2, "end": 1.5, "word": " so", "probability": 0.9, "speaker": "SPEAKER_00"},
                {"start": 1.5, "end": 1.8, "word": " my", "probability": 0.9, "speaker": "SPEAKER_00"},
                {"start": 1.8, "end": 2.4, "word": " fellow", "probability": 0.9, "speaker": "SPEAKER_00"},
                {"start": 2.4, "end": 3.9, "word": " Americans,", "probability": 0.9, "speaker": "SPEAKER_00"},
            ],
        },
        {"start": 4.0, "end": 4.5, "speaker": None, "text": "   ", "words": []},
        {
            "start": 4.6,
            "end": 7.0,
            "speaker": "SPEAKER_01",
            "text": "ask not",
            "words": [
                {"start": 4.6, "end": 5.0, "word": " ask", "probability": 0.9, "speaker": "SPEAKER_01"},
                {"start": 5.0, "end": 7.0, "word": " not", "probability": 0.9, "speaker": "SPEAKER_01"},
            ],
        },
    ],
}
SCENES = {
    "has_video": True,
    "scenes": [
        {"index": 0, "kind": "shot", "start_s": 0.0, "end_s": 2.0, "keyframes": [0]},
        {"index": 1, "kind": "shot", "start_s": 2.0, "end_s": 5.0, "keyframes": [1, 2]},
        {"index": 2, "kind": "black", "start_s": 5.0, "end_s": 6.0, "keyframes": []},
        {"index": 3, "kind": "shot", "start_s": 6.0, "end_s": 9.0, "keyframes": [3]},
    ],
    "transitions": [],
}
DETECTIONS = {
    "has_video": True,
    "frames": [
        {
            "source": "keyframe",
            "index": 0,
            "time_s": 0.5,
            "status": "ok",
            "objects": [{"label": "bus", "confidence": 0.9}, {"label": "person", "confidence": 0.8}],
            "faces": [],
            "text": [{"text": "CERO EMISIONES", "confidence": 0.95}],
        },
        {
            "source": "sample",
            "index": 1,
            "time_s": 1.5,
            "status": "ok",
            "objects": [{"label": "person", "confidence": 0.7}],
            "faces": [{"confidence": 0.99}, {"confidence": 0.98}],
            "text": [{"text": "cero emisiones", "confidence": 0.9}],
        },
        {"source": "keyframe", "index": 3, "time_s": 2.5, "status": "ok", "objects": [], "faces": [{}], "text": []},
    ],
}
EVENTS = {
    "text_events": [
        {"id": 0, "text": "CERO EMISIONES", "start": 0.5, "end": 1.5, "frames": 2, "confidence": 0.92},
        {"id": 7, "text": "Big Buck Bunny", "start": 6.2, "end": 8.0, "frames": 5, "confidence": 0.88},
    ],
    "object_tracks": [{"id": 0, "label": "rabbit", "start": 6.0, "end": 8.5, "frames": 6, "confidence": 0.7}],
}
KEYFRAMES = {
    "has_video": True,
    "keyframes": [
        {
            "index": 0,
            "scene_index": 0,
            "frame": 3,
            "time_s": 0.125,
            "image": "keyframes/00000.jpg",
            "duplicate_of": None,
        },
        {
            "index": 1,
            "scene_index": 1,
            "frame": 50,
            "time_s": 2.08,
            "image": "keyframes/00001.jpg",
            "duplicate_of": None,
        },
        {"index": 2, "scene_index": 1, "frame": 90, "time_s": 3.75, "image": None, "duplicate_of": 1},
        {
            "index": 3,
            "scene_index": 3,
            "frame": 150,
            "time_s": 6.25,
            "image": "keyframes/00003.jpg",
            "duplicate_of": None,
        },
    ],
}


def _full() -> PartitionInputs:
    return PartitionInputs(
        speaker_transcript=SPEAKER_TRANSCRIPT, events=EVENTS, detections=DETECTIONS, scenes=SCENES, keyframes=KEYFRAMES
    )


def test_all_kinds_from_full_inputs() -> None:
    docs = build_documents("k1", "/media/a.mp4", _full())
    assert docs.partition == "k1" and docs.source == "/media/a.mp4"
    assert docs.counts() == {"segment": 2, "text_event": 2, "scene": 3, "keyframe": 3}
    segs = [d for d in docs.texts if d.kind == "segment"]
    assert [(d.item, d.text, d.start, d.end) for d in segs] == [
        ("0", "And so my fellow Americans,", 0.5, 3.9),
        ("2", "ask not", 4.6, 7.0),
    ]
    assert segs[0].extra["speaker"] == "SPEAKER_00"
    events = {d.item: d for d in docs.texts if d.kind == "text_event"}
    assert set(events) == {"0", "7"} and events["7"].text == "Big Buck Bunny" and events["7"].start == 6.2


def test_scene_descriptions_combine_objects_text_and_speech() -> None:
    docs = build_documents("k1", "", _full())
    scenes = {d.item: d for d in docs.texts if d.kind == "scene"}
    assert set(scenes) == {"0", "1", "3"}  # the black scene offers nothing to search for
    first = scenes["0"]
    assert (first.start, first.end) == (0.0, 2.0)
    assert first.extra["objects"] == ["person", "bus"]  # most frequent first
    assert first.extra["on_screen_text"] == ["CERO EMISIONES"]  # same text from events and OCR, once
    assert "bus" in first.text and "CERO EMISIONES" in first.text
    assert '"And so my"' in first.text  # "fellow" (midpoint 2.1 s) belongs to the next scene
    second = scenes["1"]
    assert 'Spoken: "fellow Americans, ask"' in second.text  # "not" (midpoint 6.0 s) is in scene 3
    assert "face" in second.text  # a face, no person label
    last = scenes["3"]
    assert "rabbit" in last.text and "Big Buck Bunny" in last.text and "not" in last.text


def test_keyframes_skip_duplicates_and_carry_scene_text() -> None:
    docs = build_documents("k1", "", _full())
    assert [(d.item, d.image, d.start) for d in docs.images] == [
        ("0", "keyframes/00000.jpg", 0.125),
        ("1", "keyframes/00001.jpg", 2.08),
        ("3", "keyframes/00003.jpg", 6.25),
    ]
    scene_text = {d.item: d.text for d in docs.texts if d.kind == "scene"}
    assert docs.images[0].text == scene_text["0"] and docs.images[2].text == scene_text["3"]


def test_each_input_is_optional() -> None:
    empty = build_documents("k", "", PartitionInputs())
    assert empty.texts == [] and empty.images == []
    no_audio = PartitionInputs(
        speaker_transcript={"has_audio": False, "reason": "no audio stream"},
        transcript={"has_audio": True, "segments": [{"start": 0, "end": 1, "text": "ignored"}]},
        scenes=SCENES,
    )
    assert build_documents("k", "", no_audio).texts == []  # scenes with nothing in them are not documents
    no_video = PartitionInputs(
        speaker_transcript=SPEAKER_TRANSCRIPT,
        scenes={"has_video": False, "scenes": [], "transitions": []},
        events={"has_video": False},
        detections={"has_video": False},
        keyframes={"has_video": False, "keyframes": []},
    )
    assert build_documents("k", "", no_video).counts() == {"segment": 2, "text_event": 0, "scene": 0, "keyframe": 0}


def test_plain_transcript_is_the_fallback() -> None:
    transcript = {
        "has_audio": True,
        "segments": [{"id": 0, "start": 0.0, "end": 2.0, "text": " Front left", "words": []}],
    }
    docs = build_documents("k", "", PartitionInputs(transcript=transcript, scenes=SCENES))
    assert [(d.kind, d.text) for d in docs.texts] == [("segment", "Front left"), ("scene", 'Spoken: "Front left"')]
    assert "speaker" not in docs.texts[0].extra


def test_describe_scene_is_short_and_empty_when_nothing() -> None:
    assert describe_scene([], 0, [], []) == ""
    text = describe_scene(["dog"], 0, [], ["word"] * 500)
    assert text.startswith("Shows dog.") and text.endswith('..."') and len(text.split()) < 100
