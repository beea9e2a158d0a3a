"""One copy of each model per process, and steps that give their models back when they are done."""

from __future__ import annotations

import gc
import weakref

import pytest

from media_assets.core import model_cache
from media_assets.core.model_cache import KEEP_MODELS_ENV, keep_models, load_once, release


class Model:
    pass


def test_a_model_loads_once_and_release_gives_back_only_its_family() -> None:
    model_cache.clear()
    first, seconds = load_once(("whisper", "base"), Model)
    assert seconds is not None
    again, seconds = load_once(("whisper", "base"), Model)
    assert again is first and seconds is None
    other, _ = load_once(("vision", "ocr"), Model)
    gone = weakref.ref(first)
    del first, again
    assert release("whisper") == 1
    gc.collect()
    assert gone() is None  # no one else held it: its memory is back
    assert model_cache.cached(("vision", "ocr")) is other
    assert load_once(("whisper", "base"), Model)[1] is not None  # loaded again when asked for
    assert release("nothing") == 0
    model_cache.clear()


@pytest.mark.parametrize(("value", "keep"), [(None, False), ("1", True), ("true", True), ("0", False), ("", False)])
def test_keeping_models_is_a_setting(monkeypatch: pytest.MonkeyPatch, value: str | None, keep: bool) -> None:
    if value is None:
        monkeypatch.delenv(KEEP_MODELS_ENV, raising=False)
    else:
        monkeypatch.setenv(KEEP_MODELS_ENV, value)
    assert keep_models() is keep
