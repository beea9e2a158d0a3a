"""Probe a media file: what it contains, how long it is, where its timeline starts.

Everything downstream (audio extraction, frame sampling, time alignment) needs the same few facts, and a
bad input should be rejected here with a typed error that names the file and the problem in plain words,
before any expensive decoding. Probing is by content (FFmpeg's format detection through PyAV), never by
file extension, and reads headers only: the sole exceptions are decoding the first frame of the main video
stream (rotation lives in display-matrix side data that PyAV only exposes on frames) and, for files whose
container and streams declare no duration at all, demuxing (not decoding) the packets to find where the
last one ends.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.logging
from av.container import InputContainer
from av.video.format import VideoFormat
from pydantic import BaseModel, ConfigDict

from media_assets.core.errors import (
    CorruptedMediaError,
    EmptyFileError,
    MediaError,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from media_assets.core.limits import DEFAULT_LIMITS, Limits

StreamKind = Literal["video", "audio", "subtitle", "data", "attachment"]
DurationSource = Literal["container", "stream", "packets"]

# Decode at most this many packets of the main video stream while looking for its first frame.
FIRST_FRAME_MAX_PACKETS = 200

# Human names for the codecs that single-image demuxers report (for "content is a PNG image" messages).
_IMAGE_NAMES = {
    "png": "PNG",
    "apng": "APNG",
    "mjpeg": "JPEG",
    "jpegls": "JPEG-LS",
    "jpeg2000": "JPEG 2000",
    "jpegxl": "JPEG XL",
    "webp": "WebP",
    "gif": "GIF",
    "bmp": "BMP",
    "tiff": "TIFF",
    "qoi": "QOI",
    "exr": "OpenEXR",
    "dpx": "DPX",
    "psd": "Photoshop (PSD)",
    "svg": "SVG",
    "ppm": "PPM",
    "pgm": "PGM",
    "pbm": "PBM",
    "pam": "PAM",
}

# Magic numbers of common non-media files, so that FFmpeg's "Invalid data" on e.g. a PDF is reported as
# what it is rather than as a corrupted video.
_NON_MEDIA_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a document packaged as ZIP)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "an executable (ELF)"),
)

_ISOBMFF_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp"}
_UNSPECIFIED_LAYOUT = re.compile(r"^\d+ channels$")
_PCM_DEPTH = re.compile(r"^pcm_[suf](\d+)")


class StreamInfo(BaseModel):
    """One stream as declared by the container/codec headers."""

    model_config = ConfigDict(frozen=True)

    index: int
    kind: StreamKind
    codec: str | None = None
    codec_long: str | None = None
    profile: str | None = None
    # video
    width: int | None = None  # stored (coded) frame size, before rotation
    height: int | None = None
    display_width: int | None = None  # rotation applied (pixels; sample aspect ratio NOT applied)
    display_height: int | None = None
    rotation: int = 0  # counter-clockwise degrees to rotate decoded frames for display: 0/90/180/270
    sample_aspect_ratio: str | None = None
    fps: float | None = None  # average frame rate
    r_frame_rate: str | None = None  # FFmpeg's "real base frame rate", as "num/den"
    pix_fmt: str | None = None
    bit_depth: int | None = None
    has_alpha: bool = False
    # audio
    sample_rate: int | None = None
    channels: int | None = None
    channel_layout: str | None = None  # None when the file does not say which channel is which
    sample_fmt: str | None = None
    # common
    time_base: str | None = None
    start_time_s: float | None = None  # absolute first PTS of the stream
    duration_s: float | None = None
    frames: int | None = None  # frame count from the container index, None if it has none
    bit_rate: int | None = None
    language: str | None = None
    disposition_default: bool = False
    attached_pic: bool = False  # cover art stored as a one-frame "video" stream
    tags: dict[str, str] = {}


class MediaInfo(BaseModel):
    """A probed file. ``duration_s`` is the span from ``start_time_s`` (FFmpeg's container duration)."""

    model_config = ConfigDict(frozen=True)

    path: str
    size_bytes: int
    format_name: str
    format_long_name: str | None = None
    duration_s: float | None = None
    duration_source: DurationSource | None = None
    # What a WAV header claims (RIFF data size / byte rate). Differs from duration_s when the file was cut
    # short: FFmpeg then measures what is really there, the header still says what should be.
    declared_duration_s: float | None = None
    start_time_s: float = 0.0
    bit_rate: int | None = None
    tags: dict[str, str] = {}
    streams: list[StreamInfo] = []

    def _first(self, kind: str) -> StreamInfo | None:
        candidates = [s for s in self.streams if s.kind == kind and not s.attached_pic]
        for s in candidates:
            if s.disposition_default:
                return s
        return candidates[0] if candidates else None

    @property
    def video(self) -> StreamInfo | None:
        """Main video stream: first default one that is not cover art (else first non-cover-art one)."""
        return self._first("video")

    @property
    def audio(self) -> StreamInfo | None:
        """Main audio stream: first default one (else the first audio stream)."""
        return self._first("audio")

    @property
    def has_video(self) -> bool:
        return self.video is not None

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def is_audio_only(self) -> bool:
        return self.has_audio and not self.has_video

    @property
    def is_still_image(self) -> bool:
        """Single-image formats (png_pipe, jpeg_pipe, image2, ...): a picture, not a video."""
        return is_image_format(self.format_name)

    def stream(self, index: int) -> StreamInfo:
        """The stream with container index ``index``."""
        for s in self.streams:
            if s.index == index:
                return s
        raise KeyError(index)


def is_image_format(format_name: str) -> bool:
    """True for FFmpeg's single-image demuxers (``*_pipe`` image readers and ``image2``)."""
    names = format_name.split(",")
    return any(n.endswith("_pipe") or n in ("image2", "image2pipe") for n in names)


# --------------------------------------------------------------------------------------------------------
# opening


@contextmanager
def ffmpeg_log_capture() -> Iterator[list[tuple[int, str, str]]]:
    """Capture FFmpeg's error log lines (e.g. "moov atom not found") for this thread.

    PyAV silences FFmpeg's log by default, which also strips the one line that explains a failure. The
    level is raised to ERROR only for the duration of the block (and only if logging was off), and the
    captured lines are not forwarded to Python logging.
    """
    previous = av.logging.get_level()
    changed = previous is None or previous < av.logging.ERROR
    if changed:
        av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs:
            yield logs
    finally:
        if changed:
            av.logging.set_level(previous)


def _sniff_non_media(path: str) -> str | None:
    """Name well-known non-media content (PDF, archives, text), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    for magic, what in _NON_MEDIA_MAGIC:
        if head.startswith(magic):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text and all(ch.isprintable() or ch in "\r\n\t\f" for ch in text):
        return "plain text"
    return None


def _looks_like_isobmff(path: str) -> bool:
    """Does the file start with an MP4/MOV box (so a missing moov really means a truncated MP4)?"""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) >= 8 and head[4:8] in _ISOBMFF_BOXES


def _open_error(path: str, exc: Exception, logs: list[tuple[int, str, str]]) -> MediaError:
    """Translate an av.open failure into a typed error that says what is wrong in plain words."""
    log = getattr(exc, "log", None)
    lines = [msg.strip() for _, _, msg in logs if msg.strip()]
    if log and log[2].strip() and log[2].strip() not in lines:
        lines.append(log[2].strip())
    ffmpeg_message = str(getattr(exc, "strerror", None) or exc)
    details: dict[str, Any] = {"ffmpeg_error": ffmpeg_message, "ffmpeg_log": lines[-5:]}
    if isinstance(exc, FileNotFoundError):
        return SourceNotFoundError(path, "file not found", **details)
    if isinstance(exc, PermissionError):
        return SourceNotFoundError(path, "file cannot be read (permission denied)", **details)
    if any("moov atom not found" in line for line in lines) and _looks_like_isobmff(path):
        return CorruptedMediaError(
            path,
            "the MP4/MOV index (moov atom) is missing: the file is truncated or was not finalised "
            "(e.g. the recording or upload was interrupted)",
            **details,
        )
    what = _sniff_non_media(path)
    if what is not None:
        return UnsupportedFormatError(path, f"content is {what}, not a video or audio file", **details)
    # FFmpeg's log line goes to details only: when no demuxer recognised the content, FFmpeg falls back to
    # the one matching the file extension, whose complaint ("moov atom not found" for any *.mp4) misleads.
    problem = f"FFmpeg cannot open the file ({ffmpeg_message}): corrupted, or not a recognised media format"
    return CorruptedMediaError(path, problem, **details)


def check_source(path: str | Path, limits: Limits | None = None) -> int:
    """Existence, emptiness and size checks that need no decoding; returns the size in bytes."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise SourceNotFoundError(p, "file not found") from None
    except OSError as e:
        raise SourceNotFoundError(p, f"file cannot be accessed ({e.strerror})") from None
    if os.path.isdir(p):
        raise SourceNotFoundError(p, "path is a directory, not a media file")
    if st.st_size == 0:
        raise EmptyFileError(p, "file is empty (0 bytes)")
    (limits or DEFAULT_LIMITS).check_size(p, st.st_size)
    return st.st_size


def open_container(path: str | Path) -> InputContainer:
    """Open ``path`` with PyAV, raising typed errors.

    The path is passed as an absolute ``str``: an absolute path can never be mistaken for an FFmpeg
    protocol URL (a relative name like ``pipe:0`` or ``concat:a|b`` could), and no shell is involved, so
    spaces, unicode, leading dashes and newlines are harmless. Tags that are not valid UTF-8 are replaced
    rather than failing the open.
    """
    p = os.fspath(path)
    with ffmpeg_log_capture() as logs:
        try:
            return av.open(os.path.abspath(p), metadata_errors="replace")
        except (av.error.FFmpegError, OSError) as e:
            raise _open_error(p, e, logs) from e


# --------------------------------------------------------------------------------------------------------
# stream facts


def _round(x: float | Fraction | None, nd: int = 6) -> float | None:
    return None if x is None else round(float(x), nd)


def _safe(fn: Any, default: Any = None) -> Any:
    """Some attributes raise for odd streams (no decoder, attachments); treat those as unknown."""
    try:
        return fn()
    except Exception:
        return default


def _parse_hms(value: str) -> float | None:
    """Matroska's per-stream ``DURATION`` tag, e.g. ``00:00:07.023000000``."""
    m = re.fullmatch(r"\s*(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*", value)
    if not m:
        return None
    return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


def _stream_duration(stream: Any, tags: dict[str, str]) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    for key, value in tags.items():
        if key.upper().startswith("DURATION"):
            parsed = _parse_hms(value)
            if parsed is not None:
                return parsed
    return None


def normalise_rotation(degrees: float) -> int:
    """Snap an angle to the nearest multiple of 90 in [0, 360)."""
    return round(degrees / 90.0) * 90 % 360


def _first_frame(container: InputContainer, stream: Any) -> Any | None:
    """Decode the first frame of ``stream`` (bounded), or None if none decodes quickly."""
    try:
        for n, packet in enumerate(container.demux(stream)):
            try:
                frames = stream.decode(packet)
            except av.error.FFmpegError:
                frames = []
            if frames:
                return frames[0]
            if n >= FIRST_FRAME_MAX_PACKETS:
                return None
        frames = stream.decode(None)
        return frames[0] if frames else None
    except (av.error.FFmpegError, ValueError):
        return None


def _video_facts(s: Any, tags: dict[str, str], first_frame: Any | None) -> dict[str, Any]:
    cc = s.codec_context
    width = _safe(lambda: cc.width) or None
    height = _safe(lambda: cc.height) or None
    pix_fmt = _safe(lambda: cc.pix_fmt)
    rotation = 0
    if first_frame is not None:
        rotation = normalise_rotation(_safe(lambda: first_frame.rotation, 0) or 0)
        pix_fmt = pix_fmt or _safe(lambda: first_frame.format.name)
        width = width or first_frame.width
        height = height or first_frame.height
    if rotation == 0 and "rotate" in tags:
        # legacy tag: clockwise degrees (FFmpeg < 5 exported -displaymatrix rotation here)
        with suppress(ValueError):
            rotation = normalise_rotation(-float(tags["rotate"]))
    components = _safe(lambda: VideoFormat(pix_fmt).components, ()) if pix_fmt else ()
    alpha_tag = next((v for k, v in tags.items() if k.lower() == "alpha_mode"), None)
    swap = rotation in (90, 270)
    avg = s.average_rate or s.guessed_rate
    base = s.base_rate
    sar = _safe(lambda: s.sample_aspect_ratio)
    return {
        "width": width,
        "height": height,
        "display_width": (height if swap else width),
        "display_height": (width if swap else height),
        "rotation": rotation,
        "sample_aspect_ratio": f"{sar.numerator}:{sar.denominator}" if sar else None,
        "fps": _round(avg) if avg else None,
        "r_frame_rate": f"{base.numerator}/{base.denominator}" if base else None,
        "pix_fmt": pix_fmt,
        "bit_depth": max((c.bits for c in components), default=None),
        # VP9/VP8 alpha lives in a side channel that FFmpeg's native decoder drops (pix_fmt says yuv420p);
        # WebM flags it with the alpha_mode tag, so trust that too.
        "has_alpha": any(c.is_alpha for c in components) or alpha_tag == "1",
    }


def _audio_facts(s: Any, codec: str | None) -> dict[str, Any]:
    cc = s.codec_context
    layout = _safe(lambda: cc.layout.name)
    depth = _PCM_DEPTH.match(codec or "")
    return {
        "sample_rate": _safe(lambda: cc.sample_rate) or None,
        "channels": _safe(lambda: cc.channels) or None,
        "channel_layout": None if not layout or _UNSPECIFIED_LAYOUT.match(layout) else layout,
        "sample_fmt": _safe(lambda: cc.format.name),
        "bit_depth": int(depth[1]) if depth else None,
    }


def _stream_info(s: Any, first_frame: Any | None = None) -> StreamInfo:
    kind = s.type if s.type in ("video", "audio", "subtitle", "attachment") else "data"
    tags = dict(_safe(lambda: s.metadata, {}) or {})
    codec_obj = _safe(lambda: s.codec_context.codec)
    codec = _safe(lambda: codec_obj.canonical_name) if codec_obj is not None else None
    tb = s.time_base
    disposition = _safe(lambda: int(s.disposition), 0)
    facts: dict[str, Any] = {}
    if kind == "video":
        facts = _video_facts(s, tags, first_frame)
    elif kind == "audio":
        facts = _audio_facts(s, codec)
    bit_rate = _safe(lambda: s.codec_context.bit_rate) or None
    return StreamInfo(
        index=s.index,
        kind=kind,
        codec=codec,
        codec_long=_safe(lambda: codec_obj.long_name) if codec_obj is not None else None,
        profile=_safe(lambda: s.profile),
        time_base=f"{tb.numerator}/{tb.denominator}" if tb else None,
        start_time_s=_round(s.start_time * tb) if s.start_time is not None and tb else None,
        duration_s=_round(_stream_duration(s, tags)),
        frames=_safe(lambda: s.frames) or None,
        bit_rate=bit_rate,
        language=_safe(lambda: s.language) or tags.get("language"),
        disposition_default=bool(disposition & int(av.stream.Disposition.default)),
        attached_pic=bool(disposition & int(av.stream.Disposition.attached_pic)),
        tags=tags,
        **facts,
    )


# --------------------------------------------------------------------------------------------------------
# durations


def wav_declared_duration(path: str) -> float | None:
    """Duration a RIFF/WAVE header declares (data chunk size / byte rate), read from the bytes.

    FFmpeg sizes a truncated WAV by what is on disk, so the header is the only record of how much audio
    there should have been. Returns None for non-RIFF content, streaming headers (size 0 or 0xFFFFFFFF)
    and RF64.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            byte_rate = None
            for _ in range(64):  # chunk walk, bounded
                hdr = f.read(8)
                if len(hdr) < 8:
                    return None
                cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
                if cid == b"fmt ":
                    fmt = f.read(size)
                    if len(fmt) < 12:
                        return None
                    byte_rate = struct.unpack("<I", fmt[8:12])[0]
                    if size % 2:
                        f.seek(1, os.SEEK_CUR)
                elif cid == b"data":
                    if not byte_rate or size in (0, 0xFFFFFFFF):
                        return None
                    return size / byte_rate
                else:
                    f.seek(size + (size % 2), os.SEEK_CUR)
    except OSError:
        return None
    return None


def scan_packets(path: str) -> dict[int, tuple[float, float]]:
    """Per stream, (first timestamp, end of last packet) in seconds, by demuxing (no decoding) the file.

    Used only when neither the container nor the streams declare a duration (e.g. WebM written by a
    browser's MediaRecorder). Reading stops quietly at damage: what was read before it is kept.
    """
    spans: dict[int, list[Fraction]] = {}
    try:
        with av.open(os.path.abspath(path), metadata_errors="replace") as c:
            for packet in c.demux():
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None or packet.time_base is None:
                    continue
                start = ts * packet.time_base
                end = (ts + (packet.duration or 0)) * packet.time_base
                span = spans.get(packet.stream_index)
                if span is None:
                    spans[packet.stream_index] = [start, end]
                else:
                    span[0] = min(span[0], start)
                    span[1] = max(span[1], end)
    except (av.error.FFmpegError, OSError):
        pass
    return {i: (float(a), float(b)) for i, (a, b) in spans.items()}


def _describe_streams(streams: list[StreamInfo]) -> str:
    kinds: dict[str, int] = {}
    for s in streams:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in kinds.items()) or "no streams"


# --------------------------------------------------------------------------------------------------------
# public entry point


def probe(path: str | Path, limits: Limits | None = None) -> MediaInfo:
    """Probe ``path`` by content and validate it as a video or audio input.

    Raises SourceNotFoundError, EmptyFileError, FileTooLargeError (checked before opening),
    CorruptedMediaError (FFmpeg cannot open it, e.g. MP4 without its moov index), UnsupportedFormatError
    (a still image, a non-media file, or no video/audio stream) and DurationTooLongError.
    """
    limits = limits or DEFAULT_LIMITS
    p = os.fspath(path)
    size = check_source(p, limits)
    with open_container(p) as c:
        fmt_name = c.format.name
        fmt_long = _safe(lambda: c.format.long_name)
        start_s = c.start_time / 1_000_000 if c.start_time is not None else None
        container_duration = c.duration / 1_000_000 if c.duration is not None else None
        # the main video stream's first frame carries the display matrix (rotation)
        main_video = None
        if not is_image_format(fmt_name):
            candidates = [
                s for s in c.streams.video if not (int(s.disposition) & int(av.stream.Disposition.attached_pic))
            ]
            default = [s for s in candidates if int(s.disposition) & int(av.stream.Disposition.default)]
            main_video = (default or candidates or [None])[0]
        first = _first_frame(c, main_video) if main_video is not None else None
        streams = [_stream_info(s, first if s is main_video else None) for s in c.streams]
        tags = dict(_safe(lambda: c.metadata, {}) or {})
        bit_rate = _safe(lambda: c.bit_rate) or None

    if start_s is None:
        starts = [s.start_time_s for s in streams if s.start_time_s is not None]
        start_s = min(starts) if starts else 0.0

    info = MediaInfo(
        path=p,
        size_bytes=size,
        format_name=fmt_name,
        format_long_name=fmt_long,
        start_time_s=round(start_s, 6),
        bit_rate=bit_rate,
        tags=tags,
        streams=streams,
    )
    if info.is_still_image:
        img = streams[0].codec if streams else None
        what = _IMAGE_NAMES.get(img or "", (img or "unknown").upper())
        raise UnsupportedFormatError(
            p,
            f"content is a {what} image ({fmt_name}), not a video or audio file",
            format_name=fmt_name,
            codec=img,
        )
    if not info.has_video and not info.has_audio:
        raise UnsupportedFormatError(
            p,
            f"content is {fmt_long or fmt_name} ({fmt_name}) with neither a video nor an audio stream "
            f"({_describe_streams(streams)})",
            format_name=fmt_name,
        )

    duration, source = container_duration, "container"
    if duration is None or duration <= 0:
        stream_durations = [
            s.duration_s for s in streams if s.duration_s and s.kind in ("video", "audio") and not s.attached_pic
        ]
        if stream_durations:
            duration, source = max(stream_durations), "stream"
        else:
            spans = scan_packets(p)
            ends = [end for _, end in spans.values()]
            duration, source = (max(0.0, max(ends) - start_s) if ends else None), "packets"
            streams = [
                s.model_copy(update={"duration_s": _round(spans[s.index][1] - spans[s.index][0])})
                if s.duration_s is None and s.index in spans
                else s
                for s in streams
            ]
    declared = wav_declared_duration(p) if "wav" in fmt_name.split(",") else None
    info = info.model_copy(
        update={
            "duration_s": _round(duration),
            "duration_source": source if duration is not None else None,
            "declared_duration_s": _round(declared),
            "streams": streams,
        }
    )
    limits.check_duration(p, duration)
    return info
