"""Audio for ML: one PCM WAV (default 16 kHz mono s16) per input, aligned with the source timeline.

Speech recognition, diarization and audio embeddings all want the same thing: mono 16 kHz 16-bit PCM
whose sample index maps to a time on the video's timeline. ``extract_audio`` produces exactly that with
PyAV (no ffmpeg subprocess) and streams frame by frame, so memory does not grow with duration.

Timeline convention
    Sample 0 of the WAV is the source audio stream's first PTS, reported as ``start_time_s`` (absolute, in
    the container's clock) and ``start_offset_s`` (relative to the container start, i.e. to where a player
    and the video timeline start). Time ``t`` in the WAV is therefore ``start_time_s + t`` on the container
    clock. Gaps in the audio PTS (dropped or undecodable packets) are filled with silence so that this
    stays true to the end of the file; small timestamp jitter (< 100 ms, the same tolerance as FFmpeg's
    ``aresample`` ``min_hard_comp``) is ignored, since muxers often round audio timestamps; after a decode
    error any gap over 5 ms is filled, because audio is known to be missing there. Overlaps larger than the
    tolerance are trimmed.

Damage
    Corrupt packets are skipped (``decode_errors``), the rest is kept; audio that never decoded is reported
    as ``lost_s`` / ``lost_fraction`` against the duration the headers promise (``expected_duration_s``,
    which for a WAV also considers the RIFF header, since FFmpeg sizes a truncated WAV by what is on disk).
    Only when nothing decodes at all is CorruptedMediaError raised.

Writes are atomic: everything goes to a hidden temporary file in the destination directory that is renamed
over the destination only when complete, so a crash never leaves a half-written ``audio.wav``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.filter
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from pydantic import BaseModel, ConfigDict

from media_assets.core.errors import (
    CorruptedMediaError,
    DurationTooLongError,
    NoAudioStreamError,
    UnsupportedFormatError,
)
from media_assets.core.limits import Limits
from media_assets.core.probe import MediaInfo, ffmpeg_log_capture, open_container, probe

StorageFormat = Literal["flac", "m4a", "mp3"]

ML_SAMPLE_RATE = 16000  # what the speech and audio-event models read (load_wav_mono16k)
GAP_TOLERANCE_S = 0.1
GAP_TOLERANCE_AFTER_ERROR_S = 0.005
MAX_DECODE_ERRORS_KEPT = 20
SILENCE_CHUNK_S = 1.0
WAV_MAX_DATA_BYTES = 0xFFFFFFFF - 64  # RIFF sizes are 32-bit

# Layout assumed for a channel count when the file does not say which channel is which (WAV without a
# channel mask, raw PCM): the usual WAVE/SMPTE orders, so that the downmix matrix is the right one.
DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}

_UNSPECIFIED_LAYOUT = re.compile(r"^\d+ channels$")

# storage format -> (muxer, encoder candidates in order of preference)
_STORAGE = {
    "flac": ("flac", ("flac",)),
    "m4a": ("ipod", ("aac",)),
    "mp3": ("mp3", ("libmp3lame", "mp3")),
}


class LoudnormSettings(BaseModel):
    """EBU R128 targets for FFmpeg's ``loudnorm`` filter (single pass, dynamic mode)."""

    model_config = ConfigDict(frozen=True)

    i: float = -23.0  # integrated loudness, LUFS
    lra: float = 7.0  # loudness range, LU
    tp: float = -2.0  # true peak, dBTP


class StorageCopy(BaseModel):
    """The compressed copy written next to (or instead of keeping) the WAV."""

    model_config = ConfigDict(frozen=True)

    path: str
    format: StorageFormat
    codec: str
    bytes: int


class AudioResult(BaseModel):
    """What was written and how it maps onto the source (see the module docstring for the convention)."""

    model_config = ConfigDict(frozen=True)

    path: str
    sample_rate: int
    channels: int
    samples: int
    duration_s: float  # samples / sample_rate
    source_path: str
    source_stream_index: int
    source_codec: str | None
    source_sample_rate: int | None
    source_channels: int | None
    source_layout: str | None
    source_layout_assumed: bool = False  # the file gave no layout; DEFAULT_LAYOUTS[channels] was used
    start_time_s: float  # absolute source PTS of WAV sample 0
    start_offset_s: float  # start_time_s minus the container start time
    expected_duration_s: float | None
    decoded_s: float  # real (decoded) audio written, excluding inserted silence
    lost_s: float
    lost_fraction: float
    gap_filled_s: float = 0.0  # silence inserted to keep alignment
    trimmed_s: float = 0.0  # overlapping audio dropped to keep alignment
    decode_errors: list[str] = []  # first MAX_DECODE_ERRORS_KEPT, short
    decode_error_count: int = 0
    loudness: dict[str, float] | None = None
    storage: StorageCopy | None = None


