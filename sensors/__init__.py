"""Automation: sensors that turn dropped media files into ``videos`` partitions and runs, and the schedule that
redoes outputs an upgrade made out of date."""

from sensors.inbox import build_inbox_sensor
from sensors.reprocess import build_reprocess_schedule
from sensors.s3_drop import build_s3_sensor

__all__ = ["build_inbox_sensor", "build_reprocess_schedule", "build_s3_sensor"]
