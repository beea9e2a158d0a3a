"""Cross-process file locks for the embedded indexes.

The embedded engines (Qdrant edge, tantivy) allow one writer per directory and fail fast when another
process holds it; several Dagster runs (separate processes) write at once, so every access is serialised
with an advisory ``flock`` on a lock file beside the data, waited for with a timeout. The OS drops the lock
when its holder dies (even by SIGKILL), so a killed writer never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl  # POSIX only: the pipeline runs on Linux (and macOS for development)
import os
import time
from collections.abc import Iterator
from pathlib import Path

DEFAULT_TIMEOUT_S = 600.0
_POLL_S = 0.02


class LockTimeout(TimeoutError):
    """The lock was held by another process for longer than the timeout."""


def _try_lock(fd: int, exclusive: bool) -> bool:
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def file_lock(
    path: str | os.PathLike[str], *, exclusive: bool = True, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Iterator[None]:
    """Hold an advisory lock on ``path`` (created if missing) for the ``with`` block.

    Each call opens its own file description, so the lock also serialises threads of one process.
    """
    lock_path = Path(path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        delay = _POLL_S
        while not _try_lock(fd, exclusive):
            if time.monotonic() >= deadline:
                raise LockTimeout(f"{lock_path}: still locked by another process after {timeout_s:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
