"""The catalog on SQLite and on the local PostgreSQL: idempotent schema, upserts, history, atomic writes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from media_assets.core.catalog import Catalog, CatalogUnavailableError, safe_endpoint
from media_assets.core.probe import probe
from resources.catalog import CatalogResource

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_args(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict]:
    """Constructor arguments of a fresh catalog (a unique PostgreSQL schema, dropped afterwards)."""
    if request.param == "sqlite":
        yield {"url": f"sqlite:///{tmp_path / 'index' / 'catalog.sqlite'}"}
        return
    schema = f"catalog_test_{uuid.uuid4().hex[:12]}"
    yield {"url": PG_URL, "schema": schema}
    engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def catalog(catalog_args: dict) -> Iterator[Catalog]:
    cat = Catalog(**catalog_args)
    yield cat
    cat.close()


def test_schema_is_created_idempotently(catalog_args: dict) -> None:
    first = Catalog(**catalog_args)
    first.upsert_timeline("k1", {"events": []})
    second = Catalog(**catalog_args)  # opening again keeps the data
    assert second.counts() == {"videos": 0, "processing_jobs": 0, "video_results": 0, "timelines": 1}
    tables = set(sa.inspect(second.engine).get_table_names(schema=catalog_args.get("schema")))
    assert tables == {"videos", "processing_jobs", "video_results", "timelines"}
    first.close()
    second.close()


def test_videos_upsert_from_probed_media(catalog: Catalog, media_dir: Path, truth: dict) -> None:
    rel = "video/composite_bbb_cuts_jfk_speech.mp4"
    info = probe(media_dir / rel).model_dump(mode="json")
    catalog.upsert_video("k1", source_uri=str(media_dir / rel), registered_at="2026-11-21T07:00:00Z")
    assert catalog.get_video("k1")["status"] == "registered"
    catalog.upsert_video_from_metadata("k1", info, status="processed")
    catalog.upsert_video_from_metadata("k1", info, status="processed")
    row = catalog.get_video("k1")
    assert catalog.counts()["videos"] == 1
    assert (row["width"], row["height"], row["has_audio"], row["has_video"]) == (640, 360, True, True)
    assert (
        row["duration_s"] == pytest.approx(info["duration_s"]) and row["size_bytes"] == (media_dir / rel).stat().st_size
    )
    assert row["source_uri"] == str(media_dir / rel) and row["status"] == "processed"
    assert row["registered_at"].year == 2026 and row["updated_at"] >= row["registered_at"]
    audio = probe(media_dir / "speech/LDC93S1.wav").model_dump(mode="json")
    catalog.upsert_video_from_metadata("k2", audio)
    assert catalog.get_video("k2")["has_video"] is False and catalog.get_video("k2")["width"] is None


def test_materializations_keep_latest_job_and_result(catalog: Catalog) -> None:
    meta = {
        "status": "ok",
        "elapsed_s": 1.5,
        "media_assets/code_version": "1",
        "media_assets/preset": "balanced",
        "dagster/uri": "/data/k1/embeddings.json",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "vectors": dg.MetadataValue.int(12),
        "counts": dg.MetadataValue.json({"segment": 4, "scene": 8}),
        "ratio": float("nan"),
    }
    catalog.record_materialization("k1", "embeddings", "ok", meta, run_id="run-1")
    catalog.record_materialization("k1", "embeddings", "ok", {**meta, "vectors": 13}, run_id="run-2")
    catalog.record_materialization("k1", "embeddings", "ok", {**meta, "vectors": 13}, run_id="run-2")  # replayed
    catalog.record_materialization("k2", "embeddings", "ok", meta, run_id="run-2")
    assert catalog.counts() == {"videos": 0, "processing_jobs": 2, "video_results": 2, "timelines": 0}
    assert [j["run_id"] for j in catalog.jobs("k1")] == ["run-2"]
    result = catalog.get_result("k1", "embeddings")
    assert result["code_version"] == "1"
    assert result["result"]["metadata"]["vectors"] == 13 and result["result"]["metadata"]["ratio"] is None
    assert result["result"]["metadata"]["counts"] == {"segment": 4, "scene": 8}
    assert result["result"]["outputs"] == ["/data/k1/embeddings.json"] and result["result"]["run_id"] == "run-2"
    job = catalog.jobs("k1", "embeddings")[-1]
    assert (job["model"], job["preset"], job["elapsed_s"], job["status"]) == (
        "sentence-transformers/all-MiniLM-L6-v2",
        "balanced",
        1.5,
        "ok",
    )
    assert job["started_at"] < job["finished_at"]
    # a failure is logged but keeps the previous good result
    failed = {"status": "failed", "error_code": "corrupted", "error": "x.mp4: bad", "media_assets/code_version": "2"}
    catalog.record_materialization("k1", "embeddings", "failed", failed, run_id="run-3")
    assert catalog.get_result("k1", "embeddings")["result"]["metadata"]["vectors"] == 13
    [job] = catalog.jobs("k1", "embeddings")
    assert (job["status"], job["error_code"], job["error"], job["code_version"]) == (
        "failed",
        "corrupted",
        "x.mp4: bad",
        "2",
    )


def test_current_results_say_what_made_each_output(catalog: Catalog) -> None:
    meta = {"media_assets/code_version": "1", "media_assets/preset": "fast", "model": "base"}
    catalog.record_materialization("k1", "transcript", "ok", meta, run_id="run-1")
    catalog.record_materialization("k1", "transcript", "failed", {"media_assets/code_version": "2"}, run_id="run-2")
    catalog.record_materialization("k2", "transcript", "ok", {**meta, "media_assets/code_version": "2"}, run_id="r")
    catalog.record_materialization("k2", "scenes", "ok", meta, run_id="r")
    got = catalog.current_results(["k1", "k2", "k3"], ["transcript"])
    assert got == {  # k1's failure keeps what made its output; scenes and k3 are not asked for / absent
        ("k1", "transcript"): {"code_version": "1", "preset": "fast", "model": "base"},
        ("k2", "transcript"): {"code_version": "2", "preset": "fast", "model": "base"},
    }
    assert catalog.current_results([], ["transcript"]) == {}


def test_job_history_keeps_every_run(catalog_args: dict) -> None:
    catalog = Catalog(**catalog_args, job_history=True)
    for run in ("run-1", "run-2", "run-2"):
        catalog.record_materialization("k1", "scenes", "ok", {"cuts": 2}, run_id=run)
    catalog.record_materialization("k1", "scenes", "failed", {"error_code": "corrupted"}, run_id="run-3")
    assert [(j["run_id"], j["status"]) for j in catalog.jobs("k1", "scenes")] == [
        ("run-1", "ok"),
        ("run-2", "ok"),
        ("run-3", "failed"),
    ]
    assert catalog.counts()["video_results"] == 1
    catalog.close()


def test_json_columns_are_queryable(catalog: Catalog) -> None:
    catalog.record_materialization("k1", "scenes", "ok", {"cuts": 2}, run_id="r")
    catalog.record_materialization("k2", "scenes", "ok", {"cuts": 5}, run_id="r")
    t = catalog.tables["video_results"]
    if catalog.dialect == "postgresql":
        columns = sa.inspect(catalog.engine).get_columns("video_results", schema=catalog.schema)
        assert type(next(c for c in columns if c["name"] == "result")["type"]).__name__ == "JSONB"
    cuts = t.c.result["metadata"]["cuts"].as_integer()
    with catalog.engine.connect() as conn:
        assert conn.execute(sa.select(t.c.partition).where(cuts > 3)).scalars().all() == ["k2"]


def test_timeline_upsert_replaces(catalog: Catalog) -> None:
    catalog.upsert_timeline("k1", {"events": [{"id": "e1"}]})
    catalog.upsert_timeline("k1", {"events": [{"id": "e1"}, {"id": "e2"}]})
    assert catalog.counts()["timelines"] == 1
    assert [e["id"] for e in catalog.get_timeline("k1")["timeline"]["events"]] == ["e1", "e2"]


def test_failed_write_changes_nothing(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog.record_materialization("k1", "scenes", "ok", {"cuts": 2}, run_id="good")
    original = Catalog._upsert

    def failing(self, conn, table, row, keys):
        if table.name.endswith("video_results"):
            raise RuntimeError("disk full")
        return original(self, conn, table, row, keys)

    monkeypatch.setattr(Catalog, "_upsert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        catalog.record_materialization("k1", "scenes", "ok", {"cuts": 9}, run_id="bad")
    assert [j["run_id"] for j in catalog.jobs("k1")] == ["good"]  # the job row went with the failed result
    assert catalog.get_result("k1", "scenes")["result"]["metadata"]["cuts"] == 2


def test_killed_writer_leaves_previous_state(catalog_args: dict, catalog: Catalog) -> None:
    catalog.upsert_timeline("k1", {"version": "good"})
    script = textwrap.dedent(
        f"""
        import os, signal
        from media_assets.core.catalog import Catalog
        cat = Catalog(**{catalog_args!r})
        original = Catalog._upsert
        def upsert_then_die(self, conn, table, row, keys):
            original(self, conn, table, row, keys)
            os.kill(os.getpid(), signal.SIGKILL)  # dies inside the transaction, after the write
        Catalog._upsert = upsert_then_die
        cat.upsert_timeline("k1", {{"version": "half-written"}})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert proc.returncode == -9
    reopened = Catalog(**catalog_args)
    assert reopened.get_timeline("k1")["timeline"] == {"version": "good"}
    reopened.upsert_timeline("k1", {"version": "next"})  # not locked by the dead writer
    assert reopened.get_timeline("k1")["timeline"] == {"version": "next"}
    reopened.close()


