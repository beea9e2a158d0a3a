"""probe(): real media from the shared test set, checked against SOURCES.md (ffprobe 5.1) and truth.json."""

from __future__ import annotations

import json
import re
import shutil
import time
from fractions import Fraction
from pathlib import Path

import av
import pytest

from media_assets.core import probe as probe_mod
from media_assets.core.audio import extract_audio
from media_assets.core.errors import (
    CorruptedMediaError,
    DurationTooLongError,
    EmptyFileError,
    FileTooLargeError,
    MediaError,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from media_assets.core.limits import Limits
from media_assets.core.probe import MediaInfo, normalise_rotation, probe, wav_declared_duration
from tests.conftest import MEDIA_DIR


def _sources_table(media_dir: Path) -> dict[str, dict]:
    """Parse the SOURCES.md file table: ffprobe 5.1 facts per file ("mov; 7.00 s; h264 640x360 @24/1")."""
    rows: dict[str, dict] = {}
    path = media_dir / "SOURCES.md"
    if not path.exists():
        return rows
    for line in path.read_text().splitlines():
        m = re.match(r"^\| `([^`]+\.[A-Za-z0-9]+)` \|", line)
        if not m:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        media = cells[4]
        row: dict = {"media": media}
        d = re.search(r";\s*([\d.]+) s(?:;|$)", media)
        row["duration"] = float(d[1]) if d else None
        v = re.search(r"; (\w+) (\d+)x(\d+) @(\d+)/(\d+)(?:, (\d+) fr)?", media)
        if v:
            row["video"] = {
                "codec": v[1],
                "width": int(v[2]),
                "height": int(v[3]),
                "fps": Fraction(int(v[4]), int(v[5])),
                "frames": int(v[6]) if v[6] else None,
            }
        a = re.search(r"(\w+) (\d+) Hz (\d+)ch", media)
        if a:
            row["audio"] = {"codec": a[1], "sample_rate": int(a[2]), "channels": int(a[3])}
        rows[m[1]] = row
    return rows


SOURCES = _sources_table(MEDIA_DIR)
# every file that should probe successfully (not images, not the files that must fail)
PROBE_OK = sorted(
    f
    for f, row in SOURCES.items()
    if f.split("/")[0] in ("formats", "video", "speech", "broken") and row["duration"] is not None
)
FORMATS = sorted(f for f in SOURCES if f.startswith("formats/"))
AUDIO_ONLY = sorted(f for f in SOURCES if f.startswith("speech/") or f.startswith("formats/jfk_"))
IMAGES = sorted(f for f in SOURCES if f.startswith("images/"))


def test_sources_table_parsed() -> None:
    assert len(FORMATS) >= 15, "SOURCES.md table not found or changed format"
    assert len(PROBE_OK) >= 30


@pytest.mark.parametrize("rel", PROBE_OK)
def test_probe_matches_ffprobe(media_dir: Path, rel: str) -> None:
    row = SOURCES[rel]
    info = probe(media_dir / rel)
    assert info.size_bytes == (media_dir / rel).stat().st_size
    if rel == "video/psd_delayed_start.mp4":
        # ffprobe 5.1 reported this edit-listed MP4's duration as the END time (start 1.075 + 0.96 s of
        # frames); FFmpeg 8 reports the span from start_time, like every other container.
        assert info.start_time_s + info.duration_s == pytest.approx(row["duration"], abs=0.1)
    else:
        assert info.duration_s == pytest.approx(row["duration"], abs=0.1)
    assert info.duration_source == "container"
    if "video" in row:
        exp = row["video"]
        v = info.video
        assert v is not None
        assert v.codec == exp["codec"]
        assert (v.width, v.height) == (exp["width"], exp["height"])
        assert v.fps == pytest.approx(float(exp["fps"]), rel=1e-3)
        if exp["frames"] is not None:
            assert v.frames == exp["frames"]
    else:
        assert not info.has_video
    if "audio" in row:
        exp = row["audio"]
        a = info.audio
        assert a is not None
        assert a.codec == exp["codec"]
        assert a.sample_rate == exp["sample_rate"]
        assert a.channels == exp["channels"]
    else:
        assert not info.has_audio


@pytest.mark.parametrize("rel", FORMATS)
def test_formats_truth(media_dir: Path, truth: dict, rel: str) -> None:
    t = truth["formats"].get(rel, {})
    info = probe(media_dir / rel)
    if "frames" in t and info.video is not None and info.video.frames is not None:
        assert info.video.frames == t["frames"]
    if "first_pts_s" in t:
        assert info.video is not None
        assert info.video.start_time_s == pytest.approx(t["first_pts_s"], abs=0.002)
    if "display_size" in t:
        v = info.video
        assert v is not None
        assert [v.width, v.height] == t["coded_size"]
        assert [v.display_width, v.display_height] == t["display_size"]
        assert v.rotation == t["display_rotation_deg"]


def test_rotation_90(media_dir: Path) -> None:
    v = probe(media_dir / "formats/bbb_seg_rotate90.mp4").video
    assert v is not None
    assert (v.rotation, v.width, v.height, v.display_width, v.display_height) == (90, 640, 360, 360, 640)
    # the unrotated encode of the same segment
    v0 = probe(media_dir / "formats/bbb_seg_h264_aac.mov").video
    assert v0 is not None
    assert (v0.rotation, v0.display_width, v0.display_height) == (0, 640, 360)


def test_rotation_normalisation() -> None:
    assert [normalise_rotation(a) for a in (0, 90, -90, 180, -180, 270, 89.7, 359.9, 450)] == [
        0,
        90,
        270,
        180,
        180,
        270,
        90,
        0,
        90,
    ]


def test_mpeg_ts_start_time(media_dir: Path) -> None:
    info = probe(media_dir / "formats/bbb_seg_mpeg2_mp2.ts")
    assert info.format_name == "mpegts"
    assert info.video is not None and info.audio is not None
    assert info.video.codec == "mpeg2video"
    assert info.video.start_time_s == pytest.approx(1.4417, abs=0.001)
    assert info.audio.start_time_s == pytest.approx(1.4308, abs=0.001)
    assert info.start_time_s == pytest.approx(1.4308, abs=0.001)  # container start = earliest stream
    assert info.video.frames is None  # MPEG-TS has no frame index


def test_delayed_start(media_dir: Path) -> None:
    info = probe(media_dir / "video/psd_delayed_start.mp4")
    assert info.start_time_s == pytest.approx(1.075, abs=0.001)
    assert info.video is not None
    assert info.video.start_time_s == pytest.approx(1.075, abs=0.001)
    assert info.video.frames == 24
    assert info.duration_s == pytest.approx(24 / 25, abs=0.01)


def test_vfr(media_dir: Path) -> None:
    info = probe(media_dir / "formats/bbb_seg_vfr_drop3.mp4")
    v = info.video
    assert v is not None
    assert v.frames == 112
    assert v.r_frame_rate == "24/1"  # the underlying clock
    assert v.fps == pytest.approx(112 / info.duration_s, rel=0.01)  # average rate ~16.1
    assert not info.has_audio and not info.is_audio_only


@pytest.mark.parametrize(
    ("rel", "codec", "profile_hint"),
    [
        ("formats/bbb_seg_av1_opus.mp4", "av1", "Main"),
        ("formats/bbb_seg_hevc_aac.mkv", "hevc", "Main"),
        ("formats/bbb_seg_vp9_opus.webm", "vp9", "Profile 0"),
        ("formats/bbb_seg_mpeg2_mp2.ts", "mpeg2video", "Main"),
        ("formats/bbb_seg_h264_aac.mov", "h264", "High"),
    ],
)
def test_modern_codecs(media_dir: Path, rel: str, codec: str, profile_hint: str) -> None:
    v = probe(media_dir / rel).video
    assert v is not None
    assert v.codec == codec
    assert v.profile == profile_hint
    assert (v.pix_fmt, v.bit_depth, v.has_alpha) == ("yuv420p", 8, False)


def test_cinepak_avi(media_dir: Path) -> None:
    info = probe(media_dir / "formats/opencv_tree_cinepak.avi")
    v = info.video
    assert info.format_name == "avi"
    assert v is not None
    assert (v.codec, v.width, v.height, v.frames, v.pix_fmt) == ("cinepak", 320, 240, 444, "rgb24")
    assert v.fps == pytest.approx(15.0, abs=0.01)
    assert v.r_frame_rate == "1000000/66667"


def test_vp9_alpha(media_dir: Path) -> None:
    # FFmpeg's native VP9 decoder drops the alpha plane (pix_fmt says yuv420p); WebM's alpha_mode tag is
    # what tells us the stream carries one.
    v = probe(media_dir / "formats/moviepy_transparent_vp9alpha.webm").video
    assert v is not None
    assert v.codec == "vp9" and (v.width, v.height) == (200, 200)
    assert v.has_alpha is True
    assert v.tags.get("alpha_mode") == "1"


@pytest.mark.parametrize("rel", AUDIO_ONLY)
def test_audio_only(media_dir: Path, rel: str) -> None:
    info = probe(media_dir / rel)
    assert info.is_audio_only and info.has_audio and not info.has_video
    assert info.video is None
    assert not info.is_still_image
    a = info.audio
    assert a is not None and a.kind == "audio"
    assert a.sample_rate and a.channels and a.sample_fmt


def test_wav_details(media_dir: Path) -> None:
    a = probe(media_dir / "speech/LDC93S1_pcms16le_2_44100.wav").audio
    assert a is not None
    assert (a.codec, a.bit_depth, a.channels) == ("pcm_s16le", 16, 2)
    assert a.channel_layout is None  # plain WAVEFORMATEX: the file does not say which channel is which
    flac = probe(media_dir / "speech/jfk.flac").audio
    assert flac is not None and flac.channel_layout == "stereo"


# ------------------------------------------------------------------------------------------------ broken


def test_zero_bytes(media_dir: Path) -> None:
    with pytest.raises(EmptyFileError) as ei:
        probe(media_dir / "broken/moviepy_zero_bytes.webm")
    assert "moviepy_zero_bytes.webm" in str(ei.value)
    assert "empty" in ei.value.problem


def test_no_moov(media_dir: Path) -> None:
    with pytest.raises(CorruptedMediaError) as ei:
        probe(media_dir / "broken/truncated_no_moov.mp4")
    e = ei.value
    assert "truncated_no_moov.mp4" in str(e)
    assert "moov" in e.problem and "truncated" in e.problem
    assert "moov atom not found" in e.details["ffmpeg_log"]
    assert "Invalid data" in e.details["ffmpeg_error"]
    json.dumps(e.to_dict())  # recordable


def test_png_named_mp4(media_dir: Path) -> None:
    with pytest.raises(UnsupportedFormatError) as ei:
        probe(media_dir / "broken/png_bytes_named.mp4")
    e = ei.value
    assert "png_bytes_named.mp4" in str(e)
    assert "PNG" in e.problem and "png_pipe" in e.problem
    assert "not a video or audio file" in e.problem


@pytest.mark.parametrize("rel", IMAGES)
def test_images_rejected(media_dir: Path, rel: str) -> None:
    with pytest.raises(UnsupportedFormatError) as ei:
        probe(media_dir / rel)
    assert ("JPEG" if rel.endswith(".jpg") else "PNG") in ei.value.problem


def test_no_duration_webm(media_dir: Path, truth: dict) -> None:
    rel = "broken/moviepy_no_duration.webm"
    info = probe(media_dir / rel)
    assert info.duration_source == "packets"
    v = info.video
    assert v is not None and v.fps == pytest.approx(15000 / 1001, rel=1e-4)
    # verify independently: demux and find where the last video packet ends
    with av.open(str(media_dir / rel)) as c:
        s = c.streams.video[0]
        pkts = [p for p in c.demux(s) if p.pts is not None]
        end = max(float((p.pts + (p.duration or 0)) * p.time_base) for p in pkts)
    assert len(pkts) == truth["broken"][rel]["decodable_video_frames_helper"] == 74
    assert info.duration_s == pytest.approx(end, abs=0.02)
    assert info.duration_s == pytest.approx(74 / (15000 / 1001), abs=0.05)
    # per-stream durations were filled from the same scan
    assert v.duration_s == pytest.approx(end, abs=0.02)
    assert info.audio is not None and info.audio.duration_s == pytest.approx(4.86, abs=0.05)


@pytest.mark.parametrize("rel", ["broken/truncated_faststart_60pct.mp4", "broken/corrupt_midfile_4k.mp4"])
def test_damaged_mp4_probes(media_dir: Path, rel: str) -> None:
    info = probe(media_dir / rel)
    assert info.duration_s == pytest.approx(7.0, abs=0.05)  # the header's promise; damage shows on decode
    assert info.video is not None and info.video.frames == 168
    assert info.audio is not None


def test_truncated_wav_declared_duration(media_dir: Path) -> None:
    info = probe(media_dir / "broken/truncated_jfk_40pct.wav")
    assert info.duration_s == pytest.approx(4.4, abs=0.05)  # what is on disk
    assert info.declared_duration_s == pytest.approx(11.0, abs=0.01)  # what the RIFF header promises
    intact = probe(media_dir / "formats/jfk_pcm16k_mono.wav")
    assert intact.declared_duration_s == pytest.approx(intact.duration_s, abs=1e-3)
    assert wav_declared_duration(str(media_dir / "speech/jfk.flac")) is None


def test_truncated_flac(media_dir: Path) -> None:
    info = probe(media_dir / "broken/truncated_jfk_30pct.flac")
    assert info.duration_s == pytest.approx(11.0, abs=0.01)  # STREAMINFO


# ------------------------------------------------------------------------------------------------ errors


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceNotFoundError) as ei:
        probe(missing)
    assert str(missing) in str(ei.value)
    with pytest.raises(SourceNotFoundError):
        probe(tmp_path)  # a directory


