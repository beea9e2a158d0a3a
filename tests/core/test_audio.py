"""extract_audio(): real media plus small generated signals of known shape."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import av
import av.filter
import numpy as np
import pytest

from media_assets.core import audio as audio_mod
from media_assets.core.audio import AudioResult, LoudnormSettings, extract_audio
from media_assets.core.errors import CorruptedMediaError, DurationTooLongError, NoAudioStreamError
from media_assets.core.limits import Limits
from tests.conftest import REPO_ROOT, ffmpeg

JFK_VARIANTS = [
    "speech/jfk.flac",
    "speech/jfk.mp3",
    "formats/jfk_aac.m4a",
    "formats/jfk_vorbis.ogg",
    "formats/jfk_opus.opus",
    "formats/jfk_pcm16k_mono.wav",
    "formats/jfk_mulaw8k.wav",
]


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    """(int16 samples [frames, channels], rate, channels) via the stdlib reader: checks the RIFF header."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.reshape(-1, w.getnchannels()), w.getframerate(), w.getnchannels()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x.astype(np.float64)))))


def db(ratio: float) -> float:
    return 20 * np.log10(ratio)


def envelope(x: np.ndarray, rate: int, hop_s: float = 0.01) -> np.ndarray:
    hop = int(rate * hop_s)
    n = len(x) // hop
    frames = x[: n * hop, 0].astype(np.float64).reshape(n, hop)
    return np.sqrt(np.mean(frames**2, axis=1))


def integrated_loudness(path: Path) -> float:
    """EBU R128 integrated loudness (LUFS) with FFmpeg's ebur128 filter."""
    last: dict[str, str] = {}
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        g = av.filter.Graph()
        src = g.add_abuffer(template=s)
        meter = g.add("ebur128", metadata="1")
        sink = g.add("abuffersink")
        g.link_nodes(src, meter, sink)
        g.configure()

        def drain() -> None:
            nonlocal last
            while True:
                try:
                    f = sink.pull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    return
                if "lavfi.r128.I" in f.metadata:
                    last = f.metadata

        for frame in c.decode(s):
            src.push(frame)
            drain()
        src.push(None)
        drain()
    return float(last["lavfi.r128.I"])


def no_leftovers(directory: Path, expected: set[str]) -> None:
    assert {p.name for p in directory.iterdir()} == expected


# ------------------------------------------------------------------------------------------------ basics


