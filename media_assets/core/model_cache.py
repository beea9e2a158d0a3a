"""Load each model once per process, keyed by what was resolved (model, weights, device, compute type, ...).

Every model resource goes through :func:`load_once`: runs, resources and threads of one process (a CLI call, a
run worker, a long-lived worker) share one copy of each model, and a model is loaded again only when its key
changes. A load that raises is not cached: the next call tries again.

A step that is done with its models releases them (:func:`release`, called by the model assets unless
``MEDIA_ASSETS_KEEP_MODELS=1``): when steps run one after another in one process (``media-assets process``, the
``in_process`` executor), the next model loads into the memory the last one gave back, instead of every model of
the pipeline being resident at the end of the run. A long-lived worker that runs step after step sets
``MEDIA_ASSETS_KEEP_MODELS=1``.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Loaded:
    """A cached model and what loading it cost."""

    model: Any
    seconds: float


KEEP_MODELS_ENV = "MEDIA_ASSETS_KEEP_MODELS"

_CACHE: dict[Hashable, Loaded] = {}
_LOCKS: dict[Hashable, threading.Lock] = {}
_GUARD = threading.Lock()


def load_once(key: Hashable, load: Callable[[], T]) -> tuple[T, float | None]:
    """``(model, seconds it took to load)``; seconds is None when the model came from the cache. Two threads asking
    for the same key at once load it once (the second waits); different keys load in parallel."""
    with _GUARD:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit.model, None
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit.model, None
        started = time.perf_counter()
        model = load()
        loaded = Loaded(model, round(time.perf_counter() - started, 3))
        with _GUARD:
            _CACHE[key] = loaded
        return model, loaded.seconds


def cached(key: Hashable) -> Any | None:
    hit = _CACHE.get(key)
    return hit.model if hit is not None else None


def clear() -> None:
    """Forget every cached model (tests; a process that wants its memory back)."""
    with _GUARD:
        _CACHE.clear()
        _LOCKS.clear()


def keep_models() -> bool:
    """Whether models stay loaded after the step that used them (``MEDIA_ASSETS_KEEP_MODELS=1``)."""
    return os.environ.get(KEEP_MODELS_ENV, "").strip().lower() in ("1", "true", "yes")


def release(family: str) -> int:
    """Forget the cached models whose key starts with ``family`` (e.g. ``"whisper"``), and collect them, so their
    memory goes back once no one else holds them. Returns how many were cached."""
    with _GUARD:
        keys = [k for k in _CACHE if isinstance(k, tuple) and k and k[0] == family]
        for k in keys:
            del _CACHE[k]
            _LOCKS.pop(k, None)
    if keys:
        gc.collect()
        _trim_heap()
    return len(keys)


def _trim_heap() -> None:
    """Return freed heap pages to the system (glibc keeps them for reuse otherwise, so the resident size would not
    drop); a no-op where there is no glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
