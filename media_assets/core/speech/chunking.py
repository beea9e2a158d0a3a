"""Streamed voice activity detection and the plan that cuts long audio into decodable pieces.

The WAV is never loaded whole: Silero VAD (faster-whisper's bundled ONNX export, without importing the
``silero_vad`` package, which would call ``torch.set_num_threads(1)`` for the whole process) runs over blocks
read from disk, carrying its recurrent state and 64-sample context across blocks, so one hour of audio costs a
few hundred kB of speech probabilities (one float per 32 ms frame).

The plan has three levels, all in samples of the 16 kHz WAV:

* ``regions``: speech found by the VAD (padded, split at a pause when longer than ``window_s``);
* ``windows``: neighbouring regions merged while they fit in one Whisper input (``window_s``, 30 s) and the pause
  between them is short; each window is one encoder pass;
* ``chunks``: consecutive windows grouped into pieces of about ``chunk_s`` (15 min), cut only between windows,
  i.e. in silence. Chunks are independent units of work that may run in parallel; every time computed in a chunk
  is shifted by the chunk's exact sample offset.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000
VAD_FRAME = 512  # samples per Silero frame (32 ms)
VAD_CONTEXT = 64
VAD_BLOCK_FRAMES = 4096  # ~131 s of audio per ONNX call


@dataclass(frozen=True)
class VadParams:
    """Silero VAD settings (see faster_whisper.vad.VadOptions for their meaning)."""

    threshold: float = 0.5
    neg_threshold: float | None = None
    min_speech_ms: int = 250
    min_silence_ms: int = 500
    speech_pad_ms: int = 400
    max_speech_s: float = 30.0


@dataclass(frozen=True)
class Span:
    start: int  # first sample
    end: int  # one past the last sample

    @property
    def samples(self) -> int:
        return self.end - self.start


@dataclass
class Chunk:
    """Consecutive windows decoded as one unit; ``start`` is the exact sample offset of its audio."""

    index: int
    start: int
    end: int
    windows: list[Span] = field(default_factory=list)


@dataclass
class VadResult:
    probs: np.ndarray  # speech probability per VAD_FRAME samples
    regions: list[Span]
    total_samples: int

    def speech_samples(self) -> int:
        return sum(r.samples for r in self.regions)

    def mean_prob(self, start: int, end: int) -> float:
        """Mean speech probability over samples ``[start, end)``."""
        a = max(0, start // VAD_FRAME)
        b = max(a + 1, -(-end // VAD_FRAME))
        seg = self.probs[a:b]
        return float(seg.mean()) if seg.size else 0.0

    def coverage(self, start: int, end: int) -> float:
        """Fraction of ``[start, end)`` covered by speech regions."""
        if end <= start:
            return 0.0
        covered = sum(max(0, min(end, r.end) - max(start, r.start)) for r in self.regions)
        return covered / (end - start)


def wav_frames(path: str | os.PathLike[str]) -> int:
    return sf.info(os.fspath(path)).frames


def read_span(path: str | os.PathLike[str], start: int, end: int) -> np.ndarray:
    """Float32 mono samples ``[start, end)`` of a WAV (only that range is read)."""
    with sf.SoundFile(os.fspath(path)) as fh:
        if fh.samplerate != SAMPLE_RATE:
            raise ValueError(f"{path}: expected {SAMPLE_RATE} Hz, got {fh.samplerate}")
        fh.seek(start)
        data = fh.read(end - start, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.mean(axis=1) if data.shape[1] > 1 else data[:, 0])


@functools.lru_cache(maxsize=1)
def _vad_session():
    """Faster-whisper's bundled Silero v6 ONNX model (one session per process, single-threaded)."""
    import onnxruntime
    from faster_whisper.utils import get_assets_path

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 4
    path = Path(get_assets_path()) / "silero_vad_v6.onnx"
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"], sess_options=opts)