def test_jfk_flac_to_16k_mono(media_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "audio.wav"
    r = extract_audio(media_dir / "speech/jfk.flac", out)
    assert isinstance(r, AudioResult)
    assert (r.sample_rate, r.channels) == (16000, 1)
    assert r.duration_s == pytest.approx(11.0, abs=0.02)
    assert abs(r.samples - round(11.0 * 16000)) <= 1024  # at most one resampler frame of delay
    assert r.duration_s == pytest.approx(r.samples / 16000, abs=1e-6)
    assert (r.source_codec, r.source_sample_rate, r.source_channels, r.source_layout) == (
        "flac",
        44100,
        2,
        "stereo",
    )
    assert r.source_stream_index == 0
    assert (r.lost_s, r.decode_errors, r.gap_filled_s) == (0.0, [], 0.0)
    assert r.start_time_s == 0.0 and r.start_offset_s == 0.0
    assert r.expected_duration_s == pytest.approx(11.0)
    # a correct RIFF header: the stdlib reader, the byte count and FFmpeg agree
    data, rate, ch = read_wav(out)
    assert (len(data), rate, ch) == (r.samples, 16000, 1)
    assert out.stat().st_size == 44 + 2 * r.samples
    with av.open(str(out)) as c:
        s = c.streams.audio[0]
        assert (s.codec_context.name, s.sample_rate, s.channels) == ("pcm_s16le", 16000, 1)
        assert c.duration / 1e6 == pytest.approx(r.duration_s, abs=1e-3)
    assert rms(data) > 500  # speech, not silence
    no_leftovers(tmp_path, {"audio.wav"})


@pytest.fixture(scope="module")
def jfk_reference(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    out = tmp_path_factory.mktemp("ref") / "ref.wav"
    extract_audio(media_dir / "speech/jfk.flac", out)
    return envelope(read_wav(out)[0], 16000)


@pytest.mark.parametrize("rel", JFK_VARIANTS)
def test_jfk_variants_aligned(media_dir: Path, tmp_path: Path, jfk_reference: np.ndarray, rel: str) -> None:
    """Every codec gives the same 11 s, and the same speech at the same times (encoder delay handled)."""
    r = extract_audio(media_dir / rel, tmp_path / "a.wav")
    assert r.duration_s == pytest.approx(11.0, abs=0.02)
    assert r.lost_s < 0.02 and r.decode_error_count == 0
    env = envelope(read_wav(tmp_path / "a.wav")[0], 16000)
    n = min(len(env), len(jfk_reference))
    lags = range(-3, 4)  # +-30 ms
    corr = [np.corrcoef(np.roll(env[:n], lag), jfk_reference[:n])[0, 1] for lag in lags]
    assert max(corr) > 0.95, (rel, corr)
    assert abs(lags[int(np.argmax(corr))]) <= 1, (rel, corr)  # aligned within 10 ms


def test_mulaw_8k_source(media_dir: Path, tmp_path: Path) -> None:
    r = extract_audio(media_dir / "formats/jfk_mulaw8k.wav", tmp_path / "a.wav")
    assert (r.source_codec, r.source_sample_rate, r.source_channels) == ("pcm_mulaw", 8000, 1)
    assert r.source_layout == "mono" and r.source_layout_assumed  # WAV without channel mask
    assert r.samples == 176000


AUDIO_INPUTS = [
    "speech/LDC93S1.wav",
    "speech/LDC93S1_pcms16le_1_8000.wav",
    "speech/LDC93S1_pcms16le_2_44100.wav",
    "speech/new-home-in-the-stars-16k.wav",
    "speech/ru.wav",
    "speech/fdo_audio-channel-front-left.oga",
    "formats/fdo_complete.oga",
    "diarization/pyannote_tst00.wav",
    "formats/bbb_seg_h264_aac.mov",
    "formats/bbb_seg_hevc_aac.mkv",
    "formats/bbb_seg_vp9_opus.webm",
    "formats/bbb_seg_av1_opus.mp4",
    "formats/bbb_seg_mpeg2_mp2.ts",
    "formats/moviepy_transparent_vp9alpha.webm",
    "video/megamind.avi",
    "video/composite_bbb_cuts_jfk_speech.mp4",
]


@pytest.mark.parametrize("rel", AUDIO_INPUTS)
def test_inputs_match_probe(media_dir: Path, tmp_path: Path, rel: str) -> None:
    r = extract_audio(media_dir / rel, tmp_path / "a.wav")
    assert r.expected_duration_s is not None
    assert r.duration_s == pytest.approx(r.expected_duration_s, abs=0.05)
    assert r.lost_fraction < 0.01
    data, rate, ch = read_wav(tmp_path / "a.wav")
    assert (len(data), rate, ch) == (r.samples, 16000, 1)
    json.dumps(r.model_dump(mode="json"), allow_nan=False)


def test_unspecified_stereo_layout(media_dir: Path, tmp_path: Path) -> None:
    r = extract_audio(media_dir / "speech/LDC93S1_pcms16le_2_44100.wav", tmp_path / "a.wav")
    assert r.source_layout == "stereo" and r.source_layout_assumed is True
    assert r.samples == 46797


def test_options_rate_and_channels(media_dir: Path, tmp_path: Path) -> None:
    r = extract_audio(media_dir / "speech/jfk.flac", tmp_path / "a.wav", sample_rate=22050, channels=2)
    data, rate, ch = read_wav(tmp_path / "a.wav")
    assert (rate, ch, r.sample_rate, r.channels) == (22050, 2, 22050, 2)
    assert len(data) == r.samples == pytest.approx(11.0 * 22050, abs=1024)
    with pytest.raises(ValueError):
        extract_audio(media_dir / "speech/jfk.flac", tmp_path / "b.wav", channels=0)


# ------------------------------------------------------------------------------------------------ downmix


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gen")


def _tone(out: Path, pan: str, codec: str = "pcm_s16le", rate: int = 48000, seconds: float = 2.0) -> Path:
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate={rate}:duration={seconds}",
        "-af",
        f"volume=0.5,{pan}",
        "-c:a",
        codec,
        str(out),
    )
    return out


def _channel_rms(path: Path, channel: int) -> float:
    with av.open(str(path)) as c:
        chunks = [f.to_ndarray() for f in c.decode(audio=0)]
        n = c.streams.audio[0].channels
    x = np.concatenate(chunks, axis=-1)
    x = x[channel] if x.shape[0] == n and n > 1 else x.reshape(-1, n)[:, channel]
    scale = {np.dtype("int16"): 1.0, np.dtype("int32"): 1 / 65536}.get(x.dtype, 32768.0)
    return rms(x) * scale  # in 16-bit units, like the WAV output


@pytest.mark.parametrize(("layout", "codec"), [("5.1", "pcm_s16le"), ("5.1(side)", "flac")])
def test_downmix_5_1_front_left(gen_dir: Path, tmp_path: Path, layout: str, codec: str) -> None:
    """5.1 with a tone on FL only -> mono at the level libswresample's downmix matrix predicts.

    swresample maps FL/FR -> centre with sqrt(1/2), FC with 1, surrounds with surround_mix_level (-3 dB)
    x sqrt(1/2), LFE with 0, then normalises the row so it cannot clip (sum of gains = 1 + 2*0.7071 + 2*0.5).
    FL's gain is therefore 0.7071 / 3.4142 = 0.2071 (-13.7 dB).
    """
    src = _tone(gen_dir / f"fl_{layout}.{'wav' if codec.startswith('pcm') else 'flac'}", f"pan={layout}|FL=c0", codec)
    r = extract_audio(src, tmp_path / "a.wav")
    assert r.source_layout == layout and r.source_channels == 6 and not r.source_layout_assumed
    y = read_wav(tmp_path / "a.wav")[0][1600:-1600]  # skip resampler edges
    predicted = np.sqrt(0.5) / (1 + 2 * np.sqrt(0.5) + 2 * 0.5)
    measured = rms(y) / _channel_rms(src, 0)
    assert abs(db(measured) - db(predicted)) < 1.0, (db(measured), db(predicted))


def test_downmix_identical_stereo_not_doubled(gen_dir: Path, tmp_path: Path) -> None:
    """Same tone in L and R -> mono equals each channel (0.5 L + 0.5 R), not doubled or clipped."""
    src = _tone(gen_dir / "same.wav", "pan=stereo|FL=c0|FR=c0")
    r = extract_audio(src, tmp_path / "a.wav")
    y = read_wav(tmp_path / "a.wav")[0][1600:-1600]
    left = _channel_rms(src, 0)
    assert abs(db(rms(y) / left)) < 0.1
    assert np.abs(y).max() < 0.55 * 32768  # the source peaks at 0.5 full scale
    assert r.source_layout == "stereo"


def test_downmix_opposite_phase_cancels(gen_dir: Path, tmp_path: Path) -> None:
    src = _tone(gen_dir / "anti.wav", "pan=stereo|FL=c0|FR=-1*c0")
    extract_audio(src, tmp_path / "a.wav")
    y = read_wav(tmp_path / "a.wav")[0]
    assert rms(y) < 1e-3 * _channel_rms(src, 0) + 1.0  # L + (-L) = silence


# ------------------------------------------------------------------------------------------------ damage


def test_truncated_flac(media_dir: Path, tmp_path: Path) -> None:
    r = extract_audio(media_dir / "broken/truncated_jfk_30pct.flac", tmp_path / "a.wav")
    assert r.duration_s == pytest.approx(3.13, abs=0.1)
    assert r.expected_duration_s == pytest.approx(11.0)
    assert r.lost_s == pytest.approx(7.9, abs=0.15)
    assert r.lost_fraction == pytest.approx(7.9 / 11, abs=0.02)
    assert r.decode_error_count >= 1 and r.decode_errors
    assert all(len(e) <= 200 for e in r.decode_errors)
    assert len(read_wav(tmp_path / "a.wav")[0]) == r.samples


def test_truncated_wav(media_dir: Path, tmp_path: Path) -> None:
    r = extract_audio(media_dir / "broken/truncated_jfk_40pct.wav", tmp_path / "a.wav")
    assert r.duration_s == pytest.approx(4.4, abs=0.05)
    assert r.expected_duration_s == pytest.approx(11.0)  # the RIFF header's promise
    assert r.lost_s == pytest.approx(6.6, abs=0.1)


def test_truncated_mp4(media_dir: Path, tmp_path: Path) -> None:
    r = extract_audio(media_dir / "broken/truncated_faststart_60pct.mp4", tmp_path / "a.wav")
    assert r.expected_duration_s == pytest.approx(7.0)
    assert r.duration_s == pytest.approx(3.3, abs=0.2)
    assert r.lost_s == pytest.approx(7.0 - r.decoded_s, abs=0.01)


def test_corrupt_packets_keep_alignment(media_dir: Path, tmp_path: Path) -> None:
    """Undecodable AAC packets are skipped, counted, and replaced by silence so later audio stays put."""
    r = extract_audio(media_dir / "broken/corrupt_midfile_4k.mp4", tmp_path / "a.wav")
    assert r.decode_error_count >= 1
    assert r.gap_filled_s == pytest.approx(0.093, abs=0.03)
    assert 0.0 < r.lost_s < 0.2
    ok = extract_audio(media_dir / "formats/bbb_seg_rotate90.mp4", tmp_path / "b.wav")  # same encode, intact
    assert r.samples == pytest.approx(ok.samples, abs=160)  # same length: 10 ms
    a, b = read_wav(tmp_path / "a.wav")[0], read_wav(tmp_path / "b.wav")[0]
    tail = slice(3 * 16000, 6 * 16000)  # after the damage: the same audio at the same times
    x, y = a[:, 0].astype(np.float64), b[:, 0].astype(np.float64)
    lags = range(-80, 81)  # +-5 ms
    best = max(lags, key=lambda lag: float(np.dot(x[tail], np.roll(y, lag)[tail])))
    assert abs(best) <= 16, best  # within 1 ms (measured: 2 samples = 0.125 ms)
    assert np.corrcoef(x[tail], np.roll(y, best)[tail])[0, 1] > 0.99


def test_no_audio_stream(media_dir: Path, tmp_path: Path) -> None:
    src = media_dir / "formats/bbb_seg_vfr_drop3.mp4"
    with pytest.raises(NoAudioStreamError) as ei:
        extract_audio(src, tmp_path / "a.wav")
    assert str(src) in str(ei.value) and "no audio stream" in ei.value.problem
    no_leftovers(tmp_path, set())


def test_nothing_decodes(gen_dir: Path, tmp_path: Path) -> None:
    """Valid FLAC headers, garbage instead of audio frames: CorruptedMediaError, and no output file."""
    good = _tone(gen_dir / "for_garbage.flac", "pan=mono|c0=c0", codec="flac", seconds=1.0)
    data = bytearray(good.read_bytes())
    pos, last = 4, False  # after "fLaC": metadata blocks (1 byte last-flag/type, 3 bytes length)
    while not last:
        last = bool(data[pos] & 0x80)
        pos += 4 + int.from_bytes(data[pos + 1 : pos + 4], "big")
    rng = np.random.default_rng(0)
    data[pos:] = rng.integers(0, 256, len(data) - pos, dtype=np.uint8).tobytes().replace(b"\xff", b"\x00")
    bad = tmp_path / "garbage.flac"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CorruptedMediaError) as ei:
        extract_audio(bad, out / "a.wav")
    assert "no audio could be decoded" in ei.value.problem
    no_leftovers(out, set())


