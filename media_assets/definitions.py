"""The Dagster code location: assets, checks, the processing job, sensors and resources.

Everything is configured from the environment so the same module serves a laptop (defaults: local files
under ./media_data, an inbox folder, SQLite instance) and a cluster (S3 store, S3-drop sensor, Postgres):
``MEDIA_ASSETS_STORE_ROOT``, ``MEDIA_ASSETS_S3_ENDPOINT_URL``, ``MEDIA_ASSETS_INBOX``, ``MEDIA_ASSETS_S3_BUCKET``,
``MEDIA_ASSETS_S3_PREFIX``, ``MEDIA_ASSETS_PRESET``; models and indexes: ``MEDIA_ASSETS_WHISPER_MODEL``,
``MEDIA_ASSETS_TEXT_MODEL``, ``MEDIA_ASSETS_IMAGE_MODEL``, ``MEDIA_ASSETS_OBJECT_MODEL``,
``MEDIA_ASSETS_VISION_MODE``, ``MEDIA_ASSETS_QDRANT_URL``, ``MEDIA_ASSETS_CATALOG_URL``,
``MEDIA_ASSETS_INDEX_DIR``.
"""

from __future__ import annotations

import os

import dagster as dg

from media_assets.asset_graph import CODE_VERSIONS
from media_assets.assets import ALL_ASSETS, CPU_TIER
from media_assets.assets.checks import output_checks
from media_assets.automation import redo_on_model_change_sensor, with_automation_conditions
from media_assets.core.model_identity import code_version as model_code_version
from media_assets.dagster_speedups import cache_alembic_script_directories
from media_assets.executor import guarded_executor
from resources.audio_tagger import AudioTagger
from resources.catalog import CatalogResource
from resources.diarizer import Diarizer
from resources.embedders import ImageEmbedderResource, TextEmbedderResource
from resources.fulltext import FulltextResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from resources.vector_store import VectorStoreResource
from resources.vision import VisionModels
from resources.whisper import WhisperResource
from sensors import build_inbox_sensor, build_reprocess_schedule, build_s3_sensor

CPU_TIER_SELECTION = dg.AssetSelection.assets(*CPU_TIER)
RUN_BATCH_SIZE = 50  # new files per sensor run: models load once per range (the assets' backfill policy too)
ALL_SELECTION = dg.AssetSelection.assets(*ALL_ASSETS)

process_media_job = dg.define_asset_job(
    "process_media",
    selection=ALL_SELECTION,
    description="Every asset (metadata, audio, scenes, keyframes, speech, vision, embeddings, timeline) for "
    "the selected videos partitions; sensors request it for new files.",
)
cpu_tier_job = dg.define_asset_job(
    "cpu_tier",
    selection=CPU_TIER_SELECTION,
    description="Metadata, audio, scenes and keyframes only (no models).",
)


# Seconds between inbox ticks. Listing a local folder is cheap, and the tick interval is most of the time
# between a drop and its run (bench_throughput.py: 20 s of 29 s before the first step at the former 30 s, 8.2 to
# 13.7 s at 10 s); an idle tick costs the daemon next to nothing.
INBOX_INTERVAL_ENV = "MEDIA_ASSETS_INBOX_INTERVAL_S"
DEFAULT_INBOX_INTERVAL_S = 5


def dagster_min_interval(seconds: int) -> int:
    """The sensor minimum interval to give Dagster for a tick every ``seconds``. The daemon checks sensors on a
    5-s loop and ticks when at least the minimum has passed since the last tick's start; with the minimum equal
    to the loop, a check that comes a few milliseconds early skips a whole loop (ticks every 5 or 10 s, seen in
    bench_throughput.py). One second of slack absorbs that jitter."""
    return max(1, seconds - 1)


def build_sensors() -> list[dg.SensorDefinition]:
    interval = dagster_min_interval(int(os.environ.get(INBOX_INTERVAL_ENV) or DEFAULT_INBOX_INTERVAL_S))
    sensors = [
        build_inbox_sensor(
            process_media_job,
            store_resource_key="media_store",
            default_status=dg.DefaultSensorStatus.RUNNING,
            run_batch_size=RUN_BATCH_SIZE,
            minimum_interval_seconds=interval,
        )
    ]
    bucket = os.environ.get("MEDIA_ASSETS_S3_BUCKET")
    if bucket:
        sensors.append(
            build_s3_sensor(
                process_media_job,
                bucket=bucket,
                prefix=os.environ.get("MEDIA_ASSETS_S3_PREFIX", ""),
                store_resource_key="media_store",
                default_status=dg.DefaultSensorStatus.RUNNING,
                run_batch_size=RUN_BATCH_SIZE,
            )
        )
    return sensors