# --------------------------------------------------------------------------------------------------------
# atomic output


class _AtomicFile:
    """A hidden temp file in the destination's directory, renamed over the destination on commit.

    The temp name is short and fixed-form (not derived from the destination) so that destination names
    near the 255-byte limit still work.
    """

    def __init__(self, dst: Path) -> None:
        self.dst = dst
        for _ in range(100):
            tmp = dst.parent / f".ma-{secrets.token_hex(8)}.part"
            try:  # O_EXCL: never clobber; mode 0o666 & ~umask, like a normally created file
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            except FileExistsError:
                continue
            self.tmp = tmp
            return
        raise FileExistsError(f"cannot create a temporary file in {dst.parent}")

    def commit(self) -> None:
        with open(self.tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self.tmp, self.dst)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


# --------------------------------------------------------------------------------------------------------
# frame helpers


def _frame_key(frame: AudioFrame) -> tuple[str, str, int]:
    return (frame.format.name, frame.layout.name, frame.sample_rate)


def _silence(template: AudioFrame, samples: int) -> AudioFrame:
    """A zero frame with ``template``'s format, layout and rate."""
    f = AudioFrame(format=template.format.name, layout=template.layout, samples=samples)
    for plane in f.planes:
        plane.update(bytes(plane.buffer_size))
    f.sample_rate = template.sample_rate
    return f


def _drop_head(frame: AudioFrame, n: int) -> AudioFrame:
    """``frame`` without its first ``n`` samples."""
    arr = frame.to_ndarray()
    step = 1 if frame.format.is_planar else frame.layout.nb_channels
    out = AudioFrame.from_ndarray(
        np.ascontiguousarray(arr[:, n * step :]), format=frame.format.name, layout=frame.layout
    )
    out.sample_rate = frame.sample_rate
    return out


def _frame_bytes(frame: AudioFrame) -> bytes:
    """Interleaved little-endian s16 bytes of a packed s16 frame (exact length, no plane padding)."""
    return frame.to_ndarray().astype("<i2", copy=False).tobytes()


def _drain(pull: Any) -> list[AudioFrame]:
    out = []
    while True:
        try:
            out.append(pull())
        except (av.error.BlockingIOError, av.error.EOFError):
            return out


class _Converter:
    """Source frames in, target frames (s16 / layout / rate) out.

    Plain conversion uses ``av.AudioResampler`` (libswresample: correct downmix matrices for known layouts,
    e.g. 5.1 -> mono). With loudness normalisation it is a filter graph that downmixes first, measures the
    input with ``ebur128`` on a side branch, applies ``loudnorm`` and converts to the target format.
    """

    def __init__(self, template: AudioFrame, rate: int, layout: str, loud: LoudnormSettings | None) -> None:
        self.key = _frame_key(template)
        self.measured: dict[str, float] | None = None
        self._resampler: av.AudioResampler | None = None
        if loud is None:
            self._resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
            return
        g = av.filter.Graph()
        self._src = g.add(
            "abuffer",
            sample_rate=str(template.sample_rate),
            sample_fmt=template.format.name,
            channel_layout=template.layout.name,
            time_base=f"1/{template.sample_rate}",
        )
        # rematrix_maxval=1: normalise the downmix matrix exactly as the s16 path does (swresample only
        # normalises for integer output by default), so the measured input loudness is the WAV's loudness.
        rematrix = g.add("aresample", rematrix_maxval="1.0")
        downmix = g.add("aformat", channel_layouts=layout)
        split = g.add("asplit", "2")
        meter = g.add("ebur128", metadata="1", peak="true")
        self._meter_sink = g.add("abuffersink")
        norm = g.add("loudnorm", I=str(loud.i), LRA=str(loud.lra), TP=str(loud.tp))
        fmt = g.add("aformat", sample_fmts="s16", channel_layouts=layout, sample_rates=str(rate))
        self._sink = g.add("abuffersink")
        self._src.link_to(rematrix)
        rematrix.link_to(downmix)
        downmix.link_to(split)
        split.link_to(norm, 0, 0)
        norm.link_to(fmt)
        fmt.link_to(self._sink)
        split.link_to(meter, 1, 0)
        meter.link_to(self._meter_sink)
        g.configure()
        self._graph = g

    def push(self, frame: AudioFrame | None) -> list[AudioFrame]:
        if self._resampler is not None:
            return self._resampler.resample(frame)
        self._src.push(frame)
        out = _drain(self._sink.pull)
        for m in _drain(self._meter_sink.pull):
            md = m.metadata
            if "lavfi.r128.I" in md:
                self.measured = {
                    "input_i": float(md["lavfi.r128.I"]),
                    "input_lra": float(md.get("lavfi.r128.LRA", "nan")),
                    "input_tp": _dbtp(md.get("lavfi.r128.true_peak")),
                }
        return out


