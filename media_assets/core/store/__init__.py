"""The media store's backends (plain Python, no Dagster): every artifact of a partition lives at
``<root>/<partition_key>/<name>``.

One interface (:class:`StoreBackend`), two backends, picked from the root by :func:`make_backend`:

* a local directory (``./media_data``, ``/srv/media``) -> :class:`LocalBackend`;
* an S3 prefix (``s3://bucket/prefix``) -> :class:`S3Backend` (boto3).

The Dagster resource ``resources.media_store.MediaStore`` builds one from its config and delegates to it.

Writes are atomic: the local backend writes a hidden temporary file in the destination folder, fsyncs it and
``os.replace``-s it onto the final name; S3 uses a single ``put_object`` (or boto3's ``upload_file``, whose
multipart upload only becomes visible when it completes and is aborted on failure). A crashed write never
leaves a half-written file under the final name.

Partition keys and names are validated (see :mod:`media_assets.core.store.naming`). Modules: ``config``
(default root, environment variables), ``naming`` (validation, ``s3://`` URIs), ``files`` (atomic writes,
JSON encoding, cache folder, orphaned temporary files), ``s3_client`` (the boto3 client), ``base`` (the
protocol and the shared backend code), ``local`` and ``s3`` (the backends).
"""

from __future__ import annotations

import os
from typing import Any

from media_assets.core.store.base import StoreBackend
from media_assets.core.store.config import (
    DEFAULT_ROOT,
    ENV_CACHE_DIR,
    ENV_S3_ENDPOINT_URL,
    ENV_S3_REGION,
    ENV_STORE_ROOT,
)
from media_assets.core.store.files import (
    COPY_CHUNK,
    ORPHAN_AGE_S,
    TMP_PREFIX,
    atomic_write,
    copy_stream,
    default_cache_dir,
    dumps_json,
    is_orphan,
    sweep_orphans,
    tmp_prefix,
)
from media_assets.core.store.local import LocalBackend
from media_assets.core.store.naming import (
    MAX_COMPONENT_BYTES,
    MAX_NAME_BYTES,
    parse_s3_uri,
    validate_name,
    validate_partition_key,
    validate_prefix,
)
from media_assets.core.store.s3 import PUBLISH_WORKERS, S3_DELETE_BATCH, S3Backend
from media_assets.core.store.s3_client import make_s3_client

__all__ = [
    "COPY_CHUNK",
    "DEFAULT_ROOT",
    "ENV_CACHE_DIR",
    "ENV_S3_ENDPOINT_URL",
    "ENV_S3_REGION",
    "ENV_STORE_ROOT",
    "MAX_COMPONENT_BYTES",
    "MAX_NAME_BYTES",
    "ORPHAN_AGE_S",
    "PUBLISH_WORKERS",
    "S3_DELETE_BATCH",
    "TMP_PREFIX",
    "LocalBackend",
    "S3Backend",
    "StoreBackend",
    "atomic_write",
    "copy_stream",
    "default_cache_dir",
    "dumps_json",
    "is_orphan",
    "make_backend",
    "make_s3_client",
    "parse_s3_uri",
    "sweep_orphans",
    "tmp_prefix",
    "validate_name",
    "validate_partition_key",
    "validate_prefix",
]


def make_backend(
    root: str | os.PathLike[str] = DEFAULT_ROOT,
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    s3_client: Any = None,
) -> LocalBackend | S3Backend:
    """The backend for ``root``: ``s3://bucket/prefix`` -> :class:`S3Backend`, anything else -> local."""
    root_str = os.fspath(root)
    if root_str.startswith("s3://"):
        return S3Backend(
            root_str, client=s3_client, endpoint_url=endpoint_url, region_name=region_name, cache_dir=cache_dir
        )
    return LocalBackend(
        root_str, cache_dir=cache_dir, endpoint_url=endpoint_url, region_name=region_name, s3_client=s3_client
    )
