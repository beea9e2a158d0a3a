"""Where the embedded indexes live: ``<index_dir>/vectors`` and ``<index_dir>/fulltext``.

``<index_dir>`` is ``$MEDIA_ASSETS_INDEX_DIR``, else ``<data root>/_index`` for a local data root, else
``./media_index`` when the data root is on S3 (the embedded engines need a local filesystem).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_INDEX_DIR = "MEDIA_ASSETS_INDEX_DIR"
INDEX_SUBDIR = "_index"
S3_FALLBACK_DIR = "./media_index"
VECTORS_SUBDIR = "vectors"
FULLTEXT_SUBDIR = "fulltext"


def default_index_dir(root: str | os.PathLike[str]) -> Path:
    """The index folder for the data root ``root`` (a local folder or ``s3://bucket/prefix``)."""
    env = os.environ.get(ENV_INDEX_DIR)
    if env:
        return Path(env).expanduser()
    root_str = os.fspath(root)
    if root_str.startswith("s3://"):
        return Path(S3_FALLBACK_DIR)
    if root_str.startswith("file://"):
        root_str = root_str[len("file://") :]
    return Path(root_str).expanduser() / INDEX_SUBDIR


def vectors_dir(index_dir: str | os.PathLike[str]) -> Path:
    return Path(index_dir) / VECTORS_SUBDIR


def fulltext_dir(index_dir: str | os.PathLike[str]) -> Path:
    return Path(index_dir) / FULLTEXT_SUBDIR
