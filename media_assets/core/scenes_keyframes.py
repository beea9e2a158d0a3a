"""The single visual pass: one decode of the video yields scenes, transitions and keyframes.

How it stays fast without losing frame accuracy:
- frames are never converted to RGB; detection works on a coarse grid of the decoder's own planes
  (see ``frames.py``), and only chosen keyframes are converted, once, at their output size;
- for H.264/HEVC only reference frames are decoded, plus the unreferenced frames that sit just before an
  unusually large reference packet (a new shot cannot be predicted from the old one, so its first reference
  frame is large): cuts stay frame-exact while roughly half the frames are never decoded;
- detection runs online with a lookahead of a few frames, so memory does not grow with duration: per frame
  only a handful of numbers are kept, and at most a few decoded frames are held at any time.
"""

from __future__ import annotations

import bisect
import hashlib
import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream
from PIL import Image, ImageDraw

from media_assets.core.bitstream import nonref_test_for
from media_assets.core.errors import CorruptedMediaError, NoVideoStreamError
from media_assets.core.frames import (
    FrameFeatures,
    content_delta,
    dhash,
    frame_features,
    grid_step,
    hamming,
)
from media_assets.core.scenes_keyframes_models import (
    DecodeReport,
    Keyframe,
    Sample,
    Scene,
    Transition,
    VideoTimeline,
    VisualParams,
    VisualResult,
)

MAX_ERROR_MESSAGES = 20


@dataclass(slots=True)
class _Candidate:
    """Sharpest frame seen so far in the current keyframe window."""

    sharpness: float
    pos: int  # decoded-frame position
    frame: av.VideoFrame


@dataclass(slots=True)
class _Window:
    start_pts: float
    best: _Candidate | None = None


@dataclass
class _Emitted:
    pos: int
    sharpness: float
    hash: int
    colours: np.ndarray  # mean RGB over a 4x4 grid (dHash sees only luminance gradients)
    duplicate_of: int | None
    image: str | None
    width: int
    height: int
    thumbnails: dict[str, str] = field(default_factory=dict)


