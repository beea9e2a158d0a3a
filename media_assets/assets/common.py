"""Small helpers the asset modules share."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dagster as dg

from media_assets.asset_graph import INFO
from media_assets.assets.runner import UpstreamFailed, require_ok
from media_assets.core.errors import SourceNotFoundError
from media_assets.core.model_cache import keep_models
from media_assets.core.probe import MediaInfo
from media_assets.core.speech.diarization_models import ModelInfo
from media_assets.partitions import videos_partitions
from media_assets.sources import describe_local, load_source
from resources.media_store import MediaStore

# BackfillPolicy is the documented way to batch partitions into one run; its beta notice is noise in every log.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

FILES_ROUTE = "/media-assets/files"  # the webserver route of stored pictures (media_assets.webserver)
GROUPS = {"cpu": "cpu_tier"}  # Dagster group of each tier (the others are named like their tier)
MAX_PARTITIONS_PER_RUN = int(os.environ.get("MEDIA_ASSETS_MAX_PARTITIONS_PER_RUN", "50"))
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_PARTITIONS_PER_RUN)
PARTITIONS = videos_partitions
NO_AUDIO = "no audio stream"  # the reason recorded for inputs without audio


def release_models(*resources: Any) -> None:
    """A model step is done with its models: give them back unless ``MEDIA_ASSETS_KEEP_MODELS=1``, so that steps
    running one after another in one process hold one model at a time (``media_assets.core.model_cache``)."""
    if not keep_models():
        for resource in resources:
            resource.release()


def spec_args(name: str) -> dict[str, Any]:
    """The table's facts about asset ``name`` (media_assets.asset_graph) as AssetSpec arguments."""
    info = INFO[name]
    return {
        "group_name": GROUPS.get(info.tier, info.tier),
        "code_version": info.code_version,
        "deps": list(info.upstream),
    }


# A step that still fails transiently after the per-partition retries (runner.TRANSIENT_ATTEMPTS) is run again
# by Dagster after 30 s, then 60 s (each +-jitter). Bad input is never retried: its Failure says so.
TRANSIENT_RETRY_POLICY = dg.RetryPolicy(
    max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def asset_args(name: str) -> dict[str, Any]:
    """Everything ``@dg.asset`` needs from the table for asset ``name``: partitions, backfill policy, group, code
    version, upstream assets and pool. The decorator adds only what is the asset's own (kinds, description)."""
    info = INFO[name]
    return {
        "name": name,
        "partitions_def": PARTITIONS,
        "backfill_policy": BACKFILL_POLICY,
        "pool": info.pool,
        "retry_policy": TRANSIENT_RETRY_POLICY,
        **spec_args(name),
    }


def source_path(store: MediaStore, key: str) -> tuple[Path, str]:
    """Local path of the partition's media (downloaded once for S3 sources) and the URI it came from: the
    preferred URI, else the first other place where the same bytes were seen that still has them. A local file
    that now holds other bytes is skipped (its content is another partition's)."""
    record = load_source(store, key)
    tried: list[str] = []
    for uri in record.candidates():
        try:
            path = store.fetch_source(uri)
        except SourceNotFoundError:
            tried.append(f"{uri} (missing)")
            continue
        if "://" not in uri and not _same_bytes(path, record.fingerprint):
            tried.append(f"{uri} (now holds other bytes)")
            continue
        return path, uri
    others = f"; also tried {', '.join(tried[1:4])}" if len(tried) > 1 else ""
    raise SourceNotFoundError(record.uri, f"source file does not exist or has changed: {tried[0]}{others}", tried=tried)


def _same_bytes(path: Path, fingerprint: str) -> bool:
    try:
        return describe_local(path).fingerprint == fingerprint
    except OSError:
        return False


def load_media_info(store: MediaStore, key: str) -> MediaInfo:
    return MediaInfo.model_validate(store.get_json(key, "media_metadata.json"))


def load_audio_json(store: MediaStore, key: str) -> dict[str, Any]:
    """``audio.json`` of the partition (UpstreamFailed if the audio asset failed for it)."""
    require_ok(store, key, "audio")
    if not store.exists(key, "audio.json"):
        raise UpstreamFailed(key, "audio", {"problem": "audio.json not found (materialize audio first)"})
    return store.get_json(key, "audio.json")


def model_metadata(model: ModelInfo | None) -> dict[str, Any]:
    """Provenance fields recorded on every materialization."""
    if model is None:
        return {}
    return {
        "model": model.name,
        "model_path": model.path,
        "model_revision": model.revision,
        "backend": model.backend,
        "device": model.device,
        "compute_type": model.compute_type,
    }


def image_markdown(key: str, name: str, alt: str) -> dg.MetadataValue:
    """A stored picture shown inline on the materialization: markdown under Dagster's 1,000-character limit
    for inline rendering, linking ``FILES_ROUTE``, which ``media-assets ui`` serves from the store
    (:mod:`media_assets.webserver`)."""
    return dg.MetadataValue.md(f"![{alt}]({FILES_ROUTE}/{quote(key)}/{quote(name)})")