def _dbtp(linear: str | None) -> float:
    if linear is None:
        return float("nan")
    v = float(linear)
    return round(20 * math.log10(v), 2) if v > 0 else float("-inf")


class _StorageWriter:
    """Encodes the converted frames into a compressed storage copy (flac / AAC in .m4a / mp3)."""

    def __init__(self, path: Path, fmt: StorageFormat, rate: int, layout: str) -> None:
        muxer, encoders = _STORAGE[fmt]
        codec = next((c for c in encoders if c in av.codecs_available), None)
        if codec is None:
            raise RuntimeError(f"PyAV has no encoder for {fmt} (tried {', '.join(encoders)})")
        self.codec = codec
        self._out: OutputContainer | None = av.open(str(path), "w", format=muxer)
        self._stream = self._out.add_stream(codec, rate=rate, layout=layout)
        cc = self._stream.codec_context
        formats = [f.name for f in (cc.codec.audio_formats or [])]
        cc.format = "s16" if "s16" in formats or not formats else formats[0]
        if fmt == "m4a":
            cc.bit_rate = 64000 if layout == "mono" else 96000
        cc.open()  # to learn the encoder's frame size
        self._resampler = av.AudioResampler(
            format=cc.format.name, layout=layout, rate=rate, frame_size=cc.frame_size or None
        )
        self._pts = 0
        self._rate = rate

    def write(self, frame: AudioFrame | None) -> None:
        if frame is not None:
            frame.pts = self._pts
            frame.time_base = Fraction(1, self._rate)
            self._pts += frame.samples
        assert self._out is not None, "storage copy already closed"
        for f in self._resampler.resample(frame):
            self._out.mux(self._stream.encode(f))
        if frame is None:
            self._out.mux(self._stream.encode(None))

    def close(self) -> None:
        """Write the trailer and close; safe to call again (then a no-op)."""
        if self._out is not None:
            out, self._out = self._out, None
            out.close()

    def abort(self) -> None:
        """Release the output after a failure (its temp file is discarded by the caller)."""
        with contextlib.suppress(Exception):
            self.close()


# --------------------------------------------------------------------------------------------------------
# extraction


def _clean(seconds: float) -> float:
    """Round to the microsecond and drop sub-microsecond noise (no ``-0.0`` / ``-1e-06``)."""
    v = round(seconds, 6)
    return 0.0 if abs(v) <= 1e-6 else v


def _expected_duration(info: MediaInfo) -> float | None:
    a = info.audio
    assert a is not None
    expected = a.duration_s
    if expected is None and info.duration_s is not None:
        lead = max(0.0, (a.start_time_s or info.start_time_s) - info.start_time_s)
        expected = max(0.0, info.duration_s - lead)
    if info.declared_duration_s is not None and (expected is None or info.declared_duration_s > expected):
        expected = info.declared_duration_s
    return expected


def _short_error(where: float | None, exc: Exception, logs: list[tuple[int, str, str]]) -> str:
    msg = str(getattr(exc, "strerror", None) or exc)
    detail = next((m.strip() for _, _, m in reversed(logs) if m.strip()), None)
    if detail:
        msg = f"{msg} ({detail})"
    at = f"{where:.3f}s: " if where is not None else ""
    return (at + msg)[:200]


