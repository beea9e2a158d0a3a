"""Vector store: the embedded Qdrant engine (qdrant-edge) beside qdrant-client's local mode; fusion choice.

    .venv/bin/python benchmarks/bench_vector_store.py [--n 100000] [--local-n 100000] [--queries 200] [--fusion]
                                                      [--hnsw] [--datatypes float16,float32]

Part 1 (always): ``--n`` random unit vectors (384-d, seeded), payloads as the pipeline writes them
(partition, kind, item, start, end, text, model, revision), written as ``--n / 1000`` partitions of 1,000
points through ``replace_partition`` (the API the embeddings asset uses), into

- ``edge``   EdgeVectorStore (the default embedded store), one process holding the shard open, once per
             storage datatype in ``--datatypes`` (float16 is the default);
- ``local``  qdrant-client local mode (``QdrantClient(path=...)``) behind the same API, on ``--local-n``
             points (default the same 100,000; it keeps every point in Python: ~4 minutes to fill, 50 queries
             per filter; ratios are per point when the sizes differ).

Then ``--queries`` nearest-neighbour queries (random unit vectors): p50/p95 latency without filter, with a
partition+kind filter and with a time-window filter; for edge as the store runs by default at this size
(exact scan) and, with ``--hnsw``, after ``optimize()`` (HNSW; minutes on 2 cores), with recall@10 against
exact numpy search for both. Also the cost of one search in the default mode
(lock + load shard + query + close), which is what a one-shot CLI search pays.

Part 2 (``--fusion``): hybrid search on the hand-labelled queries of ``tests/core/search/labelled_queries.py``
(ground-truth texts of the shared media, packaged all-MiniLM-L6-v2): MRR@10 and recall@3 of full text alone,
semantic alone, RRF and normalised-score fusion; and how many hits nonsense queries return.

Targets (edge with its default storage and index, 100,000 points): query p50 < 20 ms, upsert of all points
< 10 s. The exit status is 1 if either is missed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common
import numpy as np

from media_assets.core.search.edge_store import EdgeVectorStore
from media_assets.core.search.qdrant_server_store import QdrantServerStore
from media_assets.core.search.vector_store import VectorPoint, point_id

DIM = 384
PER_PARTITION = 1000
COLLECTION = "bench"
TARGET_QUERY_P50_MS = 20.0
TARGET_UPSERT_S = 10.0


def make_points(n: int, seed: int = 0) -> tuple[np.ndarray, list[list[VectorPoint]]]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    batches = []
    for lo in range(0, n, PER_PARTITION):
        partition = f"p{lo // PER_PARTITION:05d}"
        batch = []
        for i in range(lo, min(n, lo + PER_PARTITION)):
            kind = "segment" if i % 4 else "scene"
            item = str(i - lo)
            start = float(i - lo) * 2.0
            payload = {
                "partition": partition,
                "source": f"/media/{partition}.mp4",
                "kind": kind,
                "item": item,
                "start": start,
                "end": start + 2.0,
                "text": f"words of item {item}",
                "model": "bench",
                "revision": "0",
            }
            batch.append(VectorPoint(point_id(partition, kind, item), vectors[i], payload))
        batches.append(batch)
    return vectors, batches


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1e3, ordered[int(0.95 * (len(ordered) - 1))] * 1e3


def time_queries(store: Any, queries: np.ndarray, n_partitions: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    filters: dict[str, dict[str, Any]] = {
        "none": {},
        "partition+kind": {"partitions": [f"p{i:05d}" for i in range(0, n_partitions, 10)], "kinds": ["segment"]},
        "time window": {"start": 100.0, "end": 200.0},
    }
    for label, kw in filters.items():
        store.search(COLLECTION, queries[0], 10, **kw)  # warm-up
        times = []
        for q in queries:
            t0 = time.perf_counter()
            store.search(COLLECTION, q, 10, **kw)
            times.append(time.perf_counter() - t0)
        p50, p95 = percentiles(times)
        out[label] = {"p50_ms": p50, "p95_ms": p95}
    return out


def recall_at_10(store: Any, vectors: np.ndarray, queries: np.ndarray, ids: list[str]) -> float:
    found = 0
    for q in queries:
        exact = {ids[i] for i in np.argsort(-(vectors @ q))[:10]}
        got = {h.id for h in store.search(COLLECTION, q, 10)}
        found += len(exact & got)
    return found / (10 * len(queries))


def bench_edge(n: int, n_queries: int, root: Path, datatype: str, hnsw: bool) -> dict[str, Any]:
    vectors, batches = make_points(n)
    ids = [p.id for b in batches for p in b]
    queries = np.random.default_rng(1).normal(size=(n_queries, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    res: dict[str, Any] = {"points": n, "datatype": datatype}
    root = root / f"edge-{datatype}"
    common.wait_for_quiet()
    store = EdgeVectorStore(root / "edge", hold_open=True, auto_optimize_points=None, datatype=datatype)
    wall, _, cpu, others = common.time_once(
        lambda: [store.replace_partition(COLLECTION, DIM, b[0].payload["partition"], b) for b in batches]
    )
    res.update(upsert_s=wall, upsert_cpu_s=cpu, upsert_others_cores=others, count=store.count(COLLECTION))
    print(f"edge {datatype}: upserted {n} points in {wall:.2f} s (others used {others:.2f} cores)", flush=True)
    common.wait_for_quiet()
    res["exact"] = time_queries(store, queries, len(batches))
    res["exact_recall_at_10"] = recall_at_10(store, vectors, queries[:50], ids)
    print(f"edge {datatype} exact: {res['exact']} recall@10 {res['exact_recall_at_10']:.3f}", flush=True)
    if hnsw:
        wall, _, cpu, others = common.time_once(lambda: store.optimize(COLLECTION))
        res.update(optimize_s=wall, optimize_others_cores=others)
        print(f"edge {datatype}: optimize (HNSW build) {wall:.1f} s", flush=True)
        common.wait_for_quiet()
        res["hnsw"] = time_queries(store, queries, len(batches))
        res["hnsw_recall_at_10"] = recall_at_10(store, vectors, queries[:50], ids)
        print(f"edge {datatype} hnsw: {res['hnsw']} recall@10 {res['hnsw_recall_at_10']:.3f}", flush=True)
    store.close()
    # default mode: every call takes the lock, loads the shard, queries and closes it
    oneshot = EdgeVectorStore(root / "edge")
    times = []
    for q in queries[:10]:
        t0 = time.perf_counter()
        oneshot.search(COLLECTION, q, 10)
        times.append(time.perf_counter() - t0)
    res["oneshot_search_p50_ms"] = percentiles(times)[0]
    # re-upserting the same points leaves the count unchanged
    oneshot.replace_partition(COLLECTION, DIM, batches[0][0].payload["partition"], batches[0])
    res["count_after_reupsert"] = oneshot.count(COLLECTION)
    return res


def bench_local(n: int, n_queries: int, root: Path) -> dict[str, Any]:
    from qdrant_client import QdrantClient

    _, batches = make_points(n)
    queries = np.random.default_rng(1).normal(size=(n_queries, DIM)).astype(np.float32)
    store = QdrantServerStore(client=QdrantClient(path=str(root / "local")), endpoint=str(root / "local"))
    common.wait_for_quiet()
    wall, _, _, others = common.time_once(
        lambda: [store.replace_partition(COLLECTION, DIM, b[0].payload["partition"], b) for b in batches]
    )
    res: dict[str, Any] = {"points": n, "upsert_s": wall, "upsert_others_cores": others}
    print(f"local mode: upserted {n} points in {wall:.2f} s", flush=True)
    res["queries"] = time_queries(store, queries, len(batches))
    print(f"local mode: {res['queries']}", flush=True)
    store.close()
    return res


def bench_fusion() -> dict[str, Any]:
    from media_assets.core.embed.text_embedder import load_text_embedder
    from media_assets.core.search.fulltext import FulltextIndex, TextDoc
    from media_assets.core.search.hybrid import DEFAULT_TEXT_COLLECTION, fuse, search
    from tests.core.search.labelled_queries import (
        NONSENSE,
        QUERIES,
        build_docs,
        recall_at,
        reciprocal_rank,
    )

    docs = build_docs(common.load_truth())
    embedder = load_text_embedder()
    vectors = embedder.encode([d["text"] for d in docs])
    tmp = Path(tempfile.mkdtemp(prefix="bench-fusion-"))
    try:
        store = EdgeVectorStore(tmp / "vectors")
        fulltext = FulltextIndex(tmp / "fulltext")
        for partition in sorted({d["partition"] for d in docs}):
            mine = [(i, d) for i, d in enumerate(docs) if d["partition"] == partition]
            points = [
                VectorPoint(point_id(partition, d["kind"], d["item"]), vectors[i], dict(d, source=partition))
                for i, d in mine
            ]
            store.replace_partition(DEFAULT_TEXT_COLLECTION, vectors.shape[1], partition, points)
            fulltext.replace_partition(
                partition, [TextDoc(partition, d["kind"], d["item"], d["start"], d["end"], d["text"]) for _, d in mine]
            )
        methods = {
            "fulltext": lambda q: fuse(fulltext.search(q, 50), []),
            "semantic": lambda q: fuse([], _semantic(store, embedder, q)),
            "rrf": lambda q: search(q, index_dir=tmp, embedder=embedder, vector_store=store, fusion="rrf"),
            "score": lambda q: search(q, index_dir=tmp, embedder=embedder, vector_store=store, fusion="score"),
        }
        rows = []
        results: dict[str, Any] = {}
        for name, run in methods.items():
            per_style: dict[str, list[tuple[float, float]]] = {}
            for query, relevant, style in QUERIES:
                ranked = [(h.partition, h.kind, h.item) for h in run(query)]
                per_style.setdefault(style, []).append(
                    (reciprocal_rank(ranked, relevant), recall_at(ranked, relevant, 3))
                )
            everything = [x for v in per_style.values() for x in v]
            nonsense = sum(len(run(q)) for q in NONSENSE)
            results[name] = {
                "mrr": statistics.mean(r for r, _ in everything),
                "recall_at_3": statistics.mean(r for _, r in everything),
                **{f"mrr_{s}": statistics.mean(r for r, _ in v) for s, v in per_style.items()},
                "nonsense_hits": nonsense,
            }
            r = results[name]
            rows.append(
                [
                    name,
                    r["mrr"],
                    r["mrr_keyword"],
                    r["mrr_paraphrase"],
                    r["mrr_rare"],
                    r["recall_at_3"],
                    r["nonsense_hits"],
                ]
            )
        common.print_table(
            ["method", "MRR@10", "keyword", "paraphrase", "rare tokens", "recall@3", "nonsense hits"],
            rows,
            title=f"Fusion on {len(QUERIES)} labelled queries over {len(docs)} ground-truth documents",
        )
        store.close()
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _semantic(store: EdgeVectorStore, embedder: Any, query: str) -> list[Any]:
    from media_assets.core.search.hybrid import DEFAULT_MIN_SIMILARITY, DEFAULT_TEXT_COLLECTION

    hits = store.search(DEFAULT_TEXT_COLLECTION, embedder.encode([query])[0], 50)
    return [h for h in hits if h.score >= DEFAULT_MIN_SIMILARITY]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="points in the embedded store")
    ap.add_argument("--local-n", type=int, default=100_000, help="points in qdrant-client local mode (slow: minutes)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--fusion", action="store_true", help="also measure the fusion methods")
    ap.add_argument("--fusion-only", action="store_true")
    ap.add_argument("--hnsw", action="store_true", help="also build the HNSW index and query it (minutes)")
    ap.add_argument("--datatypes", default="float16,float32", help="edge storage datatypes; the first is judged")
    args = ap.parse_args()

    data: dict[str, Any] = {"machine": common.machine_info()}
    missed: list[str] = []
    if not args.fusion_only:
        datatypes = [d.strip() for d in args.datatypes.split(",") if d.strip()]
        root = Path(tempfile.mkdtemp(prefix="bench-vectors-"))
        try:
            edges = data["edge"] = [bench_edge(args.n, args.queries, root, d, args.hnsw) for d in datatypes]
            local = data["local"] = bench_local(args.local_n, min(args.queries, 50), root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        local_per_pt = local["upsert_s"] / local["points"] * 1e6
        rows = []
        for edge in edges:
            per_pt = edge["upsert_s"] / edge["points"] * 1e6
            label = f"edge {edge['datatype']}"
            rows.append([f"{label} (exact scan)", edge["points"], edge["upsert_s"], per_pt, *_q(edge["exact"])])
            rows[-1].append(edge["exact_recall_at_10"])
            if "hnsw" in edge:
                rows.append([f"{label} (after optimize: HNSW)", edge["points"], "-", "-", *_q(edge["hnsw"])])
                rows[-1].append(edge["hnsw_recall_at_10"])
        rows.append(
            ["qdrant-client local mode", local["points"], local["upsert_s"], local_per_pt, *_q(local["queries"]), 1.0]
        )
        common.print_table(
            [
                "store",
                "points",
                "upsert s",
                "upsert µs/point",
                "query p50 ms",
                "p95 ms",
                "filtered p50 ms",
                "time p50 ms",
                "recall@10",
            ],
            rows,
            title="Vector store (384-d, top 10)",
        )
        edge = edges[0]
        edge_per_pt = edge["upsert_s"] / edge["points"] * 1e6
        print(
            f"\nratios: local/edge upsert per point {local_per_pt / edge_per_pt:.1f}x; "
            f"local/edge query p50 {local['queries']['none']['p50_ms'] / edge['exact']['none']['p50_ms']:.1f}x "
            f"(local on {local['points']} points, edge {edge['datatype']} exact scan on {edge['points']})"
        )
        for other in edges[1:]:
            print(
                f"edge {other['datatype']} / {edge['datatype']}: query p50 "
                f"{other['exact']['none']['p50_ms'] / edge['exact']['none']['p50_ms']:.2f}x, "
                f"upsert {other['upsert_s'] / edge['upsert_s']:.2f}x"
            )
        if "hnsw" in edge:
            print(f"edge: HNSW build (optimize) {edge['optimize_s']:.1f} s, recall@10 {edge['hnsw_recall_at_10']:.3f}")
        print(
            f"edge: one-shot search (lock + load + query + close) p50 {edge['oneshot_search_p50_ms']:.0f} ms; "
            f"count after re-upserting a partition: {edge['count_after_reupsert']} (expected {edge['points']})"
        )
        p50 = edge["exact"]["none"]["p50_ms"]
        print(
            f"targets ({edge['datatype']}, exact scan as the store runs below its auto-index threshold): "
            f"upsert {edge['upsert_s']:.2f} s < {TARGET_UPSERT_S:.0f} s; query p50 {p50:.1f} ms < "
            f"{TARGET_QUERY_P50_MS:.0f} ms"
        )
        if edge["upsert_s"] >= TARGET_UPSERT_S:
            missed.append(f"upsert of {edge['points']} points {edge['upsert_s']:.2f} s >= {TARGET_UPSERT_S:.0f} s")
        if p50 >= TARGET_QUERY_P50_MS:
            missed.append(f"query p50 {p50:.1f} ms >= {TARGET_QUERY_P50_MS:.0f} ms")
        if edge["count_after_reupsert"] != edge["points"]:
            missed.append(f"re-upsert changed the count: {edge['count_after_reupsert']} != {edge['points']}")
    if args.fusion or args.fusion_only:
        data["fusion"] = bench_fusion()
    return common.report("vector_store", data, missed, "targets met")


def _q(res: dict[str, Any]) -> list[float]:
    return [res["none"]["p50_ms"], res["none"]["p95_ms"], res["partition+kind"]["p50_ms"], res["time window"]["p50_ms"]]


if __name__ == "__main__":
    raise SystemExit(main())
