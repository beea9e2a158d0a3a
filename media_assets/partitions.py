"""The one partitions definition: every media file is a dynamic partition of ``videos``."""

from dagster import DynamicPartitionsDefinition

VIDEOS_PARTITIONS_NAME = "videos"
videos_partitions = DynamicPartitionsDefinition(name=VIDEOS_PARTITIONS_NAME)

# Dagster's run tags for a run over a range of partitions (what a multi-run backfill sets on each run)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make a run cover the partitions from ``first`` to ``last`` (in the partitions' order)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


# Runs that run the models carry this tag: dagster.yaml's `media_assets/heavy` limit keeps them one at a time on a
# laptop (raise it on a bigger machine).
HEAVY_TAGS = {"media_assets/heavy": "true"}
