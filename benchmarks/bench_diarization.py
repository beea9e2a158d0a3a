"""Diarization and audio-event speed on this machine: model load, RTF and DER on the reference recordings,
and a 30-minute input (the diarization recordings and speech files concatenated with ffmpeg in a temp dir).

    .venv/bin/python benchmarks/bench_diarization.py [--minutes 30]

One run, printed as Markdown tables for BENCHMARKS.md. The long input is scored against a reference built from
the parts (their RTTMs, one speaker per single-speaker clip). Peak RSS is the process's (ru_maxrss) after each stage.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ffmpeg, media_dir, print_table

PARTS = [
    "diarization/pyannote_sample.wav",
    "diarization/pyannote_dev00.wav",
    "diarization/pyannote_tst00.wav",
    "speech/jfk.flac",
    "speech/LDC93S1.wav",
    "speech/new-home-in-the-stars-16k.wav",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def long_input(tmp: Path, minutes: float) -> Path:
    """16 kHz mono WAV of ``minutes`` made by repeating PARTS (concat filter, each part resampled first)."""
    import soundfile as sf

    parts = []
    for i, rel in enumerate(PARTS):
        out = tmp / f"part{i}.wav"
        ffmpeg("-i", str(media_dir() / rel), "-ac", "1", "-ar", "16000", "-sample_fmt", "s16", str(out))
        parts.append(out)
    cycle = sum(sf.info(str(p)).duration for p in parts)
    repeats = int(minutes * 60 // cycle) + 1
    listing = tmp / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for _ in range(repeats) for p in parts))
    out = tmp / "long.wav"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-t", str(minutes * 60), "-c", "copy", str(out))
    return out


def long_reference(tmp: Path, minutes: float) -> list:
    """Reference turns of :func:`long_input`: each diarization recording's RTTM (speakers named per file, the same
    people in every repetition) and one speaker over each whole single-speaker clip."""
    import soundfile as sf

    from media_assets.core.speech.rttm import Turn, read_rttm

    end = minutes * 60
    durations = [sf.info(str(tmp / f"part{i}.wav")).duration for i in range(len(PARTS))]
    turns: list[Turn] = []
    t = 0.0
    while t < end:
        for rel, dur in zip(PARTS, durations, strict=True):
            if t >= end:
                break
            if rel.startswith("diarization/"):
                for r in read_rttm(media_dir() / rel.replace(".wav", ".rttm")):
                    if t + r.start < end:
                        turns.append(Turn(t + r.start, min(end, t + r.end), f"{Path(rel).stem}:{r.speaker}"))
            else:
                turns.append(Turn(t, min(end, t + dur), Path(rel).stem))
            t += dur
    return turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()

    import soundfile as sf

    from media_assets.core.speech.audio_events import YamnetTagger
    from media_assets.core.speech.der import diarization_error_rate
    from media_assets.core.speech.diarize import SenkoBackend
    from media_assets.core.speech.rttm import read_rttm

    rows = []
    t0 = time.perf_counter()
    import senko  # noqa: F401

    import_s = time.perf_counter() - t0
    backend = SenkoBackend()
    t0 = time.perf_counter()
    backend.load()
    load_s = time.perf_counter() - t0
    rows.append(["senko import", "", f"{import_s:.1f} s", "", "", f"{peak_rss_mb():.0f}"])
    rows.append(["senko load (warmup=False)", "", f"{load_s:.1f} s", "", "", f"{peak_rss_mb():.0f}"])

    for rel in ("diarization/pyannote_sample.wav", "diarization/pyannote_dev00.wav"):
        audio, _ = sf.read(media_dir() / rel, dtype="float32")
        t0 = time.perf_counter()
        result = backend.diarize(audio)
        el = time.perf_counter() - t0
        ref = read_rttm(media_dir() / rel.replace(".wav", ".rttm"))
        der = diarization_error_rate(ref, result.turns(), collar=0.25, uem=(0.0, 30.0)).der
        dur = len(audio) / 16000
        rows.append(
            [
                f"diarize {Path(rel).name}",
                f"{dur:.0f} s",
                f"{el:.1f} s",
                f"{el / dur:.3f}",
                f"{result.num_speakers} spk, DER {der:.1%}",
                f"{peak_rss_mb():.0f}",
            ]
        )

    tagger = YamnetTagger()
    t0 = time.perf_counter()
    tagger.load()
    rows.append(["YAMNet load", "", f"{time.perf_counter() - t0:.1f} s", "", "", f"{peak_rss_mb():.0f}"])

    with tempfile.TemporaryDirectory(prefix="bench-diarization-") as tmp:
        path = long_input(Path(tmp), args.minutes)
        audio, _ = sf.read(path, dtype="float32")
        dur = len(audio) / 16000
        t0 = time.perf_counter()
        result = backend.diarize(audio)
        el = time.perf_counter() - t0
        ref = long_reference(Path(tmp), args.minutes)
        der = diarization_error_rate(ref, result.turns(), collar=0.25).der
        rows.append(
            [
                f"diarize {args.minutes:.0f}-min concat",
                f"{dur:.0f} s",
                f"{el:.1f} s",
                f"{el / dur:.3f}",
                f"{result.num_speakers} spk (reference {len({r.speaker for r in ref})}), DER {der:.1%}, "
                f"{len(result.segments)} segments",
                f"{peak_rss_mb():.0f}",
            ]
        )
        t0 = time.perf_counter()
        events = tagger.tag(audio)
        el = time.perf_counter() - t0
        rows.append(
            [
                f"audio_events {args.minutes:.0f}-min concat",
                f"{dur:.0f} s",
                f"{el:.1f} s",
                f"{el / dur:.4f}",
                f"{len(events.events)} events",
                f"{peak_rss_mb():.0f}",
            ]
        )

    print_table(["stage", "audio", "wall", "RTF", "result", "peak RSS MB"], rows, title="Diarization and audio events")


if __name__ == "__main__":
    main()