def _storage_format(storage_format: StorageFormat | None, storage_path: str | Path | None) -> StorageFormat | None:
    """The storage format asked for, else the one ``storage_path``'s extension names (ValueError if unknown)."""
    if storage_format is None and storage_path is not None:
        suffix = Path(storage_path).suffix.lower().lstrip(".")
        if suffix not in _STORAGE:
            raise ValueError(f"cannot tell the storage format from {storage_path!r}; pass storage_format")
        storage_format = suffix  # type: ignore[assignment]
    if storage_format is not None and storage_format not in _STORAGE:
        raise ValueError(f"storage_format must be one of {sorted(_STORAGE)}, got {storage_format!r}")
    return storage_format


def extract_audio(
    src: str | Path,
    dst_wav: str | Path,
    *,
    sample_rate: int = 16000,
    channels: int = 1,
    limits: Limits | None = None,
    loudnorm: bool | LoudnormSettings = False,
    storage_format: StorageFormat | None = None,
    storage_path: str | Path | None = None,
) -> AudioResult:
    """Decode the main audio stream of ``src`` into a PCM WAV at ``dst_wav`` (atomically).

    ``loudnorm`` (True or LoudnormSettings) applies EBU R128 normalisation and records the measured input
    loudness. ``storage_format`` additionally writes the same converted audio, compressed, to
    ``storage_path`` (default: ``dst_wav`` with the format's extension). Raises the probe's typed errors,
    NoAudioStreamError, or CorruptedMediaError when no audio at all can be decoded.
    """
    if channels not in DEFAULT_LAYOUTS:
        raise ValueError(f"channels must be 1..8, got {channels}")
    storage_format = _storage_format(storage_format, storage_path)
    src_s = os.fspath(src)
    info = probe(src_s, limits)
    a = info.audio
    if a is None:
        kinds = ", ".join(sorted({s.kind for s in info.streams})) or "no"
        raise NoAudioStreamError(
            src_s, f"no audio stream (the file only has {kinds} streams)", streams=len(info.streams)
        )
    expected = _expected_duration(info)
    if expected is not None and expected * sample_rate * channels * 2 > WAV_MAX_DATA_BYTES:
        raise DurationTooLongError(
            src_s,
            f"{expected / 3600:.1f} h of audio at {sample_rate} Hz x {channels} ch does not fit in a WAV "
            "file (4 GiB RIFF limit)",
            duration_s=round(expected, 3),
        )
    target_layout = DEFAULT_LAYOUTS[channels]
    loud = LoudnormSettings() if loudnorm is True else (loudnorm or None)

    dst = Path(dst_wav)
    dst.parent.mkdir(parents=True, exist_ok=True)
    store_dst = None
    if storage_format is not None:
        ext = {"flac": ".flac", "m4a": ".m4a", "mp3": ".mp3"}[storage_format]
        store_dst = Path(storage_path) if storage_path is not None else dst.with_suffix(ext)
        store_dst.parent.mkdir(parents=True, exist_ok=True)

    wav_out = _AtomicFile(dst)
    store_out = _AtomicFile(store_dst) if store_dst is not None else None
    try:
        extraction = _Extraction(
            info, src_s, wav_out, store_out, storage_format, sample_rate, channels, target_layout, loud
        )
        result = extraction.run()
        wav_out.commit()
        if store_out is not None:
            store_out.commit()
    except BaseException:
        wav_out.discard()
        if store_out is not None:
            store_out.discard()
        raise
    return result


