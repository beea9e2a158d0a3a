"""Presets map to the visual pass' parameters; explicit settings override them."""

from __future__ import annotations

from resources.processing import ProcessingSettings


def test_presets_trade_speed_for_quality() -> None:
    fast = ProcessingSettings(preset="fast").visual_params()
    balanced = ProcessingSettings(preset="balanced").visual_params()
    accurate = ProcessingSettings(preset="accurate").visual_params()
    assert not fast.deblock and fast.keyframes_mode_over_s == 1800.0
    assert balanced.deblock and balanced.skip_nonref and balanced.keyframes_mode_over_s is None
    assert accurate.deblock and not accurate.skip_nonref and accurate.max_keyframes > balanced.max_keyframes


def test_explicit_settings_override_the_preset(monkeypatch) -> None:
    p = ProcessingSettings(preset="fast", keyframe_interval_s=3.0, max_keyframes=7, sample_fps=1.0).visual_params()
    assert (p.keyframe_interval_s, p.max_keyframes, p.sample_fps) == (3.0, 7, 1.0)
    monkeypatch.setenv("MEDIA_ASSETS_PRESET", "accurate")
    monkeypatch.setenv("MEDIA_ASSETS_SAMPLE_FPS", "0.5")
    env = ProcessingSettings.from_env()
    assert env.preset_name == "accurate" and env.visual_params().sample_fps == 0.5
