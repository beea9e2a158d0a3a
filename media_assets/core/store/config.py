"""Where the store is: the default root and the environment variables that configure it."""

from __future__ import annotations

DEFAULT_ROOT = "./media_data"
ENV_STORE_ROOT = "MEDIA_ASSETS_STORE_ROOT"
ENV_S3_ENDPOINT_URL = "MEDIA_ASSETS_S3_ENDPOINT_URL"
ENV_S3_REGION = "MEDIA_ASSETS_S3_REGION"
ENV_CACHE_DIR = "MEDIA_ASSETS_CACHE_DIR"
