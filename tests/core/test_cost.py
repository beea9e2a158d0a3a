"""What processing a file cost: CPU, wall, peak memory, media seconds and real-time factor (core/cost.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from media_assets.core.cost import Cost, CostMeter, rss_mb


def test_the_meter_sees_cpu_wall_and_a_peak_that_has_gone_again() -> None:
    with CostMeter() as meter:
        big = np.ones(200_000_000 // 8)  # ~200 MB, touched
        time.sleep(0.1)
        del big
        t = time.process_time()
        while time.process_time() - t < 0.3:  # busy
            pass
    cost = meter.cost
    assert cost is not None
    assert cost.cpu_s >= 0.3 and cost.wall_s >= 0.4
    assert cost.peak_rss_mb >= rss_mb() + 150  # the peak is kept after the memory was given back
    assert cost.gpu_peak_mb is None  # no GPU here


def test_shared_work_is_split_and_reported() -> None:
    own = Cost(wall_s=1.0, cpu_s=1.5, peak_rss_mb=300.0)
    batch = Cost(wall_s=10.0, cpu_s=16.0, peak_rss_mb=900.0)
    total = own.plus(batch.share(0.25)).with_media(20.0)
    assert (total.wall_s, total.cpu_s, total.peak_rss_mb) == (3.5, 5.5, 900.0)
    assert total.rtf == pytest.approx(3.5 / 20.0)
    meta = total.metadata()
    assert set(meta) == {"cost/wall_s", "cost/cpu_s", "cost/peak_rss_mb", "cost/media_s", "cost/rtf"}
    assert all(isinstance(v, float) for v in meta.values())
    assert "cost/rtf" not in own.metadata()  # no media seconds, no real-time factor