class VisualPass:
    """Online detector and keyframe selector fed one decoded frame at a time."""

    def __init__(self, params: VisualParams, out_dir: Path | None, rotation: int | None, origin_s: float) -> None:
        self.p = params
        self.out_dir = out_dir
        self.rotation = rotation
        self.origin_s = origin_s
        self.pts: list[float] = []  # seconds, per decoded frame (decoded order = presentation order)
        self.scores: list[float] = []
        self.luma: list[float] = []
        self.sharp: list[float] = []
        self.frames: dict[int, av.VideoFrame] = {}
        self.features_prev: FrameFeatures | None = None
        self.cuts: list[int] = []  # decoded positions starting a new shot
        self.cut_scores: dict[int, float] = {}
        self.window: _Window | None = None
        self.emitted: list[_Emitted] = []
        self.dark = False
        self.processed = 0
        self.step: int | None = None
        self.frame_size = (0, 0)
        self.interval_s = params.keyframe_interval_s
        self.sample_period = 1.0 / params.sample_fps if params.sample_fps else None
        self.next_sample_t = 0.0  # media time of the next sampling tick
        self.sampled: list[tuple[int, str | None, int, int, int | None]] = []  # pos, image, w, h, duplicate_of
        self.sample_digests: dict[bytes, int] = {}  # pixels of a written sample -> its index

    # -- feeding -------------------------------------------------------------------------------------
    def push(self, frame: av.VideoFrame, pts_s: float) -> None:
        if self.step is None:
            self.step = grid_step(frame.width, self.p.analysis_width)
            self.frame_size = (frame.width, frame.height)
            if self.rotation is None:
                self.rotation = round((getattr(frame, "rotation", 0) or 0) / 90.0) % 4 * 90
        feats = frame_features(frame, self.step)
        if self.features_prev is None:
            score = 0.0
        else:
            dh, ds, dv = content_delta(self.features_prev, feats)
            score = (dh + ds + dv) / 3.0
        self.features_prev = feats
        pos = len(self.pts)
        self.pts.append(pts_s)
        self.scores.append(score)
        self.luma.append(feats.luma)
        self.sharp.append(feats.sharpness)
        self.frames[pos] = frame
        if self.sample_period is not None:
            self._maybe_sample(frame, pos, pts_s - self.origin_s)
        w = self.p.adaptive_window
        while self.processed <= pos - w:
            self._process(self.processed)
            self.processed += 1

    def finish(self) -> None:
        while self.processed < len(self.pts):
            self._process(self.processed)
            self.processed += 1
        self._close_window()

    def _maybe_sample(self, frame: av.VideoFrame, pos: int, t: float) -> None:
        period = self.sample_period
        assert period is not None
        # half a millisecond of slack so a frame at exactly k/fps is not lost to rounding
        if t + 5e-4 < self.next_sample_t or len(self.sampled) >= self.p.max_samples:
            return
        while self.next_sample_t <= t + 5e-4:
            self.next_sample_t += period
        idx = len(self.sampled)
        img = self._image(frame, self.p.sample_max_side)
        # A static slide or screen decodes to exactly the same pixels tick after tick: such a sample points at
        # the first one (no second JPEG, and the models see it once). Exact equality only, so the smallest
        # change (a counter, a cursor, a typed character) still gets its own image.
        digest = hashlib.blake2b(img.tobytes(), digest_size=16).digest()
        dup = self.sample_digests.get(digest)
        rel = None
        if dup is None:
            self.sample_digests[digest] = idx
            if self.out_dir is not None:
                rel = f"samples/{idx:05d}.jpg"
                (self.out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                img.save(self.out_dir / rel, quality=self.p.jpeg_quality)
        self.sampled.append((pos, rel, img.width, img.height, dup))

    def _image(self, frame: av.VideoFrame, max_side: int) -> Image.Image:
        """RGB image scaled inside the decoder's reformat (cheap), rotation applied."""
        w, h = frame.width, frame.height
        scale = min(1.0, max_side / max(w, h))
        tw, th = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
        img = frame.to_image(width=tw, height=th)
        if self.rotation:  # counterclockwise, as FFmpeg's display matrix
            img = img.rotate(self.rotation, expand=True)
        return img

    # -- online decisions ----------------------------------------------------------------------------
    def _is_cut(self, pos: int) -> bool:
        if pos == 0:
            return False
        s = self.scores[pos]
        if s < self.p.min_content:
            return False
        w = self.p.adaptive_window
        neigh = [self.scores[i] for i in range(max(1, pos - w), min(len(self.scores), pos + w + 1)) if i != pos]
        avg = sum(neigh) / len(neigh) if neigh else 0.0
        ratio = s / max(avg, 1e-3)
        if ratio >= self.p.adaptive_ratio or (s >= self.p.content_threshold and ratio >= 1.5):
            last = self.cuts[-1] if self.cuts else 0
            return not (self.pts[pos] - self.pts[last] < self.p.min_scene_len_s and self.cuts)
        return False

    def _process(self, pos: int) -> None:
        new_segment = False
        if self._is_cut(pos):
            self.cuts.append(pos)
            self.cut_scores[pos] = self.scores[pos]
            new_segment = True
        lum = self.luma[pos]
        if self.dark and lum > self.p.black_threshold + self.p.black_hysteresis:
            self.dark = False
            new_segment = True
        elif not self.dark and lum < self.p.black_threshold:
            self.dark = True
            new_segment = True
        if new_segment and pos > 0:  # a keyframe window never spans a cut or a change to/from black
            self._close_window()
        if self.window is not None and self.pts[pos] - self.window.start_pts >= self.interval_s:
            self._close_window()
        if self.window is None:
            self.window = _Window(start_pts=self.pts[pos])
        frame = self.frames.pop(pos)
        sharp = self.sharp[pos] if lum >= self.p.black_threshold else self.sharp[pos] * 1e-3
        best = self.window.best
        if best is None or sharp > best.sharpness:
            self.window.best = _Candidate(sharp, pos, frame)
        # frames no longer needed are released as they leave the lookahead

    def _close_window(self) -> None:
        win, self.window = self.window, None
        if win is None or win.best is None:
            return
        if len(self.emitted) >= self.p.max_keyframes:
            return
        self._emit(win.best)

    def _emit(self, cand: _Candidate) -> None:
        img = self._image(cand.frame, self.p.keyframe_max_side)
        small = np.asarray(img.convert("L").resize((64, 64), Image.Resampling.BILINEAR))
        hsh = dhash(small)
        colours = np.asarray(img.convert("RGB").resize((4, 4), Image.Resampling.BOX), dtype=np.float32)
        dup = self._duplicate_of(hsh, colours)
        idx = len(self.emitted)
        image_rel = None
        thumbs: dict[str, str] = {}
        if dup is None and self.out_dir is not None:
            image_rel, thumbs = self._write_keyframe(self.out_dir, idx, img)
        self.emitted.append(
            _Emitted(cand.pos, cand.sharpness, hsh, colours, dup, image_rel, img.width, img.height, thumbs)
        )

    def _duplicate_of(self, hsh: int, colours: np.ndarray) -> int | None:
        """The first original keyframe whose dHash is within ``dedup_hamming`` bits of ``hsh`` and whose colours
        are within ``dedup_max_colour_diff`` of ``colours``, if any (the same slide in red and in blue is two)."""
        for i, e in enumerate(self.emitted):
            if (
                e.duplicate_of is None
                and hamming(hsh, e.hash) <= self.p.dedup_hamming
                and float(np.abs(colours - e.colours).mean()) <= self.p.dedup_max_colour_diff
            ):
                return i
        return None

    def _write_keyframe(self, out_dir: Path, idx: int, img: Image.Image) -> tuple[str, dict[str, str]]:
        """Save keyframe ``idx`` and its thumbnails; return their paths relative to ``out_dir``."""
        p = self.p
        image_rel = f"keyframes/{idx:05d}.jpg"
        path = out_dir / image_rel
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, quality=p.jpeg_quality)
        thumbs: dict[str, str] = {}
        for size in p.thumbnail_sizes:
            t = img.copy()
            t.thumbnail((size, size), Image.Resampling.BILINEAR)
            rel = f"keyframes/thumbs/{size}/{idx:05d}.jpg"
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            t.save(out_dir / rel, quality=85)
            thumbs[str(size)] = rel
        return image_rel, thumbs


