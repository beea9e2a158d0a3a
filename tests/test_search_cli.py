"""``media-assets search``: a tiny index built from hand-made documents and a fake embedder."""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

import pytest

from media_assets import search_cli
from media_assets.core.search.index_paths import ENV_INDEX_DIR
from tests.core.search.test_hybrid import HashingEmbedder, build_index

DOCS = [
    {
        "partition": "aaaaaaaaaaaaaaaa",
        "kind": "segment",
        "item": "0",
        "start": 61.5,
        "end": 64.0,
        "text": "the red bicycle is in the garden",
    },
    {
        "partition": "aaaaaaaaaaaaaaaa",
        "kind": "text_event",
        "item": "0",
        "start": 3.0,
        "end": 6.0,
        "text": "RED BICYCLE [sale]",
    },
    {
        "partition": "bbbbbbbbbbbbbbbb",
        "kind": "segment",
        "item": "0",
        "start": 1.0,
        "end": 2.0,
        "text": "a bicycle race in the mountains",
    },
]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "media_data"
    for key, name in (("aaaaaaaaaaaaaaaa", "garden.mp4"), ("bbbbbbbbbbbbbbbb", "race.mkv")):
        (root / key).mkdir(parents=True)
        (root / key / "source.json").write_text(json.dumps({"key": key, "uri": f"/videos/{name}", "aliases": []}))
    build_index(root / "_index", DOCS, HashingEmbedder())
    return root


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_cli, "load_query_embedder", HashingEmbedder)
    monkeypatch.delenv(ENV_INDEX_DIR, raising=False)
    monkeypatch.delenv("MEDIA_ASSETS_QDRANT_URL", raising=False)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="media-assets")
    search_cli.add_search_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def json_hits(capsys: pytest.CaptureFixture[str], argv: list[str]) -> list[dict]:
    assert run(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_json_lines_best_first_with_time_and_source(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hits = json_hits(capsys, ["search", "red bicycle", "--out", str(data_root), "--json"])
    assert len(hits) == 3
    assert hits[0]["partition"] == "aaaaaaaaaaaaaaaa" and set(hits[0]["sources"]) == {"fulltext", "semantic"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    by_key = {(d["partition"], d["kind"], d["item"]): d for d in DOCS}
    for h in hits:
        d = by_key[(h["partition"], h["kind"], h["item"])]
        assert (h["start"], h["end"], h["source"]) == (d["start"], d["end"], f"/media/{d['partition']}.mp4")
        assert h["snippet"] in d["text"]


def test_filters_kind_video_and_top(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(data_root)
    hits = json_hits(capsys, ["search", "bicycle", "--out", out, "--json", "--kind", "text_event"])
    assert [(h["kind"], h["partition"]) for h in hits] == [("text_event", "aaaaaaaaaaaaaaaa")]
    argv = ["search", "bicycle", "--out", out, "--json", "--kind", "segment,text_event", "--top", "1"]
    hits = json_hits(capsys, argv)
    assert len(hits) == 1
    for video in ("race.mkv", "/videos/race.mkv", "bbbbbbbbbbbbbbbb"):
        hits = json_hits(capsys, ["search", "bicycle", "--out", out, "--json", "--video", video])
        assert {h["partition"] for h in hits} == {"bbbbbbbbbbbbbbbb"}, video
    assert json_hits(capsys, ["search", "bicycle", "--out", out, "--json", "--video", "nothing.mp4"]) == []


def test_table_output(data_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    assert run(["search", "garden", "--out", str(data_root)]) == 0
    text = capsys.readouterr().out
    assert "01:01.5-01:04.0" in text and "garden" in text and "aaaaaaaaaaaaaaaa.mp4" in text
    assert run(["search", "bicycle sale", "--out", str(data_root), "--kind", "text_event"]) == 0
    assert "[sale]" in capsys.readouterr().out  # brackets are text, not rich markup


@pytest.mark.parametrize("query", ["", "zzqx vvk", '"', "a:b AND (", "NOT"])
def test_empty_nonsense_and_syntax_queries(data_root: Path, capsys: pytest.CaptureFixture[str], query: str) -> None:
    assert json_hits(capsys, ["search", query, "--out", str(data_root), "--json"]) == []
    assert run(["search", query, "--out", str(data_root)]) == 0
    assert "no hits" in capsys.readouterr().out


def test_full_text_only_when_the_model_is_missing(
    data_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("model all-MiniLM-L6-v2 not found in: /nowhere")

    monkeypatch.setattr(search_cli, "load_query_embedder", broken)
    assert run(["search", "bicycle", "--out", str(data_root), "--json"]) == 0
    captured = capsys.readouterr()
    hits = [json.loads(line) for line in captured.out.splitlines()]
    assert hits and all(h["sources"] == ["fulltext"] for h in hits)
    assert "semantic search off" in captured.err and "/nowhere" in captured.err


def test_errors(tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["search", "x", "--out", str(tmp_path / "empty")]) == 1
    assert "nothing indexed" in capsys.readouterr().err
    assert run(["search", "x", "--out", str(data_root), "--kind", "bogus"]) == 2
    assert run(["search", "x", "--out", str(data_root), "--top", "0"]) == 2
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert run(["search", "bicycle", "--out", str(data_root), "--qdrant-url", url]) == 2
    assert url in capsys.readouterr().err.replace("\n", "")
