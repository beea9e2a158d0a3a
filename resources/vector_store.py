"""The vector store as a Dagster resource: a Qdrant server (``url``) or the embedded store (``path``).

Env defaults (``from_env``): ``MEDIA_ASSETS_QDRANT_URL``, ``MEDIA_ASSETS_QDRANT_API_KEY``,
``MEDIA_ASSETS_INDEX_DIR`` (embedded store in ``<index dir>/vectors``; default ``<data root>/_index``, the data
root being ``MEDIA_ASSETS_STORE_ROOT`` or ``./media_data``), ``MEDIA_ASSETS_COLLECTION_PREFIX``.
The store is opened on first use and closed when the run's step ends.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.search.index_paths import default_index_dir, vectors_dir
from media_assets.core.search.vector_store import VectorStore, open_vector_store
from resources.media_store import DEFAULT_ROOT, ENV_STORE_ROOT

ENV_QDRANT_URL = "MEDIA_ASSETS_QDRANT_URL"
ENV_QDRANT_API_KEY = "MEDIA_ASSETS_QDRANT_API_KEY"
ENV_COLLECTION_PREFIX = "MEDIA_ASSETS_COLLECTION_PREFIX"


def default_vectors_path() -> Path:
    """``<index dir>/vectors`` for the data root of the environment."""
    return vectors_dir(default_index_dir(os.environ.get(ENV_STORE_ROOT) or DEFAULT_ROOT))


class VectorStoreResource(dg.ConfigurableResource):
    """Where embeddings live. Collections are named ``<collection_prefix>_<kind>`` (``media_text``, ...)."""

    url: str | None = Field(default=None, description="Qdrant server URL; None = the embedded store at `path`")
    api_key: str | None = Field(default=None, description="Qdrant API key (server only)")
    path: str | None = Field(default=None, description="embedded store folder; None = <index dir>/vectors")
    collection_prefix: str = Field(default="media", description="collections are <prefix>_text, <prefix>_image")
    datatype: str = Field(
        default="float16",
        description="embedded store: vector storage of new collections (float16 scans twice as few bytes; float32)",
    )

    _store: VectorStore | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> VectorStoreResource:
        return cls(
            url=os.environ.get(ENV_QDRANT_URL) or None,
            api_key=os.environ.get(ENV_QDRANT_API_KEY) or None,
            collection_prefix=os.environ.get(ENV_COLLECTION_PREFIX) or "media",
        )

    @property
    def endpoint(self) -> str:
        return self.url or str(self.resolved_path())

    def resolved_path(self) -> Path:
        return Path(self.path).expanduser() if self.path else default_vectors_path()

    def collection(self, kind: str) -> str:
        """The collection holding ``kind`` vectors (``text`` or ``image``)."""
        return f"{self.collection_prefix}_{kind}"

    def open(self) -> VectorStore:
        """The store (opened once per resource instance; an unreachable server raises naming its URL)."""
        if self._store is None:
            if self.url:
                self._store = open_vector_store(url=self.url, api_key=self.api_key)
            else:
                self._store = open_vector_store(path=self.resolved_path(), datatype=self.datatype)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()
