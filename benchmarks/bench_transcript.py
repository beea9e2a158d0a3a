"""Transcript benchmark: our pipeline against plain ``WhisperModel.transcribe``, every preset's real-time factor,
and one hour of generated speech (peak memory, chunked against single-chunk wall time).

Run from the repository root: ``.venv/bin/python benchmarks/bench_transcript.py`` (``--quick`` for a 10-minute
long input and fewer rounds). Prints Markdown tables for BENCHMARKS.md; raw results go to
``benchmarks/.cache/results/bench_transcript.json``.

1. Speed and WER: the same model (offline Whisper base, int8, 2 threads) on the same 16 kHz WAVs (made by the
   pipeline's ``extract_audio``): plain ``WhisperModel.transcribe(audio)`` with its defaults (beam 5, no VAD,
   temperature fallback, language detection on the first 30 s, no word timestamps) against ``transcribe_wav``
   (balanced preset: VAD, batched, word timestamps, guards). Round-robin, median of ``--reps`` rounds; WER pooled
   over the clips with a reference text.
2. Real-time factor of each preset (fast / balanced / accurate) on the same clips.
3. One hour: speech clips separated by 1-6 s of silence, plus music, repeated to ``--hour-s`` seconds; each run
   in a child process, so its peak RSS is its own: chunked (15 min chunks) and single-chunk.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CLIPS = [
    "speech/jfk.flac",
    "speech/LDC93S1.wav",
    "speech/new-home-in-the-stars-16k.wav",
    "speech/ru.wav",
    "formats/jfk_mulaw8k.wav",
    "diarization/pyannote_sample.wav",
    "video/megamind.avi",
    "video/bbb_0_30.webm",  # music, no speech
]
HOUR_SOURCES = [
    "speech/jfk.flac",
    "speech/LDC93S1.wav",
    "speech/new-home-in-the-stars-16k.wav",
    "diarization/pyannote_sample.wav",
    "video/megamind.avi",
    "diarization/pyannote_dev00.wav",
    "video/bbb_0_30.webm",
]
SR = 16000


def reference_texts() -> dict[str, str]:
    t = common.load_truth()
    refs = {k: v["reference_text"] for k, v in t["speech"].items() if "reference_text" in v}
    refs["formats/jfk_mulaw8k.wav"] = refs["speech/jfk.flac"]
    return refs


def extracted(rel: str) -> Path:
    """16 kHz mono WAV of a shared clip, made once with the pipeline's extractor."""
    from media_assets.core.audio import extract_audio

    dst = common.CACHE_DIR / "transcript" / (rel.replace("/", "__") + ".wav")
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        extract_audio(common.media_dir() / rel, dst)
    return dst


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as fh:
        return np.frombuffer(fh.readframes(fh.getnframes()), dtype="<i2").astype(np.float32) / 32768


def generated_long(seconds: float) -> Path:
    """Speech clips and music separated by 1-6 s of silence until ``seconds``; written as 16-bit PCM."""
    dst = common.CACHE_DIR / "transcript" / f"long_{int(seconds)}s.wav"

    def make(tmp: Path) -> None:
        rng = np.random.default_rng(0)
        pieces = [(read_wav(extracted(rel)) * 32767).astype("<i2") for rel in HOUR_SOURCES]
        total = int(seconds * SR)
        written = 0
        with wave.open(str(tmp), "wb") as fh:
            fh.setnchannels(1)
            fh.setsampwidth(2)
            fh.setframerate(SR)
            i = 0
            while written < total:
                gap = np.zeros(int(rng.uniform(1.0, 6.0) * SR), "<i2")
                for block in (gap, pieces[i % len(pieces)]):
                    block = block[: total - written]
                    fh.writeframes(block.tobytes())
                    written += block.shape[0]
                i += 1

    return common._atomic(dst, make)


# ----------------------------------------------------------------------------------------------------------


def pooled_wer(texts: dict[str, str], refs: dict[str, str]) -> float:
    from media_assets.core.speech.wer import word_errors

    errors = words = 0
    for rel, hyp in texts.items():
        if rel in refs:
            r = word_errors(refs[rel], hyp)
            errors += r.errors
            words += r.reference_words
    return errors / max(words, 1)


def per_clip_wer(texts: dict[str, str], refs: dict[str, str]) -> dict[str, float]:
    from media_assets.core.speech.wer import wer

    return {rel: round(wer(refs[rel], hyp), 3) for rel, hyp in texts.items() if rel in refs}


