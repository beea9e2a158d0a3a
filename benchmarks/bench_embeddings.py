"""Text-embedding speed per backend: ms per sentence at batch 1 and batch 32, plus load time and agreement.

    .venv/bin/python benchmarks/bench_embeddings.py [--reps 3] [--sentences 64] [--json]

Sentences: every text of ``truth.json`` (reference transcripts, OCR text, content descriptions), cycled to
``--sentences``. Backends: the packaged all-MiniLM-L6-v2 as int8 ONNX (onnxruntime) and as fp32
sentence-transformers (torch). Each backend is loaded once (load time reported), warmed up, then timed
``--reps`` times interleaved; min and median are reported (min: the least disturbed run). Agreement: cosine
between the two backends' vectors of the same sentences (min and mean). The machine is shared: read the
numbers as upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import common
import numpy as np

from media_assets.core.embed.text_embedder import load_text_embedder

BACKENDS = ("onnx", "sentence-transformers")
BATCHES = (1, 32)


def truth_sentences(n: int) -> list[str]:
    """Texts of truth.json (keys named like text or content), cycled to ``n``."""
    found: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and ("text" in key or key == "content") and len(node.split()) >= 2:
            found.append(" ".join(node.split())[:400])

    walk(common.load_truth())
    unique = list(dict.fromkeys(found))
    return [unique[i % len(unique)] for i in range(n)]


def time_once(model: Any, sentences: list[str], batch: int) -> float:
    """ms per sentence of one ``encode(sentences, batch_size=batch)`` call: how the embeddings asset calls it
    (both backends sort the texts by length before batching, so padding stays small)."""
    start = time.perf_counter()
    model.encode(sentences, batch_size=batch)
    return (time.perf_counter() - start) * 1000 / len(sentences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads (default: all)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()

    sentences = truth_sentences(args.sentences)
    models, rows = {}, {}
    for backend in BACKENDS:
        start = time.perf_counter()
        models[backend] = load_text_embedder(backend=backend, threads=args.threads)
        rows[backend] = {
            "backend": backend,
            "weights": Path(models[backend].path).name,
            "revision": models[backend].revision,
            "load_s": round(time.perf_counter() - start, 2),
        }
        models[backend].encode(sentences[:32], batch_size=32)  # warm-up
    times: dict[tuple[str, int], list[float]] = {(b, n): [] for b in BACKENDS for n in BATCHES}
    load_before = os.getloadavg()[0]
    for _ in range(args.reps):  # interleaved, so a busy moment of the shared machine hits every cell alike
        for backend in BACKENDS:
            for batch in BATCHES:
                times[(backend, batch)].append(time_once(models[backend], sentences, batch))
    for (backend, batch), values in times.items():
        rows[backend][f"batch{batch}_min_ms"] = round(min(values), 2)
        rows[backend][f"batch{batch}_median_ms"] = round(statistics.median(values), 2)
    vectors = {b: models[b].encode(sentences) for b in BACKENDS}
    cos = (vectors["onnx"] * vectors["sentence-transformers"]).sum(axis=1)
    agreement = {"cos_min": round(float(cos.min()), 4), "cos_mean": round(float(np.mean(cos)), 4)}

    print(
        f"{len(sentences)} sentences ({len(set(sentences))} distinct), {args.reps} interleaved runs, "
        f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; min (median)\n"
    )
    print("| backend | weights | load (s) | batch 1 (ms/sentence) | batch 32 (ms/sentence) |")
    print("|---|---|---|---|---|")
    for r in rows.values():
        cells = [f"{r[f'batch{n}_min_ms']} ({r[f'batch{n}_median_ms']})" for n in BATCHES]
        print(f"| {r['backend']} | {r['weights']} | {r['load_s']} | {cells[0]} | {cells[1]} |")
    print(f"\nonnx vs sentence-transformers cosine: min {agreement['cos_min']}, mean {agreement['cos_mean']}")
    if args.json:
        print(json.dumps({"rows": list(rows.values()), "agreement": agreement}, indent=2))


if __name__ == "__main__":
    main()