def _frame_index(pos_pts: list[float], all_pts: list[float] | None, pos: int) -> int:
    if all_pts is None:
        return pos
    return bisect.bisect_left(all_pts, pos_pts[pos] - 1e-6)


_RAMP_EPS = 0.25  # mean-luma step that still counts as part of a fade ramp


def _dark_runs(pts: list[float], dark: np.ndarray, min_black_s: float) -> list[tuple[int, int]]:
    """Runs of consecutive dark positions (first, last) lasting at least ``min_black_s``."""
    n = len(dark)
    runs: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if dark[i]:
            j = i
            while j + 1 < n and dark[j + 1]:
                j += 1
            if pts[j] - pts[i] >= min_black_s:
                runs.append((i, j))
            i = j + 1
        else:
            i += 1
    return runs


def _into_dark(lum: np.ndarray, dark: np.ndarray, a: int, index_of, time_of) -> Transition:
    """Entering the dark run that starts at ``a``: walk back along the falling ramp (a fade out, else a cut)."""
    k = a - 1
    while k - 1 >= 0 and lum[k - 1] > lum[k] + _RAMP_EPS and not dark[k - 1]:
        k -= 1
    if k < a - 1:
        return Transition(
            kind="fade_out",
            frame=index_of(k),
            end_frame=index_of(a - 1),
            time_s=time_of(k),
            end_time_s=time_of(a - 1),
            black="to",
        )
    return Transition(
        kind="cut",
        frame=index_of(a),
        end_frame=index_of(a),
        time_s=time_of(a),
        end_time_s=time_of(a),
        black="to",
        exact=index_of(a) - index_of(a - 1) == 1,
    )


