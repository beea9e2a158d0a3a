"""The spliced shot-boundary truth set (benchmarks/spliced.py): its truth holds by construction."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import REPO_ROOT


def _load():
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("spliced", REPO_ROOT / "benchmarks" / "spliced.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["spliced"] = module
    spec.loader.exec_module(module)
    return module


spliced = _load()


def test_the_default_plan_has_the_transitions_and_hard_cases_the_issue_asks_for() -> None:
    rng = random.Random(14)
    plans = [spliced.plan_sequence(rng, i) for i in range(30)]
    kinds = [kind for p in plans for kind, _ in p.joins]
    assert kinds.count("cut") >= 300 and kinds.count("dissolve") >= 40 and kinds.count("fade") >= 40
    assert {p.size for p in plans} == {"720p", "1080p", "4:3"} and any(p.vfr for p in plans)
    similar = 0
    for p in plans:
        for a, b in zip(p.segments, p.segments[1:], strict=False):
            assert a.shot.setup != b.shot.setup  # never the same shot or framing on both sides
            similar += a.shot.video == b.shot.video
        for seg in p.segments:  # every segment lies inside its shot
            assert seg.start >= seg.shot.first
            assert seg.start + spliced._source_frames(seg.shot, seg.frames / p.fps) - 1 <= seg.shot.last + 1
    assert similar >= 60
    mods = [m.split("@")[0] for p in plans for s in p.segments for m in s.mods]
    assert {"dark", "flash", "strobe", "pan", "shake"} <= set(mods)
    assert {s.shot.path for p in plans for s in p.segments} >= {
        "video/megamind.avi", "video/opencv_vtest.avi", "formats/bbb_seg_av1_opus.mp4", "formats/bbb_seg_rotate90.mp4"
    }  # fmt: skip


def _gray(path: Path, width: int = 160) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            h = round(width * frame.height / frame.width / 2) * 2
            out.append(frame.reformat(width=width, height=h, format="gray").to_ndarray())
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.mark.slow
def test_rendered_sequences_hold_their_segments_at_the_truths_frames(tmp_path: Path, media_dir: Path) -> None:
    truth = spliced.build(tmp_path, sequences=1, negatives=1, seed=5)
    assert spliced.summary(truth)["hard_cuts"] == 10
    plan = truth["plans"][0]
    video = truth["videos"]["seq00"]
    frames = _gray(tmp_path / video["file"])
    assert len(frames) == video["frames"]
    rng = random.Random(5)
    seq = spliced.plan_sequence(rng, 0)  # the same plan, rebuilt from the seed
    assert [s.start for s in seq.segments] == [s["start"] for s in plan["segments"]]
    pieces = [spliced.segment_gray(seg, seq.size, seq.fps, media_dir) for seg in seq.segments]
    starts = spliced._starts(seq)
    blends = {g["frames"][0]: g for g in video["gradual"]}
    for k, (kind, blend) in enumerate(seq.joins):
        first = starts[k + 1]
        if kind == "cut":
            assert first in video["cuts"]
            assert _psnr(frames[first], pieces[k + 1][0]) > 30  # the new shot starts exactly here
            assert _psnr(frames[first - 1], pieces[k][-1]) > 30  # and the old one ends just before
        else:
            g = blends[first]
            assert g["frames"] == [first, first + blend - 1]
            assert _psnr(frames[first - 1], pieces[k][-blend - 1]) > 30  # before the blend: the old shot alone
            assert _psnr(frames[first + blend], pieces[k + 1][blend]) > 30  # after it: the new shot alone
    negative = truth["videos"]["neg00"]
    assert (
        negative["negative"]
        and negative["cuts"] == []
        and len(_gray(tmp_path / negative["file"])) == negative["frames"]
    )