def test_empty_and_image_inputs(media_dir: Path, tmp_path: Path) -> None:
    from media_assets.core.errors import EmptyFileError, UnsupportedFormatError

    with pytest.raises(EmptyFileError):
        extract_audio(media_dir / "broken/moviepy_zero_bytes.webm", tmp_path / "a.wav")
    with pytest.raises(UnsupportedFormatError, match="PNG"):
        extract_audio(media_dir / "broken/png_bytes_named.mp4", tmp_path / "a.wav")
    with pytest.raises(CorruptedMediaError, match="moov"):
        extract_audio(media_dir / "broken/truncated_no_moov.mp4", tmp_path / "a.wav")
    no_leftovers(tmp_path, set())


def test_limits(media_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DurationTooLongError):
        extract_audio(media_dir / "speech/jfk.flac", tmp_path / "a.wav", limits=Limits(max_duration_s=5))
    no_leftovers(tmp_path, set())


# ------------------------------------------------------------------------------------------------ timeline


def test_pts_gap_filled_with_silence(gen_dir: Path, tmp_path: Path) -> None:
    """A 1 s hole in the timestamps (at t=2 s) becomes 1 s of silence: the tone resumes at t=3 s."""
    src = gen_dir / "gap.mka"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=4",
        "-af",
        "asetpts='if(gte(T,2),PTS+1/TB,PTS)'",
        "-c:a",
        "flac",
        str(src),
    )
    r = extract_audio(src, tmp_path / "a.wav")
    assert r.gap_filled_s == pytest.approx(1.0, abs=0.01)
    assert r.duration_s == pytest.approx(5.0, abs=0.02)
    y = read_wav(tmp_path / "a.wav")[0][:, 0]
    sec = 16000
    assert rms(y[int(1.5 * sec) : int(1.9 * sec)]) > 1000
    assert rms(y[int(2.1 * sec) : int(2.9 * sec)]) < 1.0
    assert rms(y[int(3.1 * sec) : int(3.5 * sec)]) > 1000


