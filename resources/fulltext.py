"""The full-text index (tantivy, embedded) as a Dagster resource.

``path`` defaults to ``<index dir>/fulltext`` (``MEDIA_ASSETS_INDEX_DIR``, else ``<data root>/_index`` with the
data root from ``MEDIA_ASSETS_STORE_ROOT`` or ``./media_data``).
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.search.fulltext import FulltextIndex
from media_assets.core.search.index_paths import default_index_dir, fulltext_dir
from resources.media_store import DEFAULT_ROOT, ENV_STORE_ROOT


def default_fulltext_path() -> Path:
    return fulltext_dir(default_index_dir(os.environ.get(ENV_STORE_ROOT) or DEFAULT_ROOT))


class FulltextResource(dg.ConfigurableResource):
    """Transcripts and on-screen text, searchable by words with time-coded hits."""

    path: str | None = Field(default=None, description="index folder; None = <index dir>/fulltext")

    _index: FulltextIndex | None = PrivateAttr(default=None)

    def resolved_path(self) -> Path:
        return Path(self.path).expanduser() if self.path else default_fulltext_path()

    def open(self) -> FulltextIndex:
        if self._index is None:
            self._index = FulltextIndex(self.resolved_path())
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()
