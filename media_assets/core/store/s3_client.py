"""The boto3 S3 client the backends use, and how to read its errors."""

from __future__ import annotations

import os
from typing import Any


def _client_error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is_not_found(exc: BaseException) -> bool:
    return _client_error_code(exc) in ("404", "NoSuchKey", "NotFound")


def make_s3_client(endpoint_url: str | None = None, region_name: str | None = None) -> Any:
    """A boto3 S3 client; botocore retries each call ``$MEDIA_ASSETS_S3_MAX_ATTEMPTS`` times (default 5), then the
    pipeline's own retries take over (media_assets.core.transient)."""
    import boto3
    from botocore.config import Config

    attempts = int(os.environ.get("MEDIA_ASSETS_S3_MAX_ATTEMPTS", "5"))
    config = Config(retries={"max_attempts": attempts, "mode": "standard"}, max_pool_connections=32)
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region_name, config=config)