def build_resources() -> dict[str, object]:
    resources: dict[str, object] = {
        "media_store": MediaStore.from_env(),
        "processing": ProcessingSettings.from_env(),
        "catalog": CatalogResource.from_env(),
        "whisper": WhisperResource(model=os.environ.get("MEDIA_ASSETS_WHISPER_MODEL") or None),
        "diarizer": Diarizer(),
        "audio_tagger": AudioTagger(),
        "vision": VisionModels.from_env(),
        "text_embedder": TextEmbedderResource.from_env(),
        "image_embedder": ImageEmbedderResource.from_env(),
        "vector_store": VectorStoreResource.from_env(),
        "fulltext": FulltextResource(),
    }
    if os.environ.get("MEDIA_ASSETS_S3_BUCKET"):  # the S3-drop sensor's client; dagster_aws only when used
        from dagster_aws.s3 import S3Resource

        resources["s3"] = S3Resource(endpoint_url=os.environ.get("MEDIA_ASSETS_S3_ENDPOINT_URL") or None)
    return resources


def model_identities(resources: dict[str, object]) -> dict[str, dict | None]:
    """What each model asset's output depends on besides code, from the configured resources (no model loads)."""
    processing: ProcessingSettings = resources["processing"]  # type: ignore[assignment]
    spec = processing.spec
    whisper: WhisperResource = resources["whisper"]  # type: ignore[assignment]
    diarizer: Diarizer = resources["diarizer"]  # type: ignore[assignment]
    tagger: AudioTagger = resources["audio_tagger"]  # type: ignore[assignment]
    vision: VisionModels = resources["vision"]  # type: ignore[assignment]
    text: TextEmbedderResource = resources["text_embedder"]  # type: ignore[assignment]
    image: ImageEmbedderResource = resources["image_embedder"]  # type: ignore[assignment]
    return {
        "transcript": whisper.identity(spec),
        "diarization": diarizer.identity(),
        "audio_events": tagger.identity(spec),
        "detections": vision.identity(spec),
        "embeddings": {"text": text.identity(), "image": image.identity()},
    }


def with_model_versions(assets: list, identities: dict[str, dict | None]) -> list:
    """The assets with each model asset's code version ``<logic>+<model fingerprint>`` and its identity shown in
    the asset's definition metadata."""

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        identity = identities.get(name)
        if not identity:
            return spec
        return spec.replace_attributes(
            code_version=model_code_version(spec.code_version or "", identity),
            metadata={**spec.metadata, "media_assets/model_identity": dg.MetadataValue.json(identity)},
        )

    return list(dg.map_asset_specs(apply, assets))


def build_definitions() -> dg.Definitions:
    """The code location, from the environment (a test can build another one after changing it)."""
    resources = build_resources()
    identities = model_identities(resources)
    versions = {**CODE_VERSIONS, **{a: model_code_version(CODE_VERSIONS[a], i) for a, i in identities.items() if i}}
    return dg.Definitions(
        assets=with_automation_conditions(with_model_versions(ALL_ASSETS, identities)),
        asset_checks=[output_checks],
        jobs=[process_media_job, cpu_tier_job],
        sensors=[*build_sensors(), redo_on_model_change_sensor()],
        schedules=[build_reprocess_schedule(process_media_job, versions=versions)],
        resources=resources,
        executor=guarded_executor,
    )


def code_versions(definitions: dg.Definitions) -> dict[str, str]:
    """Each asset's code version in ``definitions`` (with the model fingerprints it was built with)."""
    graph = definitions.resolve_asset_graph()
    return {key.to_user_string(): graph.get(key).code_version or "" for key in graph.get_all_asset_keys()}


cache_alembic_script_directories()  # every process that loads the code location opens storages: check heads once
defs = build_definitions()