def test_size_limit_checked_before_opening(media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_open(*a: object, **k: object) -> None:
        raise AssertionError("opened a file that is over the size limit")

    monkeypatch.setattr(probe_mod.av, "open", must_not_open)
    with pytest.raises(FileTooLargeError) as ei:
        probe(media_dir / "speech/jfk.flac", Limits(max_file_bytes=1000))
    assert "jfk.flac" in str(ei.value) and "over the limit" in ei.value.problem
    assert ei.value.details["size_bytes"] == 1_152_693


def test_duration_limit(media_dir: Path) -> None:
    with pytest.raises(DurationTooLongError) as ei:
        probe(media_dir / "video/opencv_vtest.avi", Limits(max_duration_s=60))
    assert "opencv_vtest.avi" in str(ei.value) and "1m20s" in ei.value.problem
    assert probe(media_dir / "video/opencv_vtest.avi", Limits(max_duration_s=None)).duration_s == 79.5


def test_non_media_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("just some text\nnot a video\n")
    with pytest.raises(UnsupportedFormatError) as ei:
        probe(text)
    assert "plain text" in ei.value.problem
    pdf = tmp_path / "doc.mov"
    pdf.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    with pytest.raises(UnsupportedFormatError, match="PDF"):
        probe(pdf)
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(bytes((i * 7919 + 13) % 251 for i in range(8192)))
    with pytest.raises(CorruptedMediaError) as ei2:
        probe(junk)
    assert "FFmpeg cannot open" in ei2.value.problem


def test_subtitles_only(tmp_path: Path) -> None:
    srt = tmp_path / "movie.mp4"  # extension lies again
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n\n2\n00:00:02,000 --> 00:00:03,000\nbye\n")
    with pytest.raises(UnsupportedFormatError) as ei:
        probe(srt)
    assert "neither a video nor an audio stream" in ei.value.problem
    assert "subtitle" in ei.value.problem


def test_errors_are_media_errors(media_dir: Path) -> None:
    for rel in (
        "broken/moviepy_zero_bytes.webm",
        "broken/truncated_no_moov.mp4",
        "broken/png_bytes_named.mp4",
    ):
        with pytest.raises(MediaError) as ei:
            probe(media_dir / rel)
        d = ei.value.to_dict()
        assert d["file"].endswith(rel) and d["problem"]
        json.dumps(d)


# ------------------------------------------------------------------------------------------------ models


def test_json_is_stable(media_dir: Path) -> None:
    for rel in (
        "formats/bbb_seg_rotate90.mp4",
        "formats/bbb_seg_mpeg2_mp2.ts",
        "broken/moviepy_no_duration.webm",
    ):
        a = probe(media_dir / rel)
        b = probe(media_dir / rel)
        ja = json.dumps(a.model_dump(mode="json"), sort_keys=True)
        assert ja == json.dumps(b.model_dump(mode="json"), sort_keys=True)
        back = MediaInfo.model_validate_json(ja)
        assert back == a
        assert back.video == a.video and back.audio == a.audio


def test_main_stream_selection(media_dir: Path) -> None:
    info = probe(media_dir / "video/megamind.avi")
    assert info.video is not None and info.video.index == 0
    assert info.audio is not None and info.audio.index == 1 and info.audio.codec == "ac3"
    assert info.has_video and info.has_audio and not info.is_audio_only
    assert info.stream(1) == info.audio


# ------------------------------------------------------------------------------------------------ names


HOSTILE_NAMES = [
    "with space.wav",
    "vidéo 日本語 ☃.wav",
    "-leading-dash.wav",
    "--help",
    "..%2F..%2Fetc",
    "pipe:0",
    "concat:a.wav|b.wav",
    "img%03d.wav",
    "$(touch pwned);`id`.wav",
    "new\nline.wav",
    ("x" * 236) + ".wav",  # 240 bytes
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=lambda n: repr(n)[:40])
def test_hostile_names(media_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    src_dir = tmp_path / "in"
    src_dir.mkdir()
    try:
        src = src_dir / name
        shutil.copyfile(media_dir / "speech/LDC93S1.wav", src)
    except OSError as e:  # e.g. a filesystem that refuses newlines
        pytest.skip(f"filesystem refuses the name: {e}")
    assert len(src.name.encode()) <= 255
    monkeypatch.chdir(src_dir)  # relative names like "pipe:0" must still mean the file
    for p in (src, Path(name)):
        info = probe(p)
        assert info.is_audio_only and info.duration_s == pytest.approx(2.92, abs=0.01)
        assert info.path == str(p)
    out = tmp_path / "out" / name
    r = extract_audio(Path(name), out)
    assert out.exists() and r.path == str(out)
    assert r.samples == 46797
    assert sorted(p.name for p in out.parent.iterdir()) == [name]  # no temp files left
    assert not (src_dir / "pwned").exists()


# ------------------------------------------------------------------------------------------------ speed


def test_probe_is_fast(media_dir: Path) -> None:
    """Headers only: even the 80 s, 8 MB AVI probes in milliseconds (no full decode)."""
    timings = {}
    for rel in PROBE_OK:
        t = time.perf_counter()
        probe(media_dir / rel)
        timings[rel] = time.perf_counter() - t
    slowest = max(timings, key=timings.__getitem__)
    assert timings[slowest] < 0.5, (slowest, timings[slowest])
    assert sum(timings.values()) / len(timings) < 0.05
