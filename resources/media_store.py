"""The media store as a Dagster resource: every artifact of a partition lives at ``<root>/<partition_key>/<name>``.

:class:`MediaStore` builds a backend from its config (a local directory, or ``s3://bucket/prefix``; see
:mod:`media_assets.core.store`, plain Python without Dagster) and delegates every operation to it. Callers use
its methods, never ``.backend.<operation>``.

The names re-exported below keep ``from resources.media_store import ...`` working for resources, sensors and
tests; other code imports them from :mod:`media_assets.core.store`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from media_assets.core.store import (
    DEFAULT_ROOT,
    ENV_CACHE_DIR,
    ENV_S3_ENDPOINT_URL,
    ENV_S3_REGION,
    ENV_STORE_ROOT,
    ORPHAN_AGE_S,
    TMP_PREFIX,
    LocalBackend,
    S3Backend,
    StoreBackend,
    default_cache_dir,
    dumps_json,
    make_backend,
    parse_s3_uri,
    tmp_prefix,
)

__all__ = [
    "DEFAULT_ROOT",
    "ENV_CACHE_DIR",
    "ENV_S3_ENDPOINT_URL",
    "ENV_S3_REGION",
    "ENV_STORE_ROOT",
    "ORPHAN_AGE_S",
    "TMP_PREFIX",
    "LocalBackend",
    "MediaStore",
    "S3Backend",
    "StoreBackend",
    "default_cache_dir",
    "dumps_json",
    "make_backend",
    "parse_s3_uri",
    "tmp_prefix",
]


class MediaStore(dg.ConfigurableResource):
    """Where every partition's artifacts live: ``<root>/<partition_key>/<name>``.

    ``root`` is a local directory or ``s3://bucket/prefix``. All methods delegate to the backend (see
    :class:`LocalBackend` / :class:`S3Backend`).
    """

    root: str = Field(default=DEFAULT_ROOT, description="Local directory or s3://bucket/prefix.")
    endpoint_url: str | None = Field(default=None, description="S3 endpoint (MinIO, SeaweedFS, ...).")
    region_name: str | None = Field(default=None, description="S3 region.")
    cache_dir: str | None = Field(
        default=None, description="Local cache for S3 sources/artifacts (default ~/.cache/media-assets)."
    )

    _backend: Any = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> MediaStore:
        """``MEDIA_ASSETS_STORE_ROOT`` (default ``./media_data``), ``MEDIA_ASSETS_S3_ENDPOINT_URL``,
        ``MEDIA_ASSETS_S3_REGION``, ``MEDIA_ASSETS_CACHE_DIR``."""
        return cls(
            root=os.environ.get(ENV_STORE_ROOT) or DEFAULT_ROOT,
            endpoint_url=os.environ.get(ENV_S3_ENDPOINT_URL) or None,
            region_name=os.environ.get(ENV_S3_REGION) or None,
            cache_dir=os.environ.get(ENV_CACHE_DIR) or None,
        )

    @property
    def backend(self) -> LocalBackend | S3Backend:
        if self._backend is None:
            self._backend = make_backend(
                self.root, endpoint_url=self.endpoint_url, region_name=self.region_name, cache_dir=self.cache_dir
            )
        return self._backend

    def uri(self, key: str, name: str) -> str:
        return self.backend.uri(key, name)

    def exists(self, key: str, name: str) -> bool:
        return self.backend.exists(key, name)

    def put_bytes(self, key: str, name: str, data: bytes) -> str:
        return self.backend.put_bytes(key, name, data)

    def put_bytes_if_absent(self, key: str, name: str, data: bytes) -> bool:
        return self.backend.put_bytes_if_absent(key, name, data)

    def put_file(self, key: str, name: str, local_path: str | os.PathLike[str]) -> str:
        return self.backend.put_file(key, name, local_path)

    def put_json(self, key: str, name: str, obj: Any) -> str:
        return self.backend.put_json(key, name, obj)

    def get_bytes(self, key: str, name: str) -> bytes:
        return self.backend.get_bytes(key, name)

    def get_json(self, key: str, name: str) -> Any:
        return self.backend.get_json(key, name)

    def list(self, key: str, prefix: str = "") -> list[str]:
        return self.backend.list(key, prefix)

    def delete_prefix(self, key: str, prefix: str) -> int:
        return self.backend.delete_prefix(key, prefix)

    def publish_dir(
        self, key: str, name_prefix: str, local_dir: str | os.PathLike[str], *, replace: bool = False
    ) -> list[str]:
        return self.backend.publish_dir(key, name_prefix, local_dir, replace=replace)

    def local_dir(
        self, key: str, name_prefix: str = "", *, replace: bool = False
    ) -> contextlib.AbstractContextManager[Path]:
        return self.backend.local_dir(key, name_prefix, replace=replace)

    def fetch(self, key: str, name: str) -> Path:
        return self.backend.fetch(key, name)

    def fetch_source(self, uri: str) -> Path:
        return self.backend.fetch_source(uri)

    def sweep_orphans(self, key: str, *, ours: bool = False) -> int:
        return self.backend.sweep_orphans(key, ours=ours)
