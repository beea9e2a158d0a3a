"""The whole pipeline through `media-assets process`, then search, as a user runs it (issue 5's must-shows).

One library of three real files: the composite (Big Buck Bunny cuts + JFK's speech), the first 30 s of Big
Buck Bunny (music, a title overlay) and a read-speech WAV. Frames are also sampled at 1 fps so that the
title overlay, visible for about 2.4 s, reaches OCR.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

COMPOSITE = "video/composite_bbb_cuts_jfk_speech.mp4"
BBB = "video/bbb_0_30.webm"
READ_SPEECH = "speech/LDC93S1.wav"


def _cli(home: Path, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    env.pop("MEDIA_ASSETS_INDEX_DIR", None)
    res = subprocess.run(
        [sys.executable, "-m", "media_assets.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    if check:
        assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> dict:
    root = tmp_path_factory.mktemp("e2e")
    out = root / "out"
    files = [str(media_dir / rel) for rel in (COMPOSITE, BBB, READ_SPEECH)]
    res = _cli(root / "home", root, "process", *files, "--out", str(out), "--sample-fps", "1", "--json", "--quiet")
    rows = {Path(r["input"]).name: r for r in map(json.loads, res.stdout.splitlines())}
    assert all(r["status"] == "ok" for r in rows.values()), rows
    return {"root": root, "out": out, "keys": {name: r["partition"] for name, r in rows.items()}}


def _search(library: dict, query: str, *extra: str) -> list[dict]:
    res = _cli(
        library["root"] / "home", library["root"], "search", query, "--out", str(library["out"]), "--json", *extra
    )
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def _counts(library: dict) -> dict[str, int]:
    from media_assets.core.search.vector_store import open_vector_store

    index = library["out"] / "_index"
    store = open_vector_store(path=index / "vectors")
    try:
        vectors = store.count("media_text")
    finally:
        store.close()
    with sqlite3.connect(index / "catalog.sqlite") as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        rows = {t: db.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    return {"vectors": vectors, **rows}


def test_spoken_sentence_finds_the_composite_inside_the_speech(library: dict, truth: dict) -> None:
    hits = _search(library, "ask not what your country can do for you")
    assert hits, "no hits"
    first = hits[0]
    assert first["partition"] == library["keys"][Path(COMPOSITE).name]
    speech_end = truth["speech"]["speech/jfk.flac"]["duration_s"]
    assert 0.0 <= first["start"] < first["end"] <= speech_end + 0.5


def test_title_overlay_is_found_at_its_time(library: dict, truth: dict) -> None:
    hits = _search(library, "peach open movie project", "--kind", "text_event")
    assert hits, "no hits"
    first = hits[0]
    assert first["partition"] == library["keys"][Path(BBB).name]
    fps = truth["video"][BBB]["metadata_origin_truth"]["fps"]
    overlay = next(t for t in truth["video"][BBB]["text_overlays_helper_read"] if "PEACH" in t["text"])
    a, b = (f / fps for f in overlay["frames_visible_approx"])
    assert a - 1.0 <= first["start"] <= first["end"] <= b + 1.0  # 1 fps sampling: within a second


def test_words_fall_inside_the_right_scenes(library: dict, truth: dict) -> None:
    key = library["keys"][Path(COMPOSITE).name]
    timeline = json.loads((library["out"] / key / "timeline.json").read_text())
    cuts = truth["video"][COMPOSITE]["cut_rel_s"]
    bounds = [0.0, *cuts, float("inf")]
    words = [w for s in timeline["scenes"] for w in s["words"]]
    assert len(words) >= 20
    for scene in timeline["scenes"]:
        lo, hi = bounds[scene["index"]], bounds[scene["index"] + 1]
        for w in scene["words"]:
            mid = (w["start"] + w["end"]) / 2
            assert lo - 0.05 <= mid <= hi + 0.05, (scene["index"], w)
    spoken = " ".join(w["word"] for w in words).lower()
    assert "fellow americans" in spoken and "your country" in spoken


def test_rematerializing_twice_changes_no_counts(library: dict, media_dir: Path) -> None:
    before = _counts(library)
    assert before["vectors"] > 0 and before["videos"] == 3
    files = [str(media_dir / rel) for rel in (COMPOSITE, BBB, READ_SPEECH)]
    common = ["--out", str(library["out"]), "--sample-fps", "1", "--force", "--json", "--quiet"]
    home, cwd = library["root"] / "home", library["root"]
    _cli(home, cwd, "process", *files, *common)  # every asset, a second time
    assert _counts(library) == before
    _cli(home, cwd, "process", *files, *common, "--only", "embeddings,timeline")  # and the index writers again
    assert _counts(library) == before


def test_nonsense_and_empty_queries_return_nothing(library: dict) -> None:
    assert _search(library, "zxqv wplk") == []
    res = _cli(library["root"] / "home", library["root"], "search", "   ", "--out", str(library["out"]), "--json")
    assert res.stdout.strip() == ""


def test_every_model_assets_materialization_carries_its_cost(library: dict) -> None:
    """wall and CPU seconds, peak memory, media seconds and the real-time factor, per partition: in Dagster's
    metadata (the UI plots them over partitions) and in the catalog's job rows."""
    import dagster as dg

    from media_assets.asset_graph import MODEL_ASSETS
    from media_assets.instance import instance_lock

    home = library["root"] / "home"
    with instance_lock(home):
        instance = dg.DagsterInstance.from_config(str(home))
    with instance:
        for asset in MODEL_ASSETS:
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
            assert len({r.partition_key for r in records}) == 3, asset  # (other tests materialize them again)
            for record in records:
                meta = record.asset_materialization.metadata
                for field in ("cost/wall_s", "cost/cpu_s", "cost/peak_rss_mb", "cost/media_s", "cost/rtf"):
                    assert field in meta and meta[field].value >= 0, (asset, field)
                assert meta["cost/peak_rss_mb"].value > 50 and meta["cost/media_s"].value > 1, asset
    with sqlite3.connect(library["out"] / "_index" / "catalog.sqlite") as db:
        rows = db.execute("SELECT asset, cpu_s, peak_rss_mb, media_s, rtf FROM processing_jobs").fetchall()
    model_rows = [r for r in rows if r[0] in MODEL_ASSETS]
    assert len(model_rows) >= 3 * len(MODEL_ASSETS) and all(None not in r for r in model_rows)
