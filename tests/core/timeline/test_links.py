"""Relationship rules: face-speaker by overlap, text-speech by content near in time, sound-in-scene."""

from __future__ import annotations

import pytest

from media_assets.core.timeline.intervals import Coverage
from media_assets.core.timeline.links import (
    content_tokens,
    face_speaker_links,
    normalized_text,
    sound_scene_links,
    text_similarity,
    text_speech_links,
    tokens,
)
from media_assets.core.timeline.timeline_models import FusionParams, TimelineEvent

P = FusionParams()


def _ev(id_: str, type_: str, start: float, end: float, **data) -> TimelineEvent:
    return TimelineEvent(id=id_, type=type_, start=start, end=end, data=data)


def test_tokens_fold_case_accents_and_punctuation() -> None:
    assert tokens("Café, OPEN-air!  No. 5") == ["cafe", "open", "air", "no", "5"]
    assert content_tokens("The Peach and THE peach of 5 a") == ["peach", "5"]
    assert normalized_text("  Breaking   NEWS!! ") == normalized_text("breaking news") == "breaking news"


@pytest.mark.parametrize(
    ("caption", "spoken", "expected"),
    [
        ("ASK NOT", "ask not what your country can do", 1.0),
        ("YOUR COUNTRY", "ask not what your country can do", 1.0),  # "your" is a stopword: only "country" counts
        ("WINTER HARBOR", "the harbor was frozen", 0.5),
        ("THE PEACH OPEN MOVIE PROJECT PRESENTS", "and so my fellow americans", 0.0),
        ("the and of", "the and of", 0.0),  # nothing but stopwords: no evidence
    ],
)
def test_text_similarity(caption: str, spoken: str, expected: float) -> None:
    assert text_similarity(caption, spoken) == pytest.approx(expected)


def test_text_similarity_tolerates_ocr_noise_but_not_other_words() -> None:
    noisy = text_similarity("G0VERNMENT", "the government said")  # zero for o
    assert 0.85 <= noisy < 1.0
    assert text_similarity("GOVERNOR", "the government said") == 0.0  # ratio 0.75 < 0.8
    assert text_similarity("CAT", "the car") == 0.0  # short words need an exact match


def test_text_speech_links_only_near_in_time() -> None:
    speech = [
        _ev("speech:0", "speech", 100.0, 103.0, text=" welcome to the winter harbor festival"),
        _ev("speech:1", "speech", 105.0, 108.0, text=" nothing related here"),
        _ev("speech:2", "speech", 300.0, 303.0, text=" the winter harbor again"),
    ]
    caption = _ev("ocr:0", "text_event", 110.0, 112.0, text="WINTER HARBOR")
    far = _ev("ocr:1", "text_event", 500.0, 501.0, text="WINTER HARBOR")
    links = text_speech_links([caption, far], speech, P)
    assert [(r.source, r.target, r.score) for r in links] == [("ocr:0", "speech:0", 1.0)]
    assert links[0].type == "text_speech"
    # a wider window reaches the later mention too
    wide = text_speech_links([far], speech, P.model_copy(update={"text_window_s": 250.0}))
    assert [r.target for r in wide] == ["speech:2"]


def test_face_speaker_links_dominant_speaker_only() -> None:
    talk = {
        "speaker:SPEAKER_00": Coverage([(0.0, 3.0), (10.0, 12.0)]),
        "speaker:SPEAKER_01": Coverage([(3.5, 4.0), (12.0, 14.0), (20.0, 20.2)]),
    }
    faces = [
        _ev("face:0", "face", 0.0, 4.0),  # 00 talks 3 s, 01 0.5 s -> 00, score 0.75
        _ev("face:1", "face", 10.0, 14.0),  # 2 s each: nobody dominates
        _ev("face:2", "face", 18.0, 24.0),  # 0.2 s of speech in 6 s: too little
        _ev("face:3", "face", 5.0, 5.0),  # zero-length
    ]
    links = face_speaker_links(faces, talk, P)
    assert [(r.source, r.target, r.score) for r in links] == [("face:0", "speaker:SPEAKER_00", 0.75)]
    assert face_speaker_links(faces, {}, P) == []


def test_sound_scene_links_split_by_overlap() -> None:
    scenes = [_ev("scene:0", "scene", 0.0, 5.0), _ev("scene:1", "scene", 5.0, 9.0), _ev("scene:2", "scene", 9.0, 10.0)]
    sounds = [
        _ev("sound:0", "audio_event", 4.0, 8.0),  # 1 s in scene 0, 3 s in scene 1
        _ev("sound:1", "audio_event", 9.5, 9.5),  # an instant in scene 2
        _ev("sound:2", "audio_event", 10.5, 11.0),  # after the video
    ]
    got = [(r.source, r.target, r.score) for r in sound_scene_links(sounds, scenes)]
    assert got == [("sound:0", "scene:0", 0.25), ("sound:0", "scene:1", 0.75), ("sound:1", "scene:2", 1.0)]
    assert sound_scene_links(sounds, []) == []
