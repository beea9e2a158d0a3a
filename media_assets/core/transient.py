"""Which failures are worth trying again: faults of the infrastructure, never of the input.

Transient: an S3 endpoint that does not answer, times out or says 5xx / SlowDown; a database connection that
was reset or refused; a socket timeout. Not transient: anything about the file itself (``MediaError``: corrupt,
unsupported, empty, too large), a missing model, a bug. Out-of-memory is its own case: the batch that ran out
is tried again at half size (:func:`halving`), not the whole step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from media_assets.core.errors import MediaError, ModelLoadError

T = TypeVar("T")
R = TypeVar("R")

S3_TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable"}
TRANSIENT_MESSAGES = (
    "connection reset",
    "connection refused",
    "server closed the connection",
    "could not connect",
    "connection timed out",
    "timeout expired",
    "terminating connection",
    "broken pipe",
)
ALLOCATION_MESSAGES = ("failed to allocate memory", "out of memory", "bad_alloc", "cannot allocate memory")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _s3_transient(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return status >= 500 or code in S3_TRANSIENT_CODES or code.startswith("5")


def is_transient(exc: BaseException) -> bool:
    """True for faults of S3, the network or the database that a later try may not meet."""
    for e in _chain(exc):
        if isinstance(e, (MediaError, ModelLoadError)):
            return False
    for e in _chain(exc):
        name = type(e).__name__
        if isinstance(e, (ConnectionError, TimeoutError)):
            return True
        if name in {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}:
            return True
        if _s3_transient(e):
            return True
        if name in {"OperationalError", "InterfaceError", "DisconnectionError"} and any(
            m in str(e).lower() for m in TRANSIENT_MESSAGES
        ):
            return True
        if getattr(e, "connection_invalidated", False):
            return True
    return False


def is_out_of_memory(exc: BaseException) -> bool:
    return any(isinstance(e, MemoryError) or any(m in str(e).lower() for m in ALLOCATION_MESSAGES) for e in _chain(exc))


def backoff_s(attempt: int, base_s: float = 1.0, cap_s: float = 30.0) -> float:
    """Exponential backoff with full jitter: a uniform draw in [base * 2**(attempt-1) / 2, base * 2**(attempt-1)]."""
    delay = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return random.uniform(delay / 2, delay)


def with_retries(
    fn: Callable[[], T],
    *,
    attempts: int = 4,
    base_s: float = 1.0,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> tuple[T, int]:
    """``fn()`` tried up to ``attempts`` times while it fails transiently; returns (result, retries made)."""
    for attempt in range(1, attempts + 1):
        try:
            return fn(), attempt - 1
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            delay = backoff_s(attempt, base_s)
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")


def halving(fn: Callable[[Sequence[T]], list[R]], items: Sequence[T]) -> list[R]:
    """``fn(items)``; when it runs out of memory, the same on each half (down to one item, which may still
    fail)."""
    try:
        return fn(items)
    except Exception as exc:
        if len(items) <= 1 or not is_out_of_memory(exc):
            raise
    mid = len(items) // 2
    return halving(fn, items[:mid]) + halving(fn, items[mid:])
