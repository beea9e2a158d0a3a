"""The run queue, with tags that say what each run is, whoever launched it.

Dagster names every run of an asset backfill or of an automation sensor ``__ASSET_JOB``, and a backfill
launched from the UI carries no tag of ours, so the ``media_assets/heavy`` limit in ``dagster.yaml`` would not
hold it back and the runs list could not be filtered by purpose. :class:`MediaRunCoordinator` is Dagster's
``QueuedRunCoordinator`` that, when a run is queued, adds:

- ``media_assets/source``: what launched it (``backfill``, ``automation``, a sensor's or schedule's name, or
  ``ui`` for a run launched by hand), unless the launcher already set it (``inbox``, ``s3``, ``reprocess``,
  ``cli``);
- ``media_assets/heavy=true`` when the run materializes a model asset;
- ``media_assets/what``: a short readable summary, e.g. ``backfill: transcript +3 for 20 videos``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dagster import DagsterRun
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext

from media_assets.asset_graph import ASSETS, CPU_TIER_ASSETS, MODEL_ASSETS
from media_assets.dagster_speedups import cache_alembic_script_directories
from media_assets.partitions import HEAVY_TAGS, RANGE_END_TAG, RANGE_START_TAG

# dagster.yaml names this module, so every process of the instance imports it, the daemon and the webserver too
# (they never load the definitions): each new run's event-log shard then checks its schema head once, not anew.
cache_alembic_script_directories()

SOURCE_TAG = "media_assets/source"
WHAT_TAG = "media_assets/what"
MAX_TAG_CHARS = 63  # short enough for the UI's run list and for Kubernetes labels
JOB_ASSETS = {"cpu_tier": CPU_TIER_ASSETS}  # jobs that run a fixed part of the graph (others: every asset)


def _source(tags: Mapping[str, str]) -> str:
    if tags.get(SOURCE_TAG):
        return tags[SOURCE_TAG]
    if tags.get("dagster/backfill"):
        return "backfill"
    if tags.get("dagster/from_automation_condition") or tags.get("dagster/auto_materialize"):
        return "automation"
    if tags.get("dagster/sensor_name"):
        return f"sensor {tags['dagster/sensor_name']}"
    if tags.get("dagster/schedule_name"):
        return f"schedule {tags['dagster/schedule_name']}"
    return "ui"


def _videos(tags: Mapping[str, str]) -> str:
    if tags.get("dagster/partition"):
        return tags["dagster/partition"]
    first, last = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if first and last:
        return first if first == last else f"{first}..{last}"
    return ""


def run_tags(tags: Mapping[str, str], assets: Sequence[str] | None) -> dict[str, str]:
    """The tags to add to a run with ``tags`` over ``assets`` (None: every asset of its job)."""
    names = [a for a in ASSETS if assets is None or a in assets]  # in pipeline order
    added: dict[str, str] = {}
    source = _source(tags)
    if SOURCE_TAG not in tags:
        added[SOURCE_TAG] = source[:MAX_TAG_CHARS]
    if set(names) & set(MODEL_ASSETS) and not HEAVY_TAGS.keys() & tags.keys():
        added.update(HEAVY_TAGS)
    if WHAT_TAG not in tags and names:
        what = f"{source}: {names[0]}" + (f" +{len(names) - 1}" if len(names) > 1 else "")
        videos = _videos(tags)
        what += f" for {videos}" if videos else ""
        added[WHAT_TAG] = what if len(what) <= MAX_TAG_CHARS else what[: MAX_TAG_CHARS - 3] + "..."
    return added


class MediaRunCoordinator(QueuedRunCoordinator):
    """``QueuedRunCoordinator`` (same config) that tags each run with what it is (module docstring)."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        selection = run.asset_selection
        assets = JOB_ASSETS.get(run.job_name) if selection is None else [k.to_user_string() for k in selection]
        added = run_tags(run.tags, assets)
        if added:
            self._instance.add_run_tags(run.run_id, added)
            run = run.with_tags({**run.tags, **added})
        return super().submit_run(context._replace(dagster_run=run))