class _Extraction:
    """One ``extract_audio`` run: decode the audio stream, keep it aligned with its timestamps, convert it and
    write the WAV (and the storage copy), counting what the AudioResult reports.

    Alignment: ``t0`` is the source PTS of WAV sample 0 and ``pos_s`` the seconds of source audio pushed so
    far (real + silence - trimmed) relative to it; a frame whose PTS drifts from ``pos_s`` beyond the
    tolerance gets silence before it or loses its overlapping head.
    """

    def __init__(
        self,
        info: MediaInfo,
        src: str,
        wav_out: _AtomicFile,
        store_out: _AtomicFile | None,
        storage_format: StorageFormat | None,
        rate: int,
        channels: int,
        target_layout: str,
        loud: LoudnormSettings | None,
    ) -> None:
        a = info.audio
        assert a is not None
        self.info = info
        self.a = a
        self.src = src
        self.wav_out = wav_out
        self.store_out = store_out
        self.storage_format = storage_format
        self.rate = rate
        self.channels = channels
        self.target_layout = target_layout
        self.loud = loud
        self.wav: wave.Wave_write | None = None
        self.store: _StorageWriter | None = None
        self.converter: _Converter | None = None
        self.measured: dict[str, float] | None = None
        self.errors: list[str] = []
        self.error_count = 0
        self.after_error = False  # the last thing that happened was a decode error
        self.written = 0  # output samples (per channel)
        self.decoded_src = 0.0  # seconds of real source audio pushed
        self.pos_s = 0.0  # seconds of source audio pushed (real + silence - trimmed), relative to t0
        self.t0: Fraction | None = None
        self.gap_filled = 0.0
        self.trimmed = 0.0
        self.layout_assumed = False
        self.source_layout: str | None = None

    def run(self) -> AudioResult:
        with contextlib.ExitStack() as cleanup:
            raw = cleanup.enter_context(open(self.wav_out.tmp, "wb"))
            wav = cleanup.enter_context(wave.open(raw, "wb"))
            container = cleanup.enter_context(open_container(self.src))
            wav.setnchannels(self.channels)
            wav.setsampwidth(2)
            wav.setframerate(self.rate)
            self.wav = wav
            if self.store_out is not None and self.storage_format is not None:
                self.store = _StorageWriter(self.store_out.tmp, self.storage_format, self.rate, self.target_layout)
                cleanup.callback(self.store.abort)  # no-op after a successful close()
            stream = self._open_stream(container)
            self._decode(container, stream)
            self._flush()
        if self.decoded_src == 0:
            raise CorruptedMediaError(
                self.src,
                "no audio could be decoded from the audio stream",
                stream_index=self.a.index,
                codec=self.a.codec,
                decode_errors=self.errors,
            )
        return self._result()

    def _open_stream(self, container: InputContainer) -> AudioStream:
        """The audio stream, its layout assumed when the file gives none; ``t0`` from its start time."""
        stream = container.streams[self.a.index]
        cc = stream.codec_context
        if cc is None:
            raise UnsupportedFormatError(self.src, f"no decoder for the audio codec {self.a.codec or 'unknown'}")
        if cc.channels and _UNSPECIFIED_LAYOUT.match(cc.layout.name) and cc.channels in DEFAULT_LAYOUTS:
            cc.layout = DEFAULT_LAYOUTS[cc.channels]  # before the decoder opens: frames get this layout
            self.layout_assumed = True
        self.source_layout = cc.layout.name if not _UNSPECIFIED_LAYOUT.match(cc.layout.name) else None
        if stream.start_time is not None and stream.time_base is not None:
            self.t0 = stream.start_time * stream.time_base
        return stream

    def _decode(self, container: InputContainer, stream: AudioStream) -> None:
        """Demux and decode the whole stream, skipping (and recording) what does not decode."""
        with ffmpeg_log_capture() as logs:
            packets = container.demux(stream)
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    break
                except av.error.FFmpegError as e:  # the demuxer itself gave up (truncated/garbled file)
                    self._record(None, e, logs)
                    break
                try:
                    frames = stream.decode(packet)
                except av.error.FFmpegError as e:
                    where = float(packet.pts * packet.time_base) if packet.pts is not None else None
                    self._record(where, e, logs)
                    logs.clear()
                    continue
                for frame in frames:
                    self._handle(frame)
                logs.clear()
            try:  # drain the decoder (a no-op if the demuxer's final flush packet already did)
                for frame in stream.decode(None):
                    self._handle(frame)
            except av.error.FFmpegError:
                pass

    def _flush(self) -> None:
        """Drain the converter and finish the storage copy."""
        if self.converter is not None:
            self._emit(self.converter.push(None))
            self.measured = self.converter.measured or self.measured
        if self.store is not None:
            self.store.write(None)
            self.store.close()

    def _record(self, where: float | None, exc: Exception, logs: list[tuple[int, str, str]]) -> None:
        self.error_count += 1
        self.after_error = True
        if len(self.errors) < MAX_DECODE_ERRORS_KEPT:
            self.errors.append(_short_error(where, exc, logs))

    def _handle(self, frame: AudioFrame) -> None:
        """A decoded frame: fill the gap before it or trim its overlap, then push it."""
        if frame.samples == 0:
            return
        sr = frame.sample_rate
        if frame.pts is not None and frame.time_base is not None:
            ts = frame.pts * frame.time_base
            if self.t0 is None:
                self.t0 = ts
            drift = float(ts - self.t0) - self.pos_s
            tolerance = GAP_TOLERANCE_AFTER_ERROR_S if self.after_error else GAP_TOLERANCE_S
            if drift > tolerance:
                missing = round(drift * sr)
                chunk = max(1, int(SILENCE_CHUNK_S * sr))
                while missing > 0:
                    n = min(chunk, missing)
                    self._push(_silence(frame, n))
                    missing -= n
                self.gap_filled += drift
            elif drift < -tolerance:
                n = round(-drift * sr)
                if n >= frame.samples:
                    self.trimmed += frame.samples / sr
                    return
                try:
                    frame = _drop_head(frame, n)
                    self.trimmed += n / sr
                except (ValueError, TypeError):
                    pass  # unusual sample format: keep the overlap rather than fail
        self.after_error = False
        self.decoded_src += frame.samples / sr
        self._push(frame)

    def _push(self, frame: AudioFrame) -> None:
        """Convert a source frame (real or silence) at the current position; a new chain if its format changed."""
        if self.converter is None or self.converter.key != _frame_key(frame):
            if self.converter is not None:  # parameters changed mid-stream: flush and start a new chain
                self._emit(self.converter.push(None))
                self.measured = self.converter.measured or self.measured
            self.converter = _Converter(frame, self.rate, self.target_layout, self.loud)
        pos_samples = round(self.pos_s * frame.sample_rate)
        frame.pts = pos_samples
        frame.time_base = Fraction(1, frame.sample_rate)
        self._emit(self.converter.push(frame))
        self.pos_s += frame.samples / frame.sample_rate

    def _emit(self, frames: list[AudioFrame]) -> None:
        """Write converted frames to the WAV and the storage copy."""
        assert self.wav is not None
        for out in frames:
            self.wav.writeframesraw(_frame_bytes(out))
            self.written += out.samples
            if self.store is not None:
                self.store.write(out)

    def _loudness(self) -> dict[str, float] | None:
        loud = self.loud
        if loud is None:
            return None
        loudness = {"target_i": loud.i, "target_lra": loud.lra, "target_tp": loud.tp}
        if self.measured:
            loudness.update({k: round(v, 2) for k, v in self.measured.items() if math.isfinite(v)})
        return loudness

    def _storage(self) -> StorageCopy | None:
        if self.store is None or self.store_out is None or self.storage_format is None:
            return None
        return StorageCopy(
            path=str(self.store_out.dst),
            format=self.storage_format,
            codec=self.store.codec,
            bytes=self.store_out.tmp.stat().st_size,
        )

    def _result(self) -> AudioResult:
        info, a, rate, written = self.info, self.a, self.rate, self.written
        expected = _expected_duration(info)
        lost = max(0.0, expected - self.decoded_src) if expected is not None else 0.0
        start = float(self.t0) if self.t0 is not None else info.start_time_s
        return AudioResult(
            path=str(self.wav_out.dst),
            sample_rate=rate,
            channels=self.channels,
            samples=written,
            duration_s=round(written / rate, 6),
            source_path=self.src,
            source_stream_index=a.index,
            source_codec=a.codec,
            source_sample_rate=a.sample_rate,
            source_channels=a.channels,
            source_layout=self.source_layout,
            source_layout_assumed=self.layout_assumed,
            start_time_s=round(start, 6),
            start_offset_s=_clean(start - info.start_time_s),
            expected_duration_s=round(expected, 6) if expected is not None else None,
            decoded_s=round(self.decoded_src, 6),
            lost_s=round(lost, 3),
            lost_fraction=round(lost / expected, 4) if expected else 0.0,
            gap_filled_s=round(self.gap_filled, 6),
            trimmed_s=round(self.trimmed, 6),
            decode_errors=self.errors,
            decode_error_count=self.error_count,
            loudness=self._loudness(),
            storage=self._storage(),
        )


# --------------------------------------------------------------------------------------------------------
# reading


def load_wav_mono16k(path: str | Path) -> np.ndarray:
    """A 16 kHz mono WAV (the ``audio`` asset's output) as float32."""
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if sr != ML_SAMPLE_RATE:
        raise ValueError(f"{path}: expected 16 kHz audio, got {sr} Hz")
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)
