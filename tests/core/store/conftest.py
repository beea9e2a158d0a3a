"""Shared fixtures of the store tests: both backends, a local folder and a real S3 server (SeaweedFS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_assets.core.store import LocalBackend, S3Backend, files
from tests.s3_server import S3Server

KEY = "k3j5abcdefgh2345"


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path: Path) -> LocalBackend | S3Backend:
    if request.param == "local":
        return LocalBackend(tmp_path / "store", cache_dir=tmp_path / "cache")
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    root = f"s3://{bucket}/{server.unique_prefix()}/media"
    return S3Backend(root, client=server.client(), cache_dir=tmp_path / "cache")


def _tmp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(files.TMP_PREFIX)]
