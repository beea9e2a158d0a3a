"""Full-text index of transcripts and on-screen text (tantivy, embedded), with time-coded hits.

One document per transcript segment or on-screen text event: ``partition``, ``kind``, ``item`` (the same
item the vector store uses, so hybrid search can fuse both), ``start``/``end`` on the media timeline,
``source`` and ``text``. Text is analysed with lowercase + English stop words + ASCII folding + English stemming.

Writes take a cross-process file lock (tantivy allows one writer per index and fails fast otherwise) and are
one commit: re-indexing a partition deletes its documents by term and adds the new ones in the same commit,
so a reader sees either the old or the new documents, never both, and a killed writer changes nothing.
Readers need no lock: a commit atomically replaces ``meta.json`` and segment files are immutable.

User queries are never parsed as tantivy syntax: they are run through the same analyser as the documents
and become an OR of terms plus a boosted phrase, so ``"``, ``:``, ``(``, ``AND`` etc. are just text.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media_assets.core.search.locking import DEFAULT_TIMEOUT_S, file_lock

ANALYZER = "media_en"
WRITER_HEAP_BYTES = 50_000_000
PHRASE_BOOST = 2.0
SNIPPET_CHARS = 160
MAX_QUERY_TERMS = 64


@dataclass
class TextDoc:
    partition: str
    kind: str  # segment | text_event | ...
    item: str
    start: float
    end: float
    text: str
    source: str = ""


@dataclass
class TextHit:
    partition: str
    kind: str
    item: str
    start: float
    end: float
    text: str
    source: str
    snippet: str
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)  # character ranges inside ``snippet``


def _tantivy() -> Any:
    import tantivy

    return tantivy


def _schema() -> Any:
    t = _tantivy()
    sb = t.SchemaBuilder()
    sb.add_text_field("uid", stored=True, tokenizer_name="raw")
    sb.add_text_field("partition", stored=True, tokenizer_name="raw")
    sb.add_text_field("kind", stored=True, tokenizer_name="raw")
    sb.add_text_field("item", stored=True, tokenizer_name="raw")
    sb.add_text_field("source", stored=True, tokenizer_name="raw")
    sb.add_float_field("start", stored=True, fast=True)
    sb.add_float_field("end", stored=True, fast=True)
    sb.add_text_field("text", stored=True, tokenizer_name=ANALYZER)
    return sb.build()


def _analyzer() -> Any:
    t = _tantivy()
    return (
        t.TextAnalyzerBuilder(t.Tokenizer.simple())
        .filter(t.Filter.remove_long(40))
        .filter(t.Filter.lowercase())
        .filter(t.Filter.stopword("english"))
        .filter(t.Filter.ascii_fold())
        .filter(t.Filter.stemmer("english"))
        .build()
    )


def check_doc(partition: str, doc: TextDoc) -> None:
    if doc.partition != partition:
        raise ValueError(f"document {doc.kind}/{doc.item} belongs to {doc.partition!r}, not {partition!r}")
    try:
        start, end = float(doc.start), float(doc.end)
    except (TypeError, ValueError):
        start = end = math.nan
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise ValueError(f"document {partition}/{doc.kind}/{doc.item}: bad time range {doc.start}..{doc.end}")


class FulltextIndex:
    """A tantivy index in ``path`` (created on the first write)."""

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.path = Path(path).expanduser().resolve()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout_s = lock_timeout_s
        self._schema = _schema()
        self._analyzer = _analyzer()
        self._index: Any = None

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _exists(self) -> bool:
        return (self.path / "meta.json").exists()

    def _open(self, *, create: bool) -> Any:
        """The index (created if ``create`` and missing; caller holds the lock), or None if absent."""
        if self._index is not None:
            return self._index
        t = _tantivy()
        if not self._exists():
            if not create:
                return None
            self.path.mkdir(parents=True, exist_ok=True)
            index = t.Index(self._schema, path=str(self.path), reuse=True)
        else:
            index = t.Index.open(str(self.path))
        index.register_tokenizer(ANALYZER, self._analyzer)
        self._index = index
        return index

    def _searcher(self) -> Any:
        index = self._open(create=False)
        if index is None:
            return None
        index.reload()
        return index.searcher()

    # -- writing ----------------------------------------------------------------------------------------------
    def replace_partition(self, partition: str, docs: Iterable[TextDoc]) -> int:
        """Replace every document of ``partition`` with ``docs`` in one commit; returns how many were added."""
        docs = [d for d in docs if d.text and d.text.strip()]
        seen: set[tuple[str, str]] = set()
        for d in docs:
            check_doc(partition, d)
            if (d.kind, str(d.item)) in seen:
                raise ValueError(f"document {partition}/{d.kind}/{d.item} appears twice in one write")
            seen.add((d.kind, str(d.item)))
        t = _tantivy()
        with file_lock(self.lock_path, timeout_s=self.lock_timeout_s):
            index = self._open(create=True)
            writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
            try:
                writer.delete_documents_by_term("partition", partition)
                for d in docs:
                    writer.add_document(
                        t.Document(
                            uid=f"{d.partition}/{d.kind}/{d.item}",
                            partition=d.partition,
                            kind=d.kind,
                            item=str(d.item),
                            source=d.source or "",
                            start=float(d.start),
                            end=float(d.end),
                            text=d.text,
                        )
                    )
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
        return len(docs)

    # -- reading ----------------------------------------------------------------------------------------------
    def query_tokens(self, query: str) -> list[tuple[int, str]]:
        """The analysed tokens of a user query with their positions (stop words removed, positions kept)."""
        tokens = self._analyzer.pre_tokenize(query or "").tokens
        return [(tok.position, tok.text) for tok in tokens if tok.text][:MAX_QUERY_TERMS]

    def query_terms(self, query: str) -> list[str]:
        """The analysed terms of a user query (deduplicated, in order)."""
        return list(dict.fromkeys(text for _, text in self.query_tokens(query)))

    def _build_query(
        self, tokens: list[tuple[int, str]], partitions: Sequence[str] | None, kinds: Sequence[str] | None
    ) -> tuple[Any, Any]:
        t = _tantivy()
        terms = list(dict.fromkeys(text for _, text in tokens))
        text_q = t.Query.boolean_query([(t.Occur.Should, t.Query.term_query(self._schema, "text", x)) for x in terms])
        if len(tokens) > 1:  # the words in this order (gaps left by stop words kept) rank higher
            first = tokens[0][0]
            words = [(pos - first, text) for pos, text in tokens]
            phrase = t.Query.boost_query(t.Query.phrase_query(self._schema, "text", words, 1), PHRASE_BOOST)
            text_q = t.Query.boolean_query([(t.Occur.Must, text_q), (t.Occur.Should, phrase)])
        clauses = [(t.Occur.Must, text_q)]
        if partitions is not None:
            clauses.append(
                (t.Occur.Must, t.Query.term_set_query(self._schema, "partition", [str(p) for p in partitions]))
            )
        if kinds is not None:
            clauses.append((t.Occur.Must, t.Query.term_set_query(self._schema, "kind", [str(k) for k in kinds])))
        return t.Query.boolean_query(clauses), text_q

    def search(
        self,
        query: str,
        top_k: int = 10,
        *,
        partitions: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[TextHit]:
        """Best-first BM25 hits; an empty query, or one with no indexable word, returns nothing."""
        tokens = self.query_tokens(query)
        if not tokens or top_k <= 0 or (partitions is not None and not partitions) or (kinds is not None and not kinds):
            return []
        searcher = self._searcher()
        if searcher is None:
            return []
        full_q, text_q = self._build_query(tokens, partitions, kinds)
        result = searcher.search(full_q, int(top_k))
        snippets = _tantivy().SnippetGenerator.create(searcher, text_q, self._schema, "text")
        snippets.set_max_num_chars(SNIPPET_CHARS)
        hits = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            snip = snippets.snippet_from_doc(doc)
            text = doc.get_first("text")
            highlights = [(r.start, r.end) for r in snip.highlighted()]
            if len(text) <= SNIPPET_CHARS or not snip.fragment():  # short texts are shown whole
                shift = snip.fragment_range().start if snip.fragment() else 0
                fragment = text[:SNIPPET_CHARS]
                highlights = [(a + shift, b + shift) for a, b in highlights if b + shift <= len(fragment)]
            else:
                fragment = snip.fragment()
            hits.append(
                TextHit(
                    partition=doc.get_first("partition"),
                    kind=doc.get_first("kind"),
                    item=doc.get_first("item"),
                    start=float(doc.get_first("start")),
                    end=float(doc.get_first("end")),
                    text=text,
                    source=doc.get_first("source") or "",
                    snippet=fragment,
                    score=float(score),
                    highlights=highlights,
                )
            )
        return hits

    def count(self, partition: str | None = None) -> int:
        searcher = self._searcher()
        if searcher is None:
            return 0
        if partition is None:
            return int(searcher.num_docs)
        query = _tantivy().Query.term_query(self._schema, "partition", partition)
        return int(searcher.search(query, 1, count=True).count)

    def close(self) -> None:
        self._index = None

    def __enter__(self) -> FulltextIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def docs_from_outputs(
    partition: str,
    source: str = "",
    *,
    transcript: dict[str, Any] | None = None,
    events: dict[str, Any] | None = None,
) -> list[TextDoc]:
    """Documents for a partition from ``transcript.json`` (one per segment, item = segment id) and
    ``events.json`` (one per on-screen text event, item = event id); see docs/outputs.md."""
    docs: list[TextDoc] = []
    if transcript and transcript.get("has_audio", True):
        for seg in transcript.get("segments") or []:
            text = (seg.get("text") or "").strip()
            if text:
                docs.append(
                    TextDoc(partition, "segment", str(seg["id"]), float(seg["start"]), float(seg["end"]), text, source)
                )
    if events:
        for ev in events.get("text_events") or []:
            text = (ev.get("text") or "").strip()
            if text:
                docs.append(
                    TextDoc(partition, "text_event", str(ev["id"]), float(ev["start"]), float(ev["end"]), text, source)
                )
    return docs
