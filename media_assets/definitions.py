"""The Dagster code location: assets, checks, the processing job, sensors and resources.

Everything is configured from the environment so the same module serves a laptop (defaults: local files
under ./media_data, an inbox folder, SQLite instance) and a cluster (S3 store, S3-drop sensor, Postgres):
``MEDIA_ASSETS_STORE_ROOT``, ``MEDIA_ASSETS_S3_ENDPOINT_URL``, ``MEDIA_ASSETS_INBOX``, ``MEDIA_ASSETS_S3_BUCKET``,
``MEDIA_ASSETS_S3_PREFIX``, ``MEDIA_ASSETS_PRESET``.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from media_assets.assets import CPU_TIER
from media_assets.partitions import videos_partitions
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from sensors import build_inbox_sensor, build_s3_sensor

CPU_TIER_SELECTION = dg.AssetSelection.assets(*CPU_TIER)

process_media_job = dg.define_asset_job(
    "process_media",
    selection=CPU_TIER_SELECTION,
    partitions_def=videos_partitions,
    description="Metadata, audio, scenes and keyframes for the selected videos partitions.",
)


def build_sensors() -> list[dg.SensorDefinition]:
    sensors = [
        build_inbox_sensor(
            process_media_job,
            store_resource_key="media_store",
            default_status=dg.DefaultSensorStatus.RUNNING,
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
            )
        )
    return sensors


def build_resources() -> dict[str, object]:
    endpoint = os.environ.get("MEDIA_ASSETS_S3_ENDPOINT_URL") or None
    return {
        "media_store": MediaStore.from_env(),
        "processing": ProcessingSettings.from_env(),
        "s3": S3Resource(endpoint_url=endpoint),
    }


defs = dg.Definitions(
    assets=CPU_TIER,
    jobs=[process_media_job],
    sensors=build_sensors(),
    resources=build_resources(),
)