def _out_of_dark(lum: np.ndarray, b: int, index_of, time_of) -> Transition:
    """Leaving the dark run that ends at ``b``: walk forward along the rising ramp (a fade in, else a cut)."""
    n = len(lum)
    k = b + 1
    while k + 1 < n and lum[k + 1] > lum[k] + _RAMP_EPS:
        k += 1
    if k > b + 1:
        return Transition(
            kind="fade_in",
            frame=index_of(b + 1),
            end_frame=index_of(k),
            time_s=time_of(b + 1),
            end_time_s=time_of(k),
            black="from",
        )
    return Transition(
        kind="cut",
        frame=index_of(b + 1),
        end_frame=index_of(b + 1),
        time_s=time_of(b + 1),
        end_time_s=time_of(b + 1),
        black="from",
        exact=index_of(b + 1) - index_of(b) == 1,
    )


def _fades(vp: VisualPass, index_of, time_of, p: VisualParams) -> tuple[list[Transition], list[tuple[int, int]]]:
    """Fade-in/out ramps and dark runs (threshold method on mean luma), in decoded positions."""
    lum = np.asarray(vp.luma)
    n = len(lum)
    dark = lum < p.black_threshold
    runs = _dark_runs(vp.pts, dark, p.min_black_s)
    transitions: list[Transition] = []
    for a, b in runs:
        if a > 0:
            transitions.append(_into_dark(lum, dark, a, index_of, time_of))
        if b < n - 1:
            transitions.append(_out_of_dark(lum, b, index_of, time_of))
    return transitions, runs


class _PacketDecoder:
    """The decode loop: demuxes the video stream, decides which packets to decode, feeds frames to a VisualPass.

    On the way it records every packet's PTS (to number the frames it left undecoded), where the stream ends,
    and the decode errors.
    """

    def __init__(
        self, vs: VideoStream, vp: VisualPass, p: VisualParams, *, mode: str, fps: float, tb: Fraction, origin_s: float
    ) -> None:
        self.vs = vs
        self.cctx = vs.codec_context
        self.vp = vp
        self.p = p
        self.mode = mode
        self.fps = fps
        self.tb = tb
        self.origin_s = origin_s
        # sampling at more than a third of the frame rate needs every frame: unreferenced ones included
        dense_sampling = bool(p.sample_fps) and p.sample_fps * 3 > fps
        use_nonref = p.skip_nonref and mode == "exact" and not dense_sampling
        self.nonref = nonref_test_for(self.cctx.name, self.cctx.extradata) if use_nonref else None
        self.all_pts: list[int] | None = []
        self.end_pts: int | None = None
        self.skipped = 0
        self.errors = 0
        self.messages: list[str] = []
        self.big_refs: deque[int] = deque(maxlen=16)
        self.ref_sizes: deque[int] = deque(maxlen=4)
        self.nonref_sizes: deque[int] = deque(maxlen=8)
        self.frame_dur = round(1 / (fps * tb)) if fps and tb else 1
        self.window = 8 * max(self.frame_dur, 1)
        self.frame_s = 1.0 / fps

    def run(self, container: InputContainer) -> None:
        """Decode what is needed of the whole stream, flush the decoder and finish the visual pass."""
        try:
            for packet in container.demux(self.vs):
                if self._wanted(packet):
                    self._decode(packet)
        except av.FFmpegError as exc:  # demuxer gave up (truncated file): keep what was decoded
            self._error(f"demux stopped: {exc}")
        self._decode(None)
        self.vp.finish()

    def _error(self, message: str) -> None:
        self.errors += 1
        if len(self.messages) < MAX_ERROR_MESSAGES:
            self.messages.append(message)

    def _wanted(self, packet: av.Packet) -> bool:
        """Record the packet's timestamps and say whether it must be decoded."""
        if packet.size == 0:
            # AVI marks a repeated frame with an empty packet: it counts as a frame, decodes to nothing
            if packet.pts is not None and self.all_pts is not None and packet.stream is self.vs:
                self.all_pts.append(packet.pts)
            return False
        pts = packet.pts
        if self.all_pts is not None:
            if pts is None:
                self.all_pts = None
                self.nonref = None  # cannot place skipped frames without timestamps
            else:
                self.all_pts.append(pts)
        if pts is not None:
            e = pts + (packet.duration or self.frame_dur)
            self.end_pts = e if self.end_pts is None else max(self.end_pts, e)
        if self.mode == "keyframes" and not packet.is_keyframe:
            self.skipped += 1
            return False
        if self.nonref is not None and pts is not None and self._skippable(packet, pts):
            self.skipped += 1
            return False
        return True

    def _skippable(self, packet: av.Packet, pts: int) -> bool:
        """Whether an unreferenced frame can be left undecoded (reference frames never are).

        A new shot cannot be predicted from the old one, so its first reference frame is a spike in packet
        size against the last few reference frames (a gradual rise, as in a fade or a camera move, is not).
        The unreferenced frames displayed just before such a spike are decoded; elsewhere they are skipped.
        """
        assert self.nonref is not None
        size = packet.size
        p = self.p
        if self.nonref(memoryview(packet)):
            near_big = any(pts < b <= pts + self.window for b in self.big_refs)
            spike = len(self.nonref_sizes) >= 4 and size > 2 * p.big_packet_factor * max(self.nonref_sizes)
            self.nonref_sizes.append(size)
            return not near_big and not spike and not self._on_tick(pts)
        if packet.is_keyframe or (len(self.ref_sizes) >= 2 and size > p.big_packet_factor * max(self.ref_sizes)):
            self.big_refs.append(pts)
        if not packet.is_keyframe:
            self.ref_sizes.append(size)
        return False

    def _on_tick(self, pts: int) -> bool:
        """Whether this frame is the first one at or after a sampling tick (so it must be decoded)."""
        p = self.p
        if not p.sample_fps:
            return False
        t = float(pts * self.tb) - self.origin_s + 5e-4
        k = int(t * p.sample_fps)
        return t - k / p.sample_fps < self.frame_s

    def _decode(self, packet: av.Packet | None) -> None:
        try:
            frames = self.cctx.decode(packet)
        except (av.FFmpegError, OSError) as exc:
            self._error(str(exc))
            return
        for frame in frames:
            fpts = frame.pts
            if fpts is None:
                fpts = frame.dts
            t = float(fpts * self.tb) if fpts is not None else len(self.vp.pts) / self.fps
            self.vp.push(frame, t)


