"""Load each model once per process, keyed by what was resolved (model, weights, device, compute type, ...).

Every model resource goes through :func:`load_once`: runs, resources and threads of one process (a CLI call, a
run worker, a long-lived worker) share one copy of each model, and a model is loaded again only when its key
changes. A load that raises is not cached: the next call tries again.
"""

from __future__ import annotations

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
