"""The single visual pass on real media with ground truth (../shared/media/truth.json)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from PIL import Image

from media_assets.core.scenes_keyframes import analyze_video
from media_assets.core.scenes_keyframes_models import VisualParams
from tests.conftest import ffmpeg

CUT_FILES = {
    "video/bbb_0_30.webm": [283, 376, 551],
    "video/megamind.avi": [1, 98, 154, 200],
    "video/composite_bbb_cuts_jfk_speech.mp4": [43, 136],
    "video/psd_testvideo.mp4": [30, 180],
    "formats/bbb_seg_h264_aac.mov": [43, 136],
    "formats/bbb_seg_hevc_aac.mkv": [43, 136],
    "formats/bbb_seg_vp9_opus.webm": [43, 136],
    "formats/bbb_seg_av1_opus.mp4": [43, 136],
    "formats/bbb_seg_mpeg2_mp2.ts": [43, 136],
    "formats/bbb_seg_rotate90.mp4": [43, 136],
    "formats/bbb_seg_vfr_drop3.mp4": [29, 91],
}


def _truth_cuts(truth: dict, rel: str) -> list[int]:
    entry = truth["video"].get(rel) or truth["formats"].get(rel)
    if "cuts" in entry:
        return entry["cuts"]
    if "cuts_helper_measured" in entry:
        return entry["cuts_helper_measured"]
    return [t["frame"] for t in entry["transitions_helper_measured"] if t["type"] == "cut"]


def _cuts(result) -> list[int]:
    return [t.frame for t in result.transitions if t.kind == "cut"]


@pytest.mark.parametrize("rel", sorted(CUT_FILES))
def test_hard_cuts_match_truth_within_one_frame(media_dir: Path, truth: dict, rel: str, tmp_path: Path) -> None:
    expected = _truth_cuts(truth, rel)
    assert expected == CUT_FILES[rel]  # the truth file is what we think it is
    result = analyze_video(media_dir / rel, tmp_path)
    found = _cuts(result)
    assert len(found) == len(expected), (found, expected)
    for f, e in zip(found, expected, strict=True):
        assert abs(f - e) <= 1, (found, expected)


@pytest.mark.parametrize("rel", ["video/opencv_vtest.avi", "video/psd_fades.mp4", "formats/opencv_tree_cinepak.avi"])
def test_no_cut_where_there_is_none(media_dir: Path, rel: str) -> None:
    assert _cuts(analyze_video(media_dir / rel)) == []


def test_fades_found_as_fades(media_dir: Path, truth: dict) -> None:
    result = analyze_video(media_dir / "video/psd_testvideo.mp4")
    fades = [(t.kind, t.frame, t.end_frame) for t in result.transitions if t.kind != "cut"]
    want = [t for t in truth["video"]["video/psd_testvideo.mp4"]["transitions_helper_measured"] if t["type"] != "cut"]
    assert len(fades) == len(want)
    for (kind, a, b), t in zip(fades, want, strict=True):
        lo, hi = t["frames"]
        assert kind == t["type"]
        overlap = min(b, hi) - max(a, lo)
        assert overlap >= 0.5 * (hi - lo), (kind, a, b, t)
    # cuts to and from black are cuts, and the black gaps are scenes of their own
    assert [t.black for t in result.transitions if t.kind == "cut"] == ["from", "to"]
    assert [s.kind for s in result.scenes].count("black") == 4

    fades_only = analyze_video(media_dir / "video/psd_fades.mp4")
    kinds = [t.kind for t in fades_only.transitions]
    assert "cut" not in kinds and kinds.count("fade_in") >= 2 and kinds.count("fade_out") >= 2


def test_bbb_fade_in_from_black(media_dir: Path) -> None:
    result = analyze_video(media_dir / "video/bbb_0_30.webm")
    fade = next(t for t in result.transitions if t.kind == "fade_in")
    assert fade.frame <= 24 and 40 <= fade.end_frame <= 52


def test_scenes_tile_the_video_and_keyframes_lie_inside(media_dir: Path, tmp_path: Path) -> None:
    result = analyze_video(media_dir / "video/bbb_0_30.webm", tmp_path)
    scenes = result.scenes
    assert scenes[0].start_frame == 0 and scenes[0].start_s == pytest.approx(0.0, abs=0.01)
    for a, b in itertools.pairwise(scenes):
        assert b.start_frame == a.end_frame + 1
        assert b.start_s == pytest.approx(a.end_s)
    assert scenes[-1].end_frame == result.decode.frames_total - 1 == 719
    assert scenes[-1].end_s == pytest.approx(30.0, abs=0.05)
    for k in result.keyframes:
        s = scenes[k.scene_index]
        assert s.start_frame <= k.frame <= s.end_frame
        assert s.start_s <= k.time_s < s.end_s
    # every shot has a best keyframe; images and thumbnails exist and decode
    for s in scenes:
        if s.kind == "shot":
            assert any(result.keyframes[i].reason == "scene_best" for i in s.keyframes)
    for k in result.keyframes:
        if k.image:
            with Image.open(tmp_path / k.image) as im:
                assert im.size == (k.width, k.height) == (1280, 720)
            for rel in k.thumbnails.values():
                assert (tmp_path / rel).exists()
    assert result.contact_sheet and (tmp_path / result.contact_sheet).exists()


def test_timestamps_from_pts_vfr_and_start_offset(media_dir: Path, truth: dict) -> None:
    vfr = analyze_video(media_dir / "formats/bbb_seg_vfr_drop3.mp4")
    times = [t.time_s for t in vfr.transitions if t.kind == "cut"]
    for t, want in zip(times, truth["formats"]["formats/bbb_seg_vfr_drop3.mp4"]["cut_rel_s"], strict=True):
        assert t == pytest.approx(want, abs=0.05)
    ts = analyze_video(media_dir / "formats/bbb_seg_mpeg2_mp2.ts")
    assert ts.video.start_pts_s == pytest.approx(1.4417, abs=0.01)
    cut_times = [t.time_s for t in ts.transitions if t.kind == "cut"]
    assert cut_times == pytest.approx([1.792, 5.667], abs=0.05)
    delayed = analyze_video(media_dir / "video/psd_delayed_start.mp4")
    assert delayed.video.start_pts_s == pytest.approx(1.075, abs=0.01)
    assert delayed.scenes[0].start_s == pytest.approx(0.0, abs=0.05)


def test_rotation_applied_to_keyframes(media_dir: Path, tmp_path: Path) -> None:
    result = analyze_video(media_dir / "formats/bbb_seg_rotate90.mp4", tmp_path)
    assert result.video.rotation == 90
    assert (result.video.display_width, result.video.display_height) == (360, 640)
    k = result.keyframes[0]
    assert (k.width, k.height) == (360, 640)
    # same picture as FFmpeg's own autorotation of that frame
    ref = tmp_path / "ref.png"
    ffmpeg(
        "-i",
        str(media_dir / "formats/bbb_seg_rotate90.mp4"),
        "-vf",
        f"select=eq(n\\,{k.frame})",
        "-frames:v",
        "1",
        str(ref),
    )
    import numpy as np

    with Image.open(ref) as a, Image.open(tmp_path / k.image) as b:
        assert a.size == b.size
        diff = np.abs(np.asarray(a.convert("L"), dtype=float) - np.asarray(b.convert("L"), dtype=float)).mean()
        assert diff < 12


def test_nonref_skipping_keeps_cuts_exact_and_decodes_less(media_dir: Path) -> None:
    path = media_dir / "video/composite_bbb_cuts_jfk_speech.mp4"
    fast = analyze_video(path)
    full = analyze_video(path, params=VisualParams(skip_nonref=False))
    assert _cuts(fast) == _cuts(full) == [43, 136]
    assert fast.decode.frames_decoded < 0.85 * full.decode.frames_decoded
    assert fast.decode.frames_total == full.decode.frames_total == 264
    assert all(t.exact for t in fast.transitions if t.kind == "cut")


def test_keyframes_only_mode(media_dir: Path) -> None:
    result = analyze_video(media_dir / "video/bbb_0_30.webm", params=VisualParams(mode="keyframes"))
    assert result.decode.mode == "keyframes"
    assert result.decode.frames_decoded < 60
    assert result.scenes and result.scenes[-1].end_s == pytest.approx(30.0, abs=0.1)


def test_generated_cuts_and_dedup(tmp_path: Path) -> None:
    """Truth by construction: three colour sources concatenated, the first repeated at the end."""
    src = tmp_path / "gen.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=2",
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=2",
        "-filter_complex",
        "[1:v]trim=duration=2,setpts=PTS-STARTPTS[m];[0:v][m][2:v]concat=n=3:v=1[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(src),
    )
    result = analyze_video(src, tmp_path / "out")
    assert _cuts(result) == [50, 100]
    assert len(result.scenes) == 3
    dups = [k for k in result.keyframes if k.duplicate_of is not None]
    assert dups and dups[0].image is None


def test_the_same_layout_in_other_colours_is_not_a_duplicate(tmp_path: Path) -> None:
    """Three shots with the same caption layout on red, blue and red backgrounds: dHash (luminance gradients) sees
    three equal pictures, the colours say the blue one is another shot; the second red one is a duplicate."""
    src = tmp_path / "slides.mp4"
    parts = []
    for i, colour in enumerate(("0xC83C28", "0x288CC8", "0xC83C28")):
        part = tmp_path / f"p{i}.mp4"
        ffmpeg(
            "-f", "lavfi", "-i", f"color=c={colour}:size=320x240:rate=25:duration=2",
            "-vf", "drawbox=x=60:y=100:w=200:h=40:color=white:t=fill",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", str(part),
        )  # fmt: skip
        parts.append(part)
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(src))
    result = analyze_video(src, tmp_path / "out")
    assert _cuts(result) == [50, 100]
    assert [k.duplicate_of for k in result.keyframes] == [None, None, 0]
    assert result.keyframes[1].image is not None and result.keyframes[2].image is None


def test_truncated_and_corrupt_keep_what_decodes(media_dir: Path) -> None:
    trunc = analyze_video(media_dir / "broken/truncated_faststart_60pct.mp4")
    assert 70 <= trunc.decode.frames_total <= 100
    assert trunc.decode.expected_frames == 168 and trunc.decode.lost_frames >= 60
    corrupt = analyze_video(media_dir / "broken/corrupt_midfile_4k.mp4")
    assert corrupt.decode.frames_total >= 160
    nodur = analyze_video(media_dir / "broken/moviepy_no_duration.webm")
    assert nodur.decode.frames_decoded == 74


def test_fixed_rate_sampling_at_the_frame_rate_takes_every_frame(media_dir: Path, tmp_path: Path) -> None:
    # psd_counter: 30 frames at 10 fps, frame i shows "PTS = i/10"
    r = analyze_video(media_dir / "video/psd_counter.mp4", tmp_path, VisualParams(sample_fps=10.0))
    assert [s.frame for s in r.samples] == list(range(30))
    assert [s.time_s for s in r.samples] == pytest.approx([i / 10 for i in range(30)], abs=1e-3)
    for s in r.samples:
        assert s.image is not None and (tmp_path / s.image).is_file()
        with Image.open(tmp_path / s.image) as im:
            assert im.size == (s.width, s.height)


def test_fixed_rate_sampling_at_one_per_second(tmp_path: Path) -> None:
    src = tmp_path / "counter.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6.5", "-c:v", "libx264", "-g", "50", str(src))
    r = analyze_video(src, tmp_path / "out", VisualParams(sample_fps=1.0))
    assert [s.time_s for s in r.samples] == pytest.approx([0, 1, 2, 3, 4, 5, 6], abs=1e-3)
    assert [s.frame for s in r.samples] == [0, 25, 50, 75, 100, 125, 150]
    assert VisualParams().sample_fps is None and analyze_video(src, None).samples == []


@pytest.mark.parametrize("rel", ["formats/bbb_seg_h264_aac.mov", "formats/bbb_seg_hevc_aac.mkv"])
def test_cuts_stay_exact_without_deblocking(media_dir: Path, truth: dict, rel: str) -> None:
    r = analyze_video(media_dir / rel, None, VisualParams(deblock=False))
    assert _cuts(r) == truth["formats"][rel]["cuts"]


def test_samples_with_the_same_pixels_share_the_first_image(tmp_path: Path) -> None:
    """Two static 'slides' (lossless, so every frame of a slide decodes to the same pixels), sampled at 2 fps:
    one image per slide; every other sample of a slide points at its first. A moving picture has no duplicates."""
    src = tmp_path / "slides.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=navy:size=320x240:rate=10:duration=2",
        "-f", "lavfi", "-i", "color=c=darkred:size=320x240:rate=10:duration=2",
        "-filter_complex", "[0][1]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264", "-qp", "0", str(src),
    )  # fmt: skip
    r = analyze_video(src, tmp_path / "out", VisualParams(sample_fps=2.0))
    assert [s.time_s for s in r.samples] == pytest.approx([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], abs=1e-3)
    assert [s.duplicate_of for s in r.samples] == [None, 0, 0, 0, None, 4, 4, 4]
    assert [s.image is not None for s in r.samples] == [True, False, False, False, True, False, False, False]
    assert sorted(p.name for p in (tmp_path / "out" / "samples").iterdir()) == ["00000.jpg", "00004.jpg"]
    moving = tmp_path / "moving.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=2", "-c:v", "libx264", str(moving))
    assert all(s.duplicate_of is None for s in analyze_video(moving, None, VisualParams(sample_fps=5.0)).samples)