def speech_probabilities(path: str | os.PathLike[str], block_frames: int = VAD_BLOCK_FRAMES) -> tuple[np.ndarray, int]:
    """Silero speech probability of every 512-sample frame of a 16 kHz WAV, streamed block by block."""
    session = _vad_session()
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    carry = np.zeros(VAD_CONTEXT, dtype=np.float32)
    out: list[np.ndarray] = []
    total = 0
    with sf.SoundFile(os.fspath(path)) as fh:
        if fh.samplerate != SAMPLE_RATE:
            raise ValueError(f"{path}: expected {SAMPLE_RATE} Hz, got {fh.samplerate}")
        while True:
            block = fh.read(block_frames * VAD_FRAME, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            total += mono.shape[0]
            pad = (-mono.shape[0]) % VAD_FRAME
            if pad:
                mono = np.pad(mono, (0, pad))
            frames = mono.reshape(-1, VAD_FRAME)
            context = np.empty((frames.shape[0], VAD_CONTEXT), dtype=np.float32)
            context[0] = carry
            context[1:] = frames[:-1, -VAD_CONTEXT:]
            carry = frames[-1, -VAD_CONTEXT:].copy()
            probs, h, c = session.run(None, {"input": np.concatenate([context, frames], axis=1), "h": h, "c": c})
            out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
    probs = np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
    return probs, total


def speech_regions(probs: np.ndarray, total: int, params: VadParams) -> list[Span]:
    """Speech regions from per-frame probabilities: the same hysteresis, minimum durations, splitting of long
    speech at the last pause and padding as ``faster_whisper.vad.get_speech_timestamps``."""
    sr = SAMPLE_RATE
    w = VAD_FRAME
    threshold = params.threshold
    neg = params.neg_threshold if params.neg_threshold is not None else max(threshold - 0.15, 0.01)
    min_speech = sr * params.min_speech_ms / 1000
    pad = sr * params.speech_pad_ms / 1000
    max_speech = sr * params.max_speech_s - w - 2 * pad
    min_silence = sr * params.min_silence_ms / 1000
    min_silence_at_max = sr * 98 / 1000

    triggered = False
    speeches: list[dict[str, int]] = []
    cur: dict[str, int] = {}
    temp_end = prev_end = next_start = 0
    for i, p in enumerate(probs.tolist()):
        pos = w * i
        if p >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = pos
        if p >= threshold and not triggered:
            triggered = True
            cur["start"] = pos
            continue
        if triggered and pos - cur["start"] > max_speech:
            if prev_end:
                cur["end"] = prev_end
                speeches.append(cur)
                cur = {}
                if next_start < prev_end:
                    triggered = False
                else:
                    cur["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                cur["end"] = pos
                speeches.append(cur)
                cur = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if p < neg and triggered:
            if not temp_end:
                temp_end = pos
            if pos - temp_end > min_silence_at_max:
                prev_end = temp_end
            if pos - temp_end < min_silence:
                continue
            cur["end"] = temp_end
            if cur["end"] - cur["start"] > min_speech:
                speeches.append(cur)
            cur = {}
            prev_end = next_start = temp_end = 0
            triggered = False
    if cur and total - cur["start"] > min_speech:
        cur["end"] = total
        speeches.append(cur)

    for i, s in enumerate(speeches):
        if i == 0:
            s["start"] = int(max(0, s["start"] - pad))
        if i != len(speeches) - 1:
            gap = speeches[i + 1]["start"] - s["end"]
            if gap < 2 * pad:
                s["end"] += int(gap // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - gap // 2))
            else:
                s["end"] = int(min(total, s["end"] + pad))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - pad))
        else:
            s["end"] = int(min(total, s["end"] + pad))
    return [Span(int(s["start"]), int(min(total, s["end"]))) for s in speeches if s["end"] > s["start"]]


def run_vad(path: str | os.PathLike[str], params: VadParams) -> VadResult:
    probs, total = speech_probabilities(path)
    return VadResult(probs, speech_regions(probs, total, params), total)


def full_coverage(total: int) -> VadResult:
    """A VAD result that calls everything speech (VAD disabled)."""
    frames = -(-total // VAD_FRAME)
    return VadResult(np.ones(frames, dtype=np.float32), [Span(0, total)] if total else [], total)


def plan_windows(regions: list[Span], window_s: float = 30.0, max_gap_s: float = 3.0) -> list[Span]:
    """Merge neighbouring regions into windows of at most ``window_s`` (regions longer than that are cut)."""
    limit = int(window_s * SAMPLE_RATE)
    gap = int(max_gap_s * SAMPLE_RATE)
    pieces: list[Span] = []
    for r in regions:
        start = r.start
        while r.end - start > limit:
            pieces.append(Span(start, start + limit))
            start += limit
        pieces.append(Span(start, r.end))
    windows: list[Span] = []
    for p in pieces:
        if windows and p.start - windows[-1].end <= gap and p.end - windows[-1].start <= limit:
            windows[-1] = Span(windows[-1].start, p.end)
        else:
            windows.append(p)
    return windows


def plan_chunks(windows: list[Span], chunk_s: float = 900.0) -> list[Chunk]:
    """Group windows into chunks of about ``chunk_s``; a chunk closes once it spans at least that long."""
    limit = int(chunk_s * SAMPLE_RATE)
    chunks: list[Chunk] = []
    for w in windows:
        if not chunks or chunks[-1].end - chunks[-1].start >= limit:
            chunks.append(Chunk(len(chunks), w.start, w.end, []))
        c = chunks[-1]
        c.windows.append(w)
        c.end = w.end
    return chunks
