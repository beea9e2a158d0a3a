"""Full-text index: re-indexing replaces a partition, hits are time-coded, user queries never raise."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from media_assets.core.search.fulltext import FulltextIndex, TextDoc, docs_from_outputs
from tests.core.search.labelled_queries import build_docs, load_truth

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def truth_docs(media_dir: Path) -> list[TextDoc]:
    return [
        TextDoc(d["partition"], d["kind"], d["item"], d["start"], d["end"], d["text"], f"/m/{d['partition']}")
        for d in build_docs(load_truth(media_dir))
    ]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, truth_docs: list[TextDoc]) -> FulltextIndex:
    ix = FulltextIndex(tmp_path_factory.mktemp("ft") / "fulltext")
    for partition in sorted({d.partition for d in truth_docs}):
        ix.replace_partition(partition, [d for d in truth_docs if d.partition == partition])
    return ix


def test_counts_match_the_documents(index: FulltextIndex, truth_docs: list[TextDoc]) -> None:
    assert index.count() == len(truth_docs)
    for partition in {d.partition for d in truth_docs}:
        assert index.count(partition) == sum(d.partition == partition for d in truth_docs)


def test_hits_are_time_coded_documents_with_highlighted_snippets(
    index: FulltextIndex, truth_docs: list[TextDoc]
) -> None:
    hits = index.search("Chicago")
    wanted = [d for d in truth_docs if "chicago" in d.text.lower()]
    assert len(wanted) >= 2 and {(h.partition, h.item) for h in hits} == {(d.partition, d.item) for d in wanted}
    by_item = {(d.partition, d.kind, d.item): d for d in truth_docs}
    for h in hits:
        doc = by_item[(h.partition, h.kind, h.item)]
        assert (h.start, h.end, h.text, h.source) == (doc.start, doc.end, doc.text, doc.source)
        assert [h.snippet[a:b].lower() for a, b in h.highlights] == ["chicago"]
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_stemming_and_foreign_words(index: FulltextIndex) -> None:
    hits = index.search("DETERMINING marker")  # stems: determin, marker
    assert hits[0].text.startswith("Let us first determine markers of the coins")
    assert [h.text for h in index.search("Emisiones")] == ["cero emisiones"]


def test_words_in_query_order_rank_first(tmp_path: Path) -> None:
    ix = FulltextIndex(tmp_path / "ft")
    docs = [
        TextDoc("k", "segment", "0", 0, 1, "americans met one fellow traveller today"),
        TextDoc("k", "segment", "1", 1, 2, "today one fellow americans met traveller"),
    ]
    ix.replace_partition("k", docs)
    assert [h.item for h in ix.search("fellow Americans")] == ["1", "0"]
    assert [h.item for h in ix.search("Americans met")] == ["0", "1"]


def test_accents_are_folded(tmp_path: Path) -> None:
    ix = FulltextIndex(tmp_path / "ft")
    ix.replace_partition(
        "k", [TextDoc("k", "text_event", "0", 0, 1, "Café Crème"), TextDoc("k", "segment", "1", 1, 2, "tea")]
    )
    assert [h.item for h in ix.search("cafe creme")] == ["0"]
    assert [h.item for h in ix.search("CAFÉ")] == ["0"]


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"unclosed',
        "a:b",
        "text:chicago",
        "(",
        ")",
        "((x",
        "AND",
        "OR NOT",
        "*",
        "?",
        "~2",
        "^3",
        "[1 TO 2]",
        "{",
        "\\",
        "+-",
        "chicago AND",
        "\x00",
        "🙂",
        "   ",
        "",
        "the of and",
    ],
)
def test_user_queries_never_raise(index: FulltextIndex, query: str) -> None:
    hits = index.search(query)
    assert isinstance(hits, list)
    if query in ("text:chicago", "chicago AND"):  # syntax characters are plain text: the word still matches
        assert hits and all("chicago" in h.text.lower() for h in hits)
    elif not index.query_terms(query):
        assert hits == []


def test_filters_by_partition_and_kind(index: FulltextIndex) -> None:
    assert {h.partition for h in index.search("New Jersey Chicago", partitions=["pyannote_sample"])} == {
        "pyannote_sample"
    }
    assert index.search("Chicago", partitions=["jfk"]) == []
    assert index.search("Chicago", kinds=["text_event"]) == []
    assert {h.kind for h in index.search("Bunny PEACH", kinds=["text_event"])} == {"text_event"}
    assert index.search("Chicago", partitions=[]) == []


def test_reindex_replaces_a_partition_without_duplicates(tmp_path: Path) -> None:
    ix = FulltextIndex(tmp_path / "ft")
    assert ix.search("anything") == [] and ix.count() == 0  # no index yet
    v1 = [TextDoc("k1", "segment", str(i), i, i + 1, f"alpha word{i}") for i in range(5)]
    ix.replace_partition("k1", v1)
    ix.replace_partition("k2", [TextDoc("k2", "segment", "0", 0, 1, "alpha other")])
    ix.replace_partition("k1", v1)
    assert ix.count() == 6 and ix.count("k1") == 5
    ix.replace_partition("k1", [TextDoc("k1", "text_event", "9", 3, 4, "beta")])
    assert ix.count("k1") == 1
    assert [h.partition for h in ix.search("alpha")] == ["k2"]
    assert [(h.kind, h.item, h.start, h.end) for h in ix.search("beta")] == [("text_event", "9", 3.0, 4.0)]
    ix.replace_partition("k1", [])
    assert ix.count() == 1 and ix.count("k1") == 0
    # another instance (another process) sees the committed state
    assert FulltextIndex(tmp_path / "ft").count() == 1


def test_bad_documents_are_rejected_before_writing(tmp_path: Path) -> None:
    ix = FulltextIndex(tmp_path / "ft")
    ix.replace_partition("k1", [TextDoc("k1", "segment", "0", 0, 1, "kept")])
    with pytest.raises(ValueError, match="belongs to"):
        ix.replace_partition("k1", [TextDoc("k2", "segment", "0", 0, 1, "x")])
    with pytest.raises(ValueError, match="time range"):
        ix.replace_partition("k1", [TextDoc("k1", "segment", "0", 5, 1, "x")])
    with pytest.raises(ValueError, match="time range"):
        ix.replace_partition("k1", [TextDoc("k1", "segment", "0", float("nan"), 1, "x")])
    with pytest.raises(ValueError, match="twice"):
        ix.replace_partition("k1", [TextDoc("k1", "segment", "0", 0, 1, "x"), TextDoc("k1", "segment", "0", 1, 2, "y")])
    assert [h.text for h in ix.search("kept")] == ["kept"]
    assert ix.replace_partition("k1", [TextDoc("k1", "segment", "1", 0, 1, "  ")]) == 0  # blank text: nothing


def test_docs_from_outputs_follow_the_output_schemas() -> None:
    transcript = {
        "has_audio": True,
        "segments": [
            {"id": 0, "start": 0.5, "end": 2.0, "text": " Hello there "},
            {"id": 1, "start": 2.0, "end": 3.0, "text": ""},
        ],
    }
    events = {"text_events": [{"id": 4, "text": "EXIT", "start": 1.0, "end": 5.0}]}
    docs = docs_from_outputs("k", "/m/a.mp4", transcript=transcript, events=events)
    assert docs == [
        TextDoc("k", "segment", "0", 0.5, 2.0, "Hello there", "/m/a.mp4"),
        TextDoc("k", "text_event", "4", 1.0, 5.0, "EXIT", "/m/a.mp4"),
    ]
    assert docs_from_outputs("k", transcript={"has_audio": False, "reason": "no audio stream"}) == []


WRITER = textwrap.dedent(
    """
    import sys
    from media_assets.core.search.fulltext import FulltextIndex, TextDoc

    path, partition, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ix = FulltextIndex(path, lock_timeout_s=120)

    def docs(n):
        return [TextDoc(partition, "segment", str(i), i, i + 1, f"shared {partition} n{n}") for i in range(n)]

    for r in range(rounds):
        ix.replace_partition(partition, docs(11 + r))  # extra documents the last write must remove
        ix.search("shared")
    ix.replace_partition(partition, docs(10))
    """
)


def test_concurrent_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "ft")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    parts = ["p0", "p1", "p2", "p2"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, path, p, "3"], cwd=REPO_ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        for p in parts
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    ix = FulltextIndex(path)
    assert ix.count() == 30 and all(ix.count(p) == 10 for p in ("p0", "p1", "p2"))
    assert len(ix.search("shared", 100)) == 30