class _VideoAnalysis:
    """One ``analyze_video`` call: open and probe, decode once, then scenes, keyframes, samples and the report."""

    # set by _probe, from the stream's headers (origin_s too, when the caller gave none)
    tb: Fraction
    codec: str
    fps: float
    duration_hint: float
    vs_frames: int
    vs_start: float
    mode: str
    interval_s: float
    # set by run and _place_frames
    vp: VisualPass
    decoder: _PacketDecoder
    all_pts_s: list[float] | None
    total_frames: int
    video_end: float

    def __init__(
        self,
        path: str | Path,
        out: Path | None,
        p: VisualParams,
        *,
        rotation: int | None,
        origin_s: float | None,
        expected_frames: int | None,
    ) -> None:
        self.path = path
        self.out = out
        self.p = p
        self.rotation = rotation
        self.origin_s = origin_s
        self.expected_frames = expected_frames
        self.started = time.perf_counter()

    def run(self) -> VisualResult:
        container = self._open()
        with container:
            vs = self._probe(container)
            self.vp = VisualPass(self.p, self.out, self.rotation, self.origin_s)
            self.vp.interval_s = self.interval_s
            self.decoder = _PacketDecoder(
                vs, self.vp, self.p, mode=self.mode, fps=self.fps, tb=self.tb, origin_s=self.origin_s
            )
            self.decoder.run(container)
        if not self.vp.pts:
            raise CorruptedMediaError(
                str(self.path), "no video frame could be decoded", errors=self.decoder.messages[:5]
            )
        self._place_frames()
        transitions, dark_runs = self._transitions()
        starts = self._scene_starts(dark_runs)
        scenes = self._scenes(starts, dark_runs)
        keyframes = self._keyframes(starts, scenes)
        samples = self._samples()
        contact = None
        if self.out is not None and keyframes:
            contact = _contact_sheet(self.out, keyframes, self.p)
        return VisualResult(
            video=self._video_timeline(),
            scenes=scenes,
            transitions=transitions,
            keyframes=keyframes,
            contact_sheet=contact,
            samples=samples,
            decode=self._decode_report(),
            params=self.p,
        )

    # -- open and probe ------------------------------------------------------------------------------
    def _open(self) -> InputContainer:
        try:
            return av.open(str(self.path), metadata_errors="ignore")
        except av.FFmpegError as exc:
            raise CorruptedMediaError(str(self.path), f"cannot open: {exc}") from exc

    def _probe(self, container: InputContainer) -> VideoStream:
        """Pick and set up the video stream; read its rate, start and duration; choose mode and interval."""
        p = self.p
        if not container.streams.video:
            raise NoVideoStreamError(str(self.path), "no video stream")
        vs = next(
            (s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)),
            container.streams.video[0],
        )
        vs.thread_type = "AUTO"
        if not p.deblock and vs.codec_context.name in ("h264", "hevc"):
            # other decoders take the option too, but VP8 without its loop filter showed a false cut
            vs.codec_context.options = {"skip_loop_filter": "all"}
        tb = vs.time_base or Fraction(1, 1000)
        self.tb = tb
        self.codec = vs.codec_context.name
        self.fps = float(vs.average_rate or vs.guessed_rate or 0) or 25.0
        if self.origin_s is None:
            self.origin_s = container.start_time / 1_000_000 if container.start_time is not None else 0.0
        self.duration_hint = float(vs.duration * tb) if vs.duration else (container.duration or 0) / 1_000_000
        self.vs_frames = int(vs.frames or 0)
        self.vs_start = float(vs.start_time * tb) if vs.start_time is not None else self.origin_s
        self.mode = p.mode
        if p.mode == "exact" and p.keyframes_mode_over_s is not None and self.duration_hint > p.keyframes_mode_over_s:
            self.mode = "keyframes"
        if self.duration_hint > 0 and p.max_keyframes > 0:
            self.interval_s = max(p.keyframe_interval_s, self.duration_hint / p.max_keyframes)
        else:
            self.interval_s = p.keyframe_interval_s
        return vs

    # -- frame numbering -----------------------------------------------------------------------------
    def _place_frames(self) -> None:
        """Presentation times of all frames (decoded or not), the frame count and where the video ends."""
        vp, d = self.vp, self.decoder
        all_pts_s = (
            sorted(float(x * self.tb) for x in d.all_pts) if d.all_pts is not None and self.mode == "exact" else None
        )
        if all_pts_s is not None and len(all_pts_s) < len(vp.pts):
            all_pts_s = None
        self.all_pts_s = all_pts_s
        if all_pts_s is not None:
            self.total_frames = len(all_pts_s)
        else:
            self.total_frames = len(vp.pts) + (d.skipped if self.mode == "exact" else 0)
        video_end = float(d.end_pts * self.tb) if d.end_pts is not None else vp.pts[-1] + 1.0 / self.fps
        self.video_end = max(video_end, vp.pts[-1] + 1e-3)

    def _index_of(self, pos: int) -> int:
        return _frame_index(self.vp.pts, self.all_pts_s, pos)

    def _time_of(self, pos: int) -> float:
        return round(self.vp.pts[pos] - self.origin_s, 6)

    # -- transitions and scenes ----------------------------------------------------------------------
    def _transitions(self) -> tuple[list[Transition], list[tuple[int, int]]]:
        """Content cuts plus fades and hard cuts to/from black, in frame order; also the dark runs."""
        vp, index_of, time_of = self.vp, self._index_of, self._time_of
        fade_transitions, dark_runs = _fades(vp, index_of, time_of, self.p)
        transitions: list[Transition] = []
        black_cut_frames = {t.frame for t in fade_transitions if t.kind == "cut"}
        for pos in vp.cuts:
            f = index_of(pos)
            if any(abs(f - b) <= 1 for b in black_cut_frames):
                continue
            exact = pos == 0 or index_of(pos) - index_of(pos - 1) == 1
            transitions.append(
                Transition(
                    kind="cut",
                    frame=f,
                    end_frame=f,
                    time_s=time_of(pos),
                    end_time_s=time_of(pos),
                    score=round(vp.cut_scores[pos], 3),
                    exact=exact,
                )
            )
        for t in fade_transitions:
            if t.kind == "cut":
                match = [pos for pos in vp.cuts if abs(index_of(pos) - t.frame) <= 1]
                if match:
                    t.score = round(vp.cut_scores[match[0]], 3)
            transitions.append(t)
        transitions.sort(key=lambda t: (t.frame, t.kind))
        return transitions, dark_runs

    def _scene_starts(self, dark_runs: list[tuple[int, int]]) -> list[int]:
        """Scene boundaries (decoded positions): content cuts and the edges of dark runs."""
        bounds = set(self.vp.cuts)
        for a, b in dark_runs:
            if a > 0:
                bounds.add(a)
            if b + 1 < len(self.vp.pts):
                bounds.add(b + 1)
        return sorted({0, *bounds})

    def _scenes(self, starts: list[int], dark_runs: list[tuple[int, int]]) -> list[Scene]:
        vp, index_of, time_of = self.vp, self._index_of, self._time_of
        dark_pos = np.zeros(len(vp.pts), dtype=bool)
        for a, b in dark_runs:
            dark_pos[a : b + 1] = True
        scenes: list[Scene] = []
        for si, s in enumerate(starts):
            last = si + 1 >= len(starts)
            e = len(vp.pts) - 1 if last else starts[si + 1] - 1
            start_frame = 0 if si == 0 else index_of(s)
            end_frame = self.total_frames - 1 if last else index_of(starts[si + 1]) - 1
            start_t = time_of(s)
            end_t = round(self.video_end - self.origin_s, 6) if last else time_of(starts[si + 1])
            seg_lum = float(np.mean(vp.luma[s : e + 1]))
            kind = "black" if bool(dark_pos[s : e + 1].all()) else "shot"
            scenes.append(
                Scene(
                    index=si,
                    kind=kind,
                    start_frame=start_frame,
                    end_frame=max(start_frame, end_frame),
                    start_s=start_t,
                    end_s=end_t,
                    duration_s=round(end_t - start_t, 6),
                    start_pts_s=round(vp.pts[s], 6),
                    mean_luma=round(seg_lum, 2),
                )
            )
        return scenes

    # -- keyframes and samples -----------------------------------------------------------------------
    def _keyframes(self, starts: list[int], scenes: list[Scene]) -> list[Keyframe]:
        """The emitted keyframes, each assigned to its scene; the sharpest of each scene is its ``scene_best``."""
        vp = self.vp
        keyframes: list[Keyframe] = []
        for ki, e in enumerate(vp.emitted):
            keyframes.append(
                Keyframe(
                    index=ki,
                    scene_index=bisect.bisect_right(starts, e.pos) - 1,
                    frame=self._index_of(e.pos),
                    time_s=self._time_of(e.pos),
                    pts_s=round(vp.pts[e.pos], 6),
                    reason="interval",
                    sharpness=round(e.sharpness, 3),
                    dhash=f"{e.hash:016x}",
                    duplicate_of=e.duplicate_of,
                    image=e.image,
                    width=e.width,
                    height=e.height,
                    thumbnails=e.thumbnails,
                )
            )
        for sc in scenes:
            mine = [k for k in keyframes if k.scene_index == sc.index]
            sc.keyframes = [k.index for k in mine]
            if mine:
                max(mine, key=lambda k: k.sharpness).reason = "scene_best"
        return keyframes

    def _samples(self) -> list[Sample]:
        return [
            Sample(
                index=i,
                frame=self._index_of(pos),
                time_s=self._time_of(pos),
                pts_s=round(self.vp.pts[pos], 6),
                image=rel,
                width=w,
                height=h,
                duplicate_of=dup,
            )
            for i, (pos, rel, w, h, dup) in enumerate(self.vp.sampled)
        ]

    # -- report --------------------------------------------------------------------------------------
    def _video_timeline(self) -> VideoTimeline:
        width, height = self.vp.frame_size
        rot = self.vp.rotation or 0
        disp_w, disp_h = (height, width) if rot in (90, 270) else (width, height)
        return VideoTimeline(
            width=width,
            height=height,
            display_width=disp_w,
            display_height=disp_h,
            rotation=rot,
            fps=round(self.fps, 6),
            start_pts_s=round(self.vp.pts[0], 6),
            origin_s=round(self.origin_s, 6),
            duration_s=round(self.video_end - self.origin_s, 6),
        )

    def _decode_report(self) -> DecodeReport:
        # Loss is measured on the time axis: the header's duration against what actually decoded (frame
        # counts in headers are unreliable for VFR and AVI files with repeated frames).
        d = self.decoder
        lost_s = 0.0
        if self.duration_hint > 0:
            header_end = self.vs_start + self.duration_hint
            lost_s = max(0.0, header_end - self.video_end)
            if lost_s < 1.5 / self.fps:
                lost_s = 0.0
        lost_fraction = round(min(1.0, lost_s / self.duration_hint), 4) if self.duration_hint > 0 else 0.0
        return DecodeReport(
            mode=self.mode,
            codec=self.codec,
            frames_total=self.total_frames,
            frames_decoded=len(self.vp.pts),
            frames_skipped=d.skipped,
            decode_errors=d.errors,
            error_messages=d.messages,
            expected_frames=self.expected_frames or (self.vs_frames or None),
            lost_frames=round(lost_s * self.fps),
            lost_s=round(lost_s, 3),
            lost_fraction=lost_fraction,
            elapsed_s=round(time.perf_counter() - self.started, 3),
        )


