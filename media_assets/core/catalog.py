"""The catalog: a relational summary of every partition and every materialization (SQLite or PostgreSQL).

One interface over SQLAlchemy Core; the dialect comes from the URL (``sqlite:///path`` or
``postgresql[+psycopg2]://user@host:port/db``). The schema is created idempotently on open. Every write is
one transaction (an upsert, or a result plus its job row), so a process killed mid-write leaves the previous
good state. Every table holds the latest state, so re-materializing never adds rows: ``processing_jobs`` keeps
the latest job of each (partition, asset) (Dagster's event log has the full history); with
``job_history=True`` it keeps one row per (run, partition, asset) instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from media_assets.core.catalog_schema import COST_COLUMNS, TABLES, build_metadata

CONNECT_TIMEOUT_S = 5
SQLITE_BUSY_TIMEOUT_MS = 30_000
JOB_STATUSES = ("ok", "failed", "skipped", "running", "interrupted")
SCHEMA_LOCK_KEY = 0x6D656469  # "medi": the advisory lock held while creating the tables


class CatalogUnavailableError(RuntimeError):
    """The catalog database cannot be reached or initialised; the message names the endpoint (no password)."""

    def __init__(self, endpoint: str, reason: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"catalog database {endpoint} is unavailable: {reason}")


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` -> ``postgresql+psycopg2://`` (SQLAlchemy 2.1 would look for psycopg 3)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg2://" + url[len(plain) :]
    return url


def safe_endpoint(url: str | sa.URL) -> str:
    """The URL without its password, for messages and metadata."""
    try:
        parsed = sa.make_url(url) if isinstance(url, str) else url
    except Exception:
        return "<unparseable catalog URL>"
    bare = sa.URL.create(
        parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query
    )
    return bare.render_as_string(hide_password=False)


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(value: Any) -> datetime | None:
    """datetime, ISO 8601 text or epoch seconds -> aware datetime (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def plain(value: Any) -> Any:
    """JSON-safe copy: Dagster ``MetadataValue``s become their ``.value``, NaN/inf become None, others str."""
    if hasattr(value, "value") and type(value).__module__.startswith("dagster"):
        value = value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return plain(value.model_dump(mode="json"))
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def output_uris(metadata: Mapping[str, Any]) -> list[str]:
    """URIs an asset reported: ``dagster/uri`` and any ``*uri``/``*_path`` string values."""
    found = []
    for key, value in metadata.items():
        if isinstance(value, str) and (key == "dagster/uri" or key.endswith("uri") or key.endswith("_path")) and value:
            found.append(value)
    return sorted(set(found))


def _model_name(metadata: Mapping[str, Any]) -> str | None:
    for key in ("model", "model_name", "text_model", "media_assets/model"):
        value = metadata.get(key)
        if isinstance(value, Mapping):
            value = value.get("name")
        if isinstance(value, str) and value:
            return value
    return None


class Catalog:
    """Open (and create if needed) the catalog at ``url``.

    ``schema`` (PostgreSQL only) and ``table_prefix`` keep several catalogs in one database (tests use them).
    ``job_history``: keep every run's job row instead of the latest per (partition, asset).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        table_prefix: str = "",
        job_history: bool = False,
        create: bool = True,
    ) -> None:
        self.url = normalise_url(url)
        self.job_history = job_history
        self.endpoint = safe_endpoint(self.url)
        try:
            parsed = sa.make_url(self.url)
        except Exception as exc:
            raise CatalogUnavailableError(self.endpoint, f"invalid URL ({exc})") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise CatalogUnavailableError(self.endpoint, f"unsupported database {self.dialect!r} (sqlite, postgresql)")
        if self.dialect == "sqlite" and schema:
            raise ValueError("schema is only supported on PostgreSQL; use table_prefix on SQLite")
        self.schema = schema
        self.metadata = build_metadata(schema, table_prefix)
        self.tables = {name: self.metadata.tables[self._qualified(table_prefix + name)] for name in TABLES}
        self.engine = self._make_engine(parsed)
        if create:
            self.create_schema()

    def _qualified(self, name: str) -> str:
        return f"{self.schema}.{name}" if self.schema else name

    def _make_engine(self, parsed: sa.URL) -> sa.Engine:
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

            @sa.event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()

            return engine
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})

    def create_schema(self) -> None:
        """Create the schema and tables if missing (safe to call concurrently and repeatedly).

        ``create_all`` checks, then creates: two processes opening a new catalog at once would both create. The
        check and create run under an exclusive lock: a lock file beside a SQLite database, a transaction-scoped
        advisory lock on PostgreSQL."""
        try:
            with self._schema_lock(), self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
                if self.schema:
                    conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                self.metadata.create_all(conn, checkfirst=True)
                self._add_missing_columns(conn)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise CatalogUnavailableError(self.endpoint, str(exc.orig or exc).strip().splitlines()[0]) from exc

    def _add_missing_columns(self, conn: sa.Connection) -> None:
        """Columns added to the schema since a catalog was made (``ALTER TABLE ... ADD COLUMN``, nullable)."""
        inspector = sa.inspect(conn)
        for table in self.tables.values():
            present = {c["name"] for c in inspector.get_columns(table.name, schema=table.schema)}
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(dialect=conn.dialect)
                    name = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
                    conn.execute(sa.text(f'ALTER TABLE {name} ADD COLUMN "{column.name}" {kind}'))

    @contextlib.contextmanager
    def _schema_lock(self) -> Iterator[None]:
        database = sa.make_url(self.url).database if self.dialect == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        fd = os.open(f"{Path(database).expanduser()}.schema-lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def close(self) -> None:
        self.engine.dispose()

    # ---- writes --------------------------------------------------------------------------------------------

    def _upsert(self, conn: sa.Connection, table: sa.Table, row: dict[str, Any], keys: list[str]) -> None:
        insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(table).values(**row)
        update = {k: insert.excluded[k] for k in row if k not in keys}
        conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=update))

    def _write(self, fn: Any) -> None:
        try:
            with self.engine.begin() as conn:
                fn(conn)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            if self.dialect == "postgresql" and "connect" in str(exc).lower():
                raise CatalogUnavailableError(self.endpoint, str(exc.orig or exc).strip().splitlines()[0]) from exc
            raise

    def upsert_video(
        self,
        partition: str,
        *,
        source_uri: str | None = None,
        size_bytes: int | None = None,
        duration_s: float | None = None,
        container: str | None = None,
        has_audio: bool | None = None,
        has_video: bool | None = None,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        status: str | None = None,
        registered_at: datetime | str | None = None,
    ) -> None:
        """Insert or update one video; fields left None keep their stored value (status defaults to registered)."""
        given = {
            "source_uri": source_uri,
            "size_bytes": size_bytes,
            "duration_s": duration_s,
            "container": container,
            "has_audio": has_audio,
            "has_video": has_video,
            "width": width,
            "height": height,
            "fps": fps,
            "status": status,
            "registered_at": _ts(registered_at),
        }
        row = {k: v for k, v in given.items() if v is not None}
        row.update({"partition": partition, "updated_at": _now()})
        table = self.tables["videos"]

        def write(conn: sa.Connection) -> None:
            insert_row = {"status": "registered", "registered_at": row["updated_at"], **row}
            stmt = (postgresql if self.dialect == "postgresql" else sqlite).insert(table).values(**insert_row)
            stmt = stmt.on_conflict_do_update(
                index_elements=["partition"], set_={k: stmt.excluded[k] for k in row if k != "partition"}
            )
            conn.execute(stmt)

        self._write(write)

    def upsert_video_from_metadata(self, partition: str, media_info: Mapping[str, Any], **extra: Any) -> None:
        """``upsert_video`` from a ``media_metadata.json`` dict (first video stream for the picture fields)."""
        streams = media_info.get("streams") or []
        video = next((s for s in streams if s.get("kind") == "video" and not s.get("attached_pic")), None)
        has_audio = any(s.get("kind") == "audio" for s in streams)
        self.upsert_video(
            partition,
            source_uri=extra.pop("source_uri", None) or media_info.get("source_uri") or media_info.get("path"),
            size_bytes=media_info.get("size_bytes"),
            duration_s=media_info.get("duration_s"),
            container=media_info.get("format_name"),
            has_audio=has_audio,
            has_video=video is not None,
            width=(video or {}).get("display_width") or (video or {}).get("width"),
            height=(video or {}).get("display_height") or (video or {}).get("height"),
            fps=(video or {}).get("fps"),
            **extra,
        )

    def record_materialization(
        self,
        partition: str,
        asset: str,
        status: str,
        metadata: Mapping[str, Any] | None = None,
        run_id: str = "",
        *,
        started_at: datetime | str | float | None = None,
        finished_at: datetime | str | float | None = None,
        elapsed_s: float | None = None,
        error_code: str | None = None,
        error: str | None = None,
        code_version: str | None = None,
        model: str | None = None,
        preset: str | None = None,
        outputs: list[str] | None = None,
    ) -> None:
        """One job row, plus (when ``status == "ok"``) the latest result of (partition, asset), atomically.

        Missing arguments are taken from the metadata ``run_partitions`` writes (``elapsed_s``, ``error_code``,
        ``error``, ``media_assets/code_version``, ``media_assets/preset``, ``model``...). A failed job keeps the
        previous good result.
        """
        meta = plain(dict(metadata or {}))
        finished = _ts(finished_at) or _now()
        elapsed = elapsed_s if elapsed_s is not None else meta.get("elapsed_s")
        started = _ts(started_at)
        if started is None and isinstance(elapsed, (int, float)):
            started = datetime.fromtimestamp(finished.timestamp() - float(elapsed), UTC)
        version = code_version or meta.get("media_assets/code_version")
        job = {
            "run_id": run_id or "",
            "partition": partition,
            "asset": asset,
            "status": status,
            "started_at": started,
            "finished_at": finished,
            "elapsed_s": float(elapsed) if isinstance(elapsed, (int, float)) else None,
            "error_code": error_code or meta.get("error_code"),
            "error": error or meta.get("error"),
            "code_version": version,
            "model": model or _model_name(meta),
            "preset": preset or meta.get("media_assets/preset"),
            **{name: _float(meta.get(f"cost/{name}")) for name in COST_COLUMNS},
        }
        result = {
            "status": status,
            "metadata": meta,
            "outputs": sorted(set(outputs or []) | set(output_uris(meta))),
            "run_id": run_id,
        }

        def write(conn: sa.Connection) -> None:
            jobs = self.tables["processing_jobs"]
            if not self.job_history:
                conn.execute(
                    sa.delete(jobs).where(
                        jobs.c.partition == partition, jobs.c.asset == asset, jobs.c.run_id != job["run_id"]
                    )
                )
            self._upsert(conn, jobs, job, ["run_id", "partition", "asset"])
            if status == "ok":
                row = {
                    "partition": partition,
                    "asset": asset,
                    "result": result,
                    "code_version": version,
                    "updated_at": finished,
                }
                self._upsert(conn, self.tables["video_results"], row, ["partition", "asset"])

        self._write(write)

    def upsert_timeline(self, partition: str, timeline: Mapping[str, Any]) -> None:
        row = {"partition": partition, "timeline": plain(dict(timeline)), "updated_at": _now()}
        self._write(lambda conn: self._upsert(conn, self.tables["timelines"], row, ["partition"]))

    # ---- reads ---------------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Row count per table."""
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for name, t in self.tables.items()
            }

    def _one(self, table: str, **where: Any) -> dict[str, Any] | None:
        t = self.tables[table]
        stmt = sa.select(t).where(*(t.c[k] == v for k, v in where.items()))
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return dict(row) if row is not None else None

    def get_video(self, partition: str) -> dict[str, Any] | None:
        return self._one("videos", partition=partition)

    def get_result(self, partition: str, asset: str) -> dict[str, Any] | None:
        return self._one("video_results", partition=partition, asset=asset)

    def get_timeline(self, partition: str) -> dict[str, Any] | None:
        return self._one("timelines", partition=partition)

    def jobs(self, partition: str | None = None, asset: str | None = None) -> list[dict[str, Any]]:
        t = self.tables["processing_jobs"]
        stmt = sa.select(t).order_by(t.c.finished_at)
        if partition is not None:
            stmt = stmt.where(t.c.partition == partition)
        if asset is not None:
            stmt = stmt.where(t.c.asset == asset)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def current_results(
        self, partitions: Sequence[str], assets: Sequence[str]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """What made the current output of each (partition, asset): ``code_version``, ``preset`` and ``model``
        of its last successful materialization (a later failure keeps them), so callers can tell which outputs
        are out of date."""
        t = self.tables["video_results"]
        out: dict[tuple[str, str], dict[str, Any]] = {}
        parts = list(dict.fromkeys(partitions))
        with self.engine.connect() as conn:
            for lo in range(0, len(parts), 500):  # bounded IN lists
                stmt = sa.select(t.c.partition, t.c.asset, t.c.code_version, t.c.result).where(
                    t.c.partition.in_(parts[lo : lo + 500]), t.c.asset.in_(list(assets))
                )
                for row in conn.execute(stmt).mappings():
                    result = row["result"] if isinstance(row["result"], dict) else json.loads(row["result"])
                    meta = result.get("metadata") or {}
                    out[(row["partition"], row["asset"])] = {
                        "code_version": row["code_version"],
                        "preset": meta.get("media_assets/preset"),
                        "model": _model_name(meta),
                    }
        return out

    def lineage(self, partition: str) -> dict[str, dict[str, Any]]:
        """What made each current output of ``partition``: asset -> code version, preset, model, run id and when."""
        t = self.tables["video_results"]
        stmt = sa.select(t.c.asset, t.c.code_version, t.c.result, t.c.updated_at).where(t.c.partition == partition)
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                result = row["result"] if isinstance(row["result"], dict) else json.loads(row["result"])
                meta = result.get("metadata") or {}
                out[row["asset"]] = {
                    "code_version": row["code_version"],
                    "preset": meta.get("media_assets/preset"),
                    "model": _model_name(meta),
                    "run_id": result.get("run_id"),
                    "updated_at": row["updated_at"],
                }
        return out

    def drop_all(self) -> None:
        """Drop the tables (and the schema, when one was given). For tests and ``reset`` tooling."""
        with self.engine.begin() as conn:
            self.metadata.drop_all(conn, checkfirst=True)
            if self.schema:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))


def open_catalog(
    url: str | None = None,
    path: str | Path | None = None,
    *,
    schema: str | None = None,
    table_prefix: str = "",
    job_history: bool = False,
) -> Catalog:
    """``url`` wins; else the SQLite file ``path``. One of them is required."""
    if url:
        return Catalog(url, schema=schema, table_prefix=table_prefix, job_history=job_history)
    if path:
        return Catalog(sqlite_url(path), table_prefix=table_prefix, job_history=job_history)
    raise ValueError("open_catalog needs a database URL or a SQLite path")
