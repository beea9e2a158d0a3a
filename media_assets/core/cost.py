"""What processing one file cost: wall time, CPU seconds, peak memory, GPU memory, media seconds, real-time factor.

:class:`CostMeter` measures a block of work in this process: CPU time of every thread (``time.process_time``),
the peak resident set size sampled every few milliseconds from ``/proc/self/statm`` (the kernel's own peak,
``ru_maxrss``, never goes down, so it cannot tell one file from the next), and CUDA memory when torch has a GPU.
Work shared by several files (one batched inference over a run's partitions) is measured once and shared out in
proportion to each file's media seconds (:meth:`Cost.share`).
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

SAMPLE_S = 0.02
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    """Resident set size now (MB)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _gpu_peak_mb() -> float | None:
    torch = sys.modules.get("torch")  # only if something already imported it: never import torch for this
    try:
        if torch is not None and torch.cuda.is_available():
            return float(torch.cuda.max_memory_allocated()) / 1e6
    except Exception:
        return None
    return None


def _reset_gpu_peak() -> None:
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
    except Exception:
        return


@dataclass(frozen=True)
class Cost:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    gpu_peak_mb: float | None = None
    media_s: float | None = None

    @property
    def rtf(self) -> float | None:
        """Wall seconds per second of media (below 1: faster than real time)."""
        return self.wall_s / self.media_s if self.media_s else None

    def plus(self, other: Cost | None) -> Cost:
        """This cost and ``other`` (a share of batched work) together; peaks are the larger of the two."""
        if other is None:
            return self
        gpu = [g for g in (self.gpu_peak_mb, other.gpu_peak_mb) if g is not None]
        return replace(
            self,
            wall_s=self.wall_s + other.wall_s,
            cpu_s=self.cpu_s + other.cpu_s,
            peak_rss_mb=max(self.peak_rss_mb, other.peak_rss_mb),
            gpu_peak_mb=max(gpu) if gpu else None,
        )

    def share(self, fraction: float) -> Cost:
        """``fraction`` of the times (peaks are kept: the memory was needed for every file in the batch)."""
        return replace(self, wall_s=self.wall_s * fraction, cpu_s=self.cpu_s * fraction)

    def with_media(self, media_s: float | None) -> Cost:
        return replace(self, media_s=media_s)

    def metadata(self) -> dict[str, Any]:
        """``cost/...`` fields for a materialization (numbers, so the UI plots them over partitions)."""
        out: dict[str, Any] = {
            "cost/wall_s": round(self.wall_s, 3),
            "cost/cpu_s": round(self.cpu_s, 3),
            "cost/peak_rss_mb": round(self.peak_rss_mb, 1),
        }
        if self.gpu_peak_mb is not None:
            out["cost/gpu_peak_mb"] = round(self.gpu_peak_mb, 1)
        if self.media_s:
            out["cost/media_s"] = round(self.media_s, 3)
            out["cost/rtf"] = round(self.rtf or 0.0, 4)
        return out


class CostMeter:
    """``with CostMeter() as meter: ...`` then ``meter.cost``."""

    def __init__(self, sample_s: float = SAMPLE_S) -> None:
        self.sample_s = sample_s
        self.cost: Cost | None = None
        self._peak = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.sample_s):
            self._peak = max(self._peak, rss_mb())

    def __enter__(self) -> CostMeter:
        _reset_gpu_peak()
        self._peak = rss_mb()
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self._thread = threading.Thread(target=self._sample, name="cost-meter", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._peak = max(self._peak, rss_mb())
        self.cost = Cost(
            wall_s=time.perf_counter() - self._wall,
            cpu_s=time.process_time() - self._cpu,
            peak_rss_mb=self._peak,
            gpu_peak_mb=_gpu_peak_mb(),
        )