def analyze_video(
    path: str | Path,
    out_dir: str | Path | None = None,
    params: VisualParams | None = None,
    *,
    rotation: int | None = None,
    origin_s: float | None = None,
    expected_frames: int | None = None,
) -> VisualResult:
    """Decode ``path`` once and return its scenes, transitions and keyframes.

    Keyframe images, thumbnails and a contact sheet are written under ``out_dir`` (a staging folder the
    caller publishes); with ``out_dir=None`` nothing is written.
    """
    out = Path(out_dir) if out_dir is not None else None
    analysis = _VideoAnalysis(
        path, out, params or VisualParams(), rotation=rotation, origin_s=origin_s, expected_frames=expected_frames
    )
    return analysis.run()


def _contact_sheet(out: Path, keyframes: list[Keyframe], p: VisualParams) -> str:
    """A grid of keyframe thumbnails with their times, shown as the keyframes preview in the UI."""
    shown = [k for k in keyframes if k.image is not None]
    if len(shown) > p.contact_sheet_max_tiles:
        idx = np.linspace(0, len(shown) - 1, p.contact_sheet_max_tiles).round().astype(int)
        shown = [shown[i] for i in sorted(set(idx.tolist()))]
    tw = p.contact_sheet_tile_width
    tiles = []
    for k in shown:
        src = out / (next(iter(k.thumbnails.values())) if k.thumbnails else k.image)
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((tw, tw), Image.Resampling.BILINEAR)
            tiles.append((k, im.copy()))
    th = max(im.height for _, im in tiles) + 18
    cols = min(p.contact_sheet_columns, len(tiles))
    rows = -(-len(tiles) // cols)
    sheet = Image.new("RGB", (cols * (tw + 4) + 4, rows * (th + 4) + 4), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for i, (k, im) in enumerate(tiles):
        x = 4 + (i % cols) * (tw + 4)
        y = 4 + (i // cols) * (th + 4)
        sheet.paste(im, (x + (tw - im.width) // 2, y))
        m, s = divmod(k.time_s, 60)
        draw.text((x + 2, y + th - 16), f"#{k.index} s{k.scene_index} {int(m):02d}:{s:05.2f}", fill=(230, 230, 230))
    rel = "keyframes/contact_sheet.jpg"
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out / rel, quality=85)
    return rel