def test_pts_overlap_trimmed(gen_dir: Path, tmp_path: Path) -> None:
    src = gen_dir / "overlap.mka"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=4",
        "-af",
        "asetpts='if(gte(T,2),PTS-0.5/TB,PTS)'",
        "-c:a",
        "flac",
        str(src),
    )
    r = extract_audio(src, tmp_path / "a.wav")
    assert r.trimmed_s == pytest.approx(0.5, abs=0.05)
    assert r.duration_s == pytest.approx(3.5, abs=0.05)


def test_start_offsets(media_dir: Path, gen_dir: Path, tmp_path: Path) -> None:
    """WAV sample 0 = the audio stream's first PTS; start_offset_s places it on the container timeline."""
    ts = extract_audio(media_dir / "formats/bbb_seg_mpeg2_mp2.ts", tmp_path / "ts.wav")
    assert ts.start_time_s == pytest.approx(1.4308, abs=0.001)
    assert ts.start_offset_s == 0.0  # the TS audio starts the container clock
    webm = extract_audio(media_dir / "broken/moviepy_no_duration.webm", tmp_path / "webm.wav")
    assert webm.start_offset_s == pytest.approx(0.015, abs=0.001)
    mp3 = extract_audio(media_dir / "speech/jfk.mp3", tmp_path / "mp3.wav")
    assert mp3.start_time_s == pytest.approx(0.069, abs=0.001) and mp3.start_offset_s == 0.0
    # generated: audio muxed 0.5 s after the video starts
    src = gen_dir / "late_audio.mkv"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x64:rate=10:duration=2",
        "-itsoffset",
        "0.5",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=16000:duration=1",
        "-c:v",
        "mpeg4",
        "-c:a",
        "flac",
        str(src),
    )
    late = extract_audio(src, tmp_path / "late.wav")
    assert late.start_offset_s == pytest.approx(0.5, abs=0.01)
    assert late.duration_s == pytest.approx(1.0, abs=0.02)


