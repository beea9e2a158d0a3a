"""Sensors that turn dropped media files into ``videos`` partitions and runs."""

from sensors.inbox import build_inbox_sensor
from sensors.s3_drop import build_s3_sensor

__all__ = ["build_inbox_sensor", "build_s3_sensor"]
