"""The one partitions definition: every media file is a dynamic partition of ``videos``."""

from dagster import DynamicPartitionsDefinition

VIDEOS_PARTITIONS_NAME = "videos"
videos_partitions = DynamicPartitionsDefinition(name=VIDEOS_PARTITIONS_NAME)