def bench_speed(reps: int) -> dict[str, Any]:
    from media_assets.core.speech.transcribe import transcribe_wav
    from media_assets.core.speech.transcript_models import TranscribeParams
    from media_assets.core.speech.whisper_loader import load_whisper

    refs = reference_texts()
    wavs = {rel: extracted(rel) for rel in CLIPS}
    audio_s = sum(read_wav(w).shape[0] for w in wavs.values()) / SR
    base = load_whisper("base", device="cpu", compute_type="int8", cpu_threads=2)
    texts: dict[str, dict[str, str]] = {"plain": {}, "ours": {}}

    def plain() -> None:
        for rel, wav in wavs.items():
            segments, _ = base.model.transcribe(read_wav(wav))
            texts["plain"][rel] = " ".join(s.text.strip() for s in segments)

    def ours() -> None:
        for rel, wav in wavs.items():
            texts["ours"][rel] = transcribe_wav(base, wav, TranscribeParams()).text

    print(f"speed: {len(wavs)} clips, {audio_s:.1f} s of audio, {reps} rounds", flush=True)
    timings = common.interleaved({"plain": plain, "ours": ours}, n=reps, warmup=1)
    rounds = [p / o for p, o in zip(timings["plain"].runs, timings["ours"].runs, strict=True)]
    out = {
        "audio_s": audio_s,
        "timings": {k: v.as_dict() for k, v in timings.items()},
        "ratio_median": timings["plain"].median / timings["ours"].median,
        "ratio_cpu": timings["plain"].cpu_median / timings["ours"].cpu_median,
        "ratio_rounds": [round(r, 3) for r in rounds],
        "wer": {k: pooled_wer(v, refs) for k, v in texts.items()},
        "wer_per_clip": {k: per_clip_wer(v, refs) for k, v in texts.items()},
        "texts": texts,
    }
    rows = [
        [
            name,
            timings[name].fmt(),
            timings[name].fmt_cpu(),
            timings[name].median / audio_s,
            out["wer"][name],
        ]
        for name in ("plain", "ours")
    ]
    common.print_table(
        ["pipeline (Whisper base int8, 2 threads)", "wall", "CPU", "RTF", "pooled WER"],
        rows,
        title="Transcript against plain WhisperModel.transcribe",
    )
    print(
        f"speed-up: {out['ratio_median']:.2f}x wall (per round {min(rounds):.2f}-{max(rounds):.2f}), "
        f"{out['ratio_cpu']:.2f}x CPU; WER per clip: {json.dumps(out['wer_per_clip'])}",
        flush=True,
    )
    return out


def bench_presets(reps: int) -> dict[str, Any]:
    from media_assets.core.presets import PRESETS
    from resources.whisper import WhisperResource

    refs = reference_texts()
    wavs = {rel: extracted(rel) for rel in CLIPS}
    audio_s = sum(read_wav(w).shape[0] for w in wavs.values()) / SR
    out: dict[str, Any] = {}
    rows = []
    for preset, spec in PRESETS.items():
        r = WhisperResource(preset=preset, device="cpu")
        t0 = time.perf_counter()
        r.loaded(spec)
        load_s = time.perf_counter() - t0
        texts: dict[str, str] = {}

        def run(r: WhisperResource = r, texts: dict[str, str] = texts, spec=spec) -> None:
            for rel, wav in wavs.items():
                texts[rel] = r.transcribe(wav, spec=spec).text

        timing = common.timeit(run, n=reps, warmup=0)
        block = r.model_block(spec)
        out[preset] = {
            "timing": timing.as_dict(),
            "rtf": timing.median / audio_s,
            "load_s": load_s,
            "wer": pooled_wer(texts, refs),
            "wer_per_clip": per_clip_wer(texts, refs),
            "model": block,
        }
        rows.append(
            [
                preset,
                f"{block['name']} {block['compute_type']} beam {block['beam_size']}"
                f" {'batched' if block['batched'] else 'sequential'}",
                timing.fmt(),
                timing.median / audio_s,
                out[preset]["wer"],
                f"{load_s:.2f} s",
            ]
        )
    common.print_table(
        ["preset", "model", f"wall ({audio_s:.0f} s audio)", "RTF", "pooled WER", "load"],
        rows,
        title="Real-time factor per preset (2 cores)",
    )
    return out


