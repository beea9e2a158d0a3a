"""``CatalogResource``: the catalog database (SQLite file by default, PostgreSQL when a URL is configured).

Resolution: ``url`` (or env ``MEDIA_ASSETS_CATALOG_URL``) -> that database; else ``path`` -> that SQLite file;
else ``<index_dir>/catalog.sqlite`` beside the search indexes (``index_paths.default_index_dir``:
``$MEDIA_ASSETS_INDEX_DIR``, else ``<data root>/_index``; the assets pass the media store's root, else
``$MEDIA_ASSETS_STORE_ROOT``).
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.catalog import Catalog, open_catalog
from media_assets.core.search.index_paths import default_index_dir
from resources.media_store import DEFAULT_ROOT, ENV_STORE_ROOT

ENV_CATALOG_URL = "MEDIA_ASSETS_CATALOG_URL"
CATALOG_FILE = "catalog.sqlite"


class CatalogResource(dg.ConfigurableResource):
    """Where materializations, videos and timelines are recorded; the database is opened once per process."""

    url: str | None = Field(
        default=None, description="SQLAlchemy/PostgreSQL URL (postgresql+psycopg2://user@host:5432/db)"
    )
    path: str | None = Field(default=None, description="SQLite file (default <index_dir>/catalog.sqlite)")
    schema_name: str | None = Field(default=None, description="PostgreSQL schema for the tables")
    job_history: bool = Field(
        default=False, description="keep a processing_jobs row per run (default: the latest per partition and asset)"
    )

    _catalog: Catalog | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> CatalogResource:
        return cls(url=os.environ.get(ENV_CATALOG_URL) or None)

    def resolved_path(self, root: str | None = None) -> Path:
        """``path``, else ``catalog.sqlite`` in the index folder of ``root`` (the media store's data root)."""
        if self.path:
            return Path(self.path).expanduser()
        return default_index_dir(root or os.environ.get(ENV_STORE_ROOT) or DEFAULT_ROOT) / CATALOG_FILE

    def open(self, root: str | None = None) -> Catalog:
        """The database, opened once per resource; ``root`` places the default SQLite file beside the data."""
        if self._catalog is None:
            url = self.url or os.environ.get(ENV_CATALOG_URL) or None
            if url:
                self._catalog = open_catalog(url=url, schema=self.schema_name, job_history=self.job_history)
            else:
                self._catalog = open_catalog(path=self.resolved_path(root), job_history=self.job_history)
        return self._catalog

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