# ------------------------------------------------------------------------------------------------ options


def test_loudnorm(media_dir: Path, tmp_path: Path) -> None:
    """Loudness measured with FFmpeg's ebur128 filter (ITU-R BS.1770 K-weighted, gated)."""
    plain = extract_audio(media_dir / "speech/jfk.flac", tmp_path / "plain.wav")
    before = integrated_loudness(Path(plain.path))
    r = extract_audio(media_dir / "speech/jfk.flac", tmp_path / "norm.wav", loudnorm=True)
    after = integrated_loudness(Path(r.path))
    assert abs(after - (-23.0)) < 1.5, after
    assert abs(after + 23) < abs(before + 23)
    assert r.loudness is not None
    assert r.loudness["target_i"] == -23.0 and r.loudness["target_tp"] == -2.0
    assert r.loudness["input_i"] == pytest.approx(before, abs=0.5)  # same mono downmix, same meter
    assert "input_lra" in r.loudness and "input_tp" in r.loudness
    assert r.samples == plain.samples == 176000  # normalisation does not shift or stretch time
    custom = extract_audio(
        media_dir / "speech/jfk.flac", tmp_path / "loud.wav", loudnorm=LoudnormSettings(i=-16.0, tp=-1.0)
    )
    assert abs(integrated_loudness(Path(custom.path)) - (-16.0)) < 1.5
    json.dumps(r.model_dump(mode="json"), allow_nan=False)