def test_unreachable_catalog_names_endpoint_without_password() -> None:
    with pytest.raises(CatalogUnavailableError) as err:
        Catalog("postgresql://postgres:s3cret@127.0.0.1:1/test")
    message = str(err.value)
    assert "127.0.0.1:1/test" in message and "postgres@" in message and "s3cret" not in message
    assert safe_endpoint("postgresql+psycopg2://u:pw@h:5/d") == "postgresql+psycopg2://u@h:5/d"
    with pytest.raises(CatalogUnavailableError, match="unsupported"):
        Catalog("mysql://u@h/d")


def test_resource_defaults_to_sqlite_beside_the_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIA_ASSETS_CATALOG_URL", raising=False)
    monkeypatch.delenv("MEDIA_ASSETS_INDEX_DIR", raising=False)
    monkeypatch.setenv("MEDIA_ASSETS_STORE_ROOT", str(tmp_path / "data"))
    resource = CatalogResource()
    assert resource.resolved_path() == tmp_path / "data" / "_index" / "catalog.sqlite"
    resource.open().upsert_timeline("k", {})
    assert (tmp_path / "data" / "_index" / "catalog.sqlite").is_file()
    resource.open().close()
    explicit = CatalogResource(path=str(tmp_path / "c.sqlite"))
    assert explicit.open().counts()["timelines"] == 0
    explicit.open().close()
    monkeypatch.setenv("MEDIA_ASSETS_CATALOG_URL", "postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(CatalogUnavailableError, match=r"127\.0\.0\.1:1"):
        CatalogResource.from_env().open()


def test_a_catalog_made_before_the_cost_columns_gets_them(tmp_path) -> None:
    """Catalogs made by earlier releases are migrated in place (ALTER TABLE ADD COLUMN), their rows kept."""
    import sqlite3

    from media_assets.core.catalog import open_catalog

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE processing_jobs (run_id VARCHAR(64), partition VARCHAR(64), asset VARCHAR(128), "
            "status VARCHAR(32) NOT NULL, started_at DATETIME, finished_at DATETIME, elapsed_s FLOAT, "
            "error_code VARCHAR(64), error TEXT, code_version VARCHAR(64), model TEXT, preset VARCHAR(32), "
            "PRIMARY KEY (run_id, partition, asset))"
        )
        db.execute("INSERT INTO processing_jobs (run_id, partition, asset, status) VALUES ('r', 'p', 'audio', 'ok')")
    catalog = open_catalog(path=path)
    try:
        catalog.record_materialization("p", "transcript", "ok", {"cost/cpu_s": 1.5, "cost/rtf": 0.1}, run_id="r2")
        jobs = {j["asset"]: j for j in catalog.jobs(partition="p")}
    finally:
        catalog.close()
    assert jobs["audio"]["status"] == "ok" and jobs["audio"]["cpu_s"] is None
    assert jobs["transcript"]["cpu_s"] == 1.5 and jobs["transcript"]["rtf"] == 0.1