def peak_rss_mb() -> float:
    """VmHWM of this process's own address space. (``wait4``/``getrusage`` maxrss is not usable for a child started
    with vfork+exec: Linux folds the parent's peak, from before the exec, into it.)"""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def child_hour(wav: str, chunk_s: float, workers: int, threads: int) -> None:
    """Child process: transcribe the long WAV once and print a JSON line (the parent measures peak RSS)."""
    from media_assets.core.speech.transcribe import transcribe_wav
    from media_assets.core.speech.transcript_models import TranscribeParams
    from media_assets.core.speech.whisper_loader import load_whisper

    model = load_whisper("base", device="cpu", compute_type="int8", cpu_threads=threads, num_workers=workers)
    t0 = time.perf_counter()
    t = transcribe_wav(model, wav, TranscribeParams(chunk_s=chunk_s, chunk_workers=workers))
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "transcribe_s": wall,
                "duration_s": t.duration_s,
                "speech_s": t.speech_s,
                "chunks": len(t.chunks),
                "segments": len(t.segments),
                "words": len(t.words),
                "dropped": len(t.dropped),
                "language": t.language,
                "vmhwm_mb": peak_rss_mb(),
            }
        )
    )


def bench_hour(seconds: float, configs: list[str]) -> dict[str, Any]:
    wav = generated_long(seconds)
    print(f"long input: {wav} ({seconds / 60:.0f} min)", flush=True)
    settings = {
        "chunked": (900.0, 1, 2),
        "single_chunk": (1e9, 1, 2),
        "chunked_2_workers": (900.0, 2, 1),
    }
    out: dict[str, Any] = {"input_s": seconds}
    rows = []
    for name in configs:
        chunk_s, workers, threads = settings[name]
        common.wait_for_quiet()
        cmd = [
            common.PYTHON,
            __file__,
            "--child-hour",
            str(wav),
            "--chunk-s",
            str(chunk_s),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
        run = common.run_child(cmd, cwd=common.REPO_ROOT)
        if run.returncode != 0:
            raise SystemExit(f"{name} failed:\n{run.stderr[-2000:]}")
        result = json.loads(run.stdout.strip().splitlines()[-1])
        out[name] = {
            "wall_s": run.wall_s,
            "cpu_s": run.cpu_s,
            "others_cores": run.others_cores,
            "peak_rss_mb": result["vmhwm_mb"],
            "wait4_maxrss_mb": run.maxrss_mb,
            **result,
        }
        rows.append(
            [
                name,
                f"{workers} x {threads} threads",
                result["chunks"],
                f"{result['transcribe_s']:.0f} s",
                result["transcribe_s"] / seconds,
                f"{result['vmhwm_mb']:.0f} MB",
                result["words"],
                f"{run.others_cores:.2f}",
            ]
        )
        print(f"  {name}: {json.dumps(out[name])}", flush=True)
    common.print_table(
        ["run", "workers", "chunks", "transcribe wall", "RTF", "peak RSS", "words", "other load (cores)"],
        rows,
        title=f"{seconds / 3600:.2f} h of generated speech + silence + music (Whisper base int8, balanced)",
    )
    if "chunked" in out and "single_chunk" in out:
        out["chunked_vs_single_wall"] = out["chunked"]["transcribe_s"] / out["single_chunk"]["transcribe_s"]
        print(f"chunked / single-chunk wall: {out['chunked_vs_single_wall']:.2f}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10-minute long input, 2 rounds")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--hour-s", type=float, default=3600.0)
    ap.add_argument("--hour-configs", default="chunked,single_chunk")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-presets", action="store_true")
    ap.add_argument("--skip-hour", action="store_true")
    ap.add_argument("--child-hour", help=argparse.SUPPRESS)
    ap.add_argument("--chunk-s", type=float, default=900.0, help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_hour:
        child_hour(args.child_hour, args.chunk_s, args.workers, args.threads)
        return
    reps = 2 if args.quick else args.reps
    hour_s = 600.0 if args.quick else args.hour_s
    results: dict[str, Any] = {"machine": common.machine_info(), "quick": args.quick}
    if not args.skip_speed:
        results["speed"] = bench_speed(reps)
    if not args.skip_presets:
        results["presets"] = bench_presets(reps)
    if not args.skip_hour:
        results["hour"] = bench_hour(hour_s, args.hour_configs.split(","))
    missed = []
    if "speed" in results and (
        results["speed"]["ratio_median"] < 1.3 or results["speed"]["wer"]["ours"] > results["speed"]["wer"]["plain"]
    ):
        missed.append("speed-up >= 1.3x at equal or better WER")
    for name in ("chunked", "single_chunk"):
        if name in results.get("hour", {}) and results["hour"][name]["peak_rss_mb"] > 1536:
            missed.append(f"{name}: peak RSS < 1.5 GB")
    sys.exit(common.report("bench_transcript", results, missed, "transcript targets met"))


if __name__ == "__main__":
    main()