@pytest.mark.parametrize(("fmt", "codec"), [("flac", "flac"), ("m4a", "aac"), ("mp3", "mp3")])
def test_storage_copy(media_dir: Path, tmp_path: Path, fmt: str, codec: str) -> None:
    dst = tmp_path / "store" / f"audio.{fmt}"
    r = extract_audio(media_dir / "speech/jfk.flac", tmp_path / "audio.wav", storage_format=fmt, storage_path=dst)
    assert r.storage is not None
    assert (r.storage.path, r.storage.format, r.storage.bytes) == (str(dst), fmt, dst.stat().st_size)
    with av.open(str(dst)) as c:
        s = c.streams.audio[0]
        assert s.codec_context.codec.canonical_name == codec
        assert (s.sample_rate, s.channels) == (16000, 1)
        decoded = sum(f.samples for f in c.decode(s)) / s.sample_rate
    assert decoded == pytest.approx(11.0, abs=0.05)
    no_leftovers(tmp_path, {"audio.wav", "store"})
    no_leftovers(dst.parent, {dst.name})


def test_storage_default_path(media_dir: Path, tmp_path: Path) -> None:
    r = extract_audio(media_dir / "speech/LDC93S1.wav", tmp_path / "audio.wav", storage_format="flac")
    assert r.storage is not None and r.storage.path == str(tmp_path / "audio.flac")


# ------------------------------------------------------------------------------------------------ atomicity


