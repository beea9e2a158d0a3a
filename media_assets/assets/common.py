"""Small helpers the asset modules share."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dagster as dg

from media_assets.core.probe import MediaInfo
from media_assets.partitions import videos_partitions
from media_assets.sources import load_source
from resources.media_store import MediaStore

# BackfillPolicy is the documented way to batch partitions into one run; its beta notice is noise in every log.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

GROUP = "cpu_tier"
MAX_PARTITIONS_PER_RUN = int(os.environ.get("MEDIA_ASSETS_MAX_PARTITIONS_PER_RUN", "50"))
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_PARTITIONS_PER_RUN)
PARTITIONS = videos_partitions


def source_path(store: MediaStore, key: str) -> tuple[Path, str]:
    """Local path of the partition's media (downloaded once for S3 sources) and its original URI."""
    record = load_source(store.backend, key)
    return store.backend.fetch_source(record.uri), record.uri


def load_media_info(store: MediaStore, key: str) -> MediaInfo:
    return MediaInfo.model_validate(store.get_json(key, "media_metadata.json"))
