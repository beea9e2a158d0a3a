"""The catalog's tables (SQLAlchemy Core): the same schema on SQLite and PostgreSQL (JSON becomes JSONB).

* ``videos``: one row per partition (what the file is, where it came from, its processing status);
* ``processing_jobs``: the latest job of each (partition, asset), or every (run, partition, asset) with history on;
* ``video_results``: the latest result of each (partition, asset): summary metadata and output URIs;
* ``timelines``: the latest timeline of each partition.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
TABLES = ("videos", "processing_jobs", "video_results", "timelines")


# What a job cost (media_assets.core.cost): added to catalogs made before these columns existed by
# Catalog.create_schema.
COST_COLUMNS = ("cpu_s", "peak_rss_mb", "gpu_peak_mb", "media_s", "rtf")


def cost_columns() -> list[sa.Column]:
    return [sa.Column(name, sa.Float) for name in COST_COLUMNS]


def build_metadata(schema: str | None = None, prefix: str = "") -> sa.MetaData:
    """Tables named ``<prefix><table>``, in ``schema`` when given (PostgreSQL)."""
    md = sa.MetaData(schema=schema)
    sa.Table(
        f"{prefix}videos",
        md,
        sa.Column("partition", sa.String(64), primary_key=True),
        sa.Column("source_uri", sa.Text),
        sa.Column("size_bytes", sa.BigInteger),
        sa.Column("duration_s", sa.Float),
        sa.Column("container", sa.String(128)),
        sa.Column("has_audio", sa.Boolean),
        sa.Column("has_video", sa.Boolean),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("fps", sa.Float),
        sa.Column("status", sa.String(32), nullable=False, server_default="registered"),
        sa.Column("registered_at", TS),
        sa.Column("updated_at", TS, nullable=False),
    )
    sa.Table(
        f"{prefix}processing_jobs",
        md,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("partition", sa.String(64), primary_key=True),
        sa.Column("asset", sa.String(128), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("elapsed_s", sa.Float),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error", sa.Text),
        sa.Column("code_version", sa.String(64)),
        sa.Column("model", sa.Text),
        sa.Column("preset", sa.String(32)),
        *cost_columns(),
        sa.Index(f"ix_{prefix}processing_jobs_partition_asset", "partition", "asset"),
    )
    sa.Table(
        f"{prefix}video_results",
        md,
        sa.Column("partition", sa.String(64), primary_key=True),
        sa.Column("asset", sa.String(128), primary_key=True),
        sa.Column("result", JSON, nullable=False),
        sa.Column("code_version", sa.String(64)),
        sa.Column("updated_at", TS, nullable=False),
    )
    sa.Table(
        f"{prefix}timelines",
        md,
        sa.Column("partition", sa.String(64), primary_key=True),
        sa.Column("timeline", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    return md