@pytest.mark.parametrize("storage", [None, "m4a"])
def test_atomic_write(media_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str | None) -> None:
    dst = tmp_path / "audio.wav"
    dst.write_bytes(b"previous good result")
    real = audio_mod._frame_bytes
    calls = 0

    def flaky(frame: av.AudioFrame) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 20:
            raise RuntimeError("disk on fire")
        return real(frame)

    monkeypatch.setattr(audio_mod, "_frame_bytes", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        extract_audio(media_dir / "speech/jfk.flac", dst, storage_format=storage)
    assert dst.read_bytes() == b"previous good result"  # never half-written, old result intact
    no_leftovers(tmp_path, {"audio.wav"})  # no temp files, no partial storage copy
    monkeypatch.setattr(audio_mod, "_frame_bytes", real)
    r = extract_audio(media_dir / "speech/jfk.flac", dst, storage_format=storage)
    assert read_wav(dst)[0].shape[0] == r.samples


def test_result_json_stable(media_dir: Path, tmp_path: Path) -> None:
    a = extract_audio(media_dir / "broken/corrupt_midfile_4k.mp4", tmp_path / "a.wav")
    b = extract_audio(media_dir / "broken/corrupt_midfile_4k.mp4", tmp_path / "a.wav")
    ja = json.dumps(a.model_dump(mode="json"), sort_keys=True, allow_nan=False)
    assert ja == json.dumps(b.model_dump(mode="json"), sort_keys=True, allow_nan=False)
    assert AudioResult.model_validate_json(ja) == a


# ------------------------------------------------------------------------------------------------ memory


MEMORY_PROBE = textwrap.dedent(
    """
    import json, sys, time
    from media_assets.core.audio import extract_audio

    def hwm_kb():
        # VmHWM is this program's own peak: ru_maxrss would include the (large) pytest worker it forked from
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    src, small, out = sys.argv[1:4]
    extract_audio(small, out)  # warm up: imports, codec tables, first allocations
    before = hwm_kb()
    t = time.perf_counter()
    r = extract_audio(src, out)
    elapsed = time.perf_counter() - t
    after = hwm_kb()
    print(json.dumps({"growth_kb": after - before, "peak_kb": after, "seconds": elapsed,
                      "duration_s": r.duration_s}))
    """
)


@pytest.mark.slow
def test_memory_independent_of_duration(media_dir: Path, tmp_path: Path) -> None:
    """20 minutes of 44.1 kHz stereo FLAC: peak RSS must not grow with the input (streamed, not buffered).

    Holding the decoded source would cost ~420 MB (float32) and holding the output ~38 MB; the bound is
    far below both.
    """
    minutes = 20
    src = tmp_path / "long.flac"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate=44100:duration={minutes * 60}",
        "-ac",
        "2",
        "-c:a",
        "flac",
        str(src),
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            MEMORY_PROBE,
            str(src),
            str(media_dir / "speech/LDC93S1.wav"),
            str(tmp_path / "o.wav"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
    )
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["duration_s"] == pytest.approx(minutes * 60, abs=0.1)
    assert stats["growth_kb"] < 20 * 1024, stats
    assert stats["peak_kb"] < 300 * 1024, stats
    print(f"\nlong input: {stats}  real-time factor {stats['seconds'] / stats['duration_s']:.5f}")


def test_cover_art_mp3(gen_dir: Path, tmp_path: Path, media_dir: Path) -> None:
    """An MP3 with an attached picture is audio-only; the picture is not mistaken for a video stream."""
    src = gen_dir / "cover.mp3"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100:duration=2",
        "-i",
        str(media_dir / "images/skimage_page.png"),
        "-map",
        "0",
        "-map",
        "1",
        "-c:a",
        "libmp3lame",
        "-c:v",
        "png",
        "-disposition:v",
        "attached_pic",
        str(src),
    )
    r = extract_audio(src, tmp_path / "a.wav")
    assert r.duration_s == pytest.approx(2.0, abs=0.05)
    assert r.source_codec == "mp3" and r.source_stream_index == 0


def test_storage_format_from_path(media_dir: Path, tmp_path: Path) -> None:
    r = extract_audio(media_dir / "speech/LDC93S1.wav", tmp_path / "a.wav", storage_path=tmp_path / "x.mp3")
    assert r.storage is not None and r.storage.format == "mp3"
    with pytest.raises(ValueError, match="storage format"):
        extract_audio(media_dir / "speech/LDC93S1.wav", tmp_path / "b.wav", storage_path=tmp_path / "x.ogg")


def test_wav_size_limit(media_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audio_mod, "WAV_MAX_DATA_BYTES", 100_000)  # stands in for the 4 GiB RIFF limit
    with pytest.raises(DurationTooLongError, match="does not fit in a WAV"):
        extract_audio(media_dir / "speech/jfk.flac", tmp_path / "a.wav")
    no_leftovers(tmp_path, set())
