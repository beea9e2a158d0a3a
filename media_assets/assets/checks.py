"""The asset checks (:mod:`media_assets.assets.check_table`), evaluated per partition in one step after the assets.

Every check reports one evaluation per video of the run, so the UI's check history says which partitions it
covered. The step runs after the assets it judges and, when a video failed, fails the run: that is what makes
Dagster show the video's unmaterialized partitions as failed (its status of a partition comes from the run that
planned it), while the good videos, materialized by then, stay green.
"""

import warnings
from collections.abc import Iterator
from typing import Any

import dagster as dg

from media_assets.asset_graph import ASSETS
from media_assets.assets.check_table import BY_KEY, CHECKS, PROCESSED, CheckInfo
from media_assets.assets.common import PARTITIONS
from media_assets.assets.runner import recorded_error
from resources.media_store import MediaStore

# Partitioned checks are a Dagster preview; they are what lets a check say which videos it judged.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)

SPECS = [dg.AssetCheckSpec(c.name, asset=c.asset, description=c.description, partitions_def=PARTITIONS) for c in CHECKS]


def evaluate(check: CheckInfo, store: MediaStore, key: str) -> tuple[bool, str, dict[str, Any]] | None:
    """(passed, description, metadata) of ``check`` on partition ``key``; None when there is nothing to judge."""
    error = recorded_error(store, key, check.asset)
    if check.name == PROCESSED:
        if error is None:
            return True, "processed", {}
        where = f"{error['file']}: " if error.get("file") else ""
        return (
            False,
            f"{where}{error.get('problem')}",
            {
                "error_code": error.get("code", ""),
                "file": error.get("file") or "",
                "problem": error.get("problem", ""),
                "run_id": error.get("run_id") or "",
            },
        )
    if error is not None:  # the asset failed: only a blocking check that caused it has something to say
        details = error.get("details") or {}
        if error.get("code") == "check_failed" and details.get("check") == check.name:
            return False, str(error.get("problem")), dict(details.get("outcome") or {})
        return None
    assert check.run is not None
    outcome = check.run(store, key)
    if outcome is None:
        return True, "does not apply (no audio or no video)", {"applies": False}
    return outcome.passed, outcome.description, outcome.metadata


@dg.multi_asset_check(
    specs=SPECS,
    can_subset=True,
    name="output_checks",
    description="Every asset check of the pipeline, one evaluation per video; fails the run when a video failed.",
)
def output_checks(context: dg.AssetCheckExecutionContext, media_store: MediaStore) -> Iterator[Any]:
    keys = list(context.op_execution_context.partition_keys)
    failed: dict[str, str] = {}
    # upstream assets first, so a failure is reported by its cause rather than by what it held back
    order = {name: i for i, name in enumerate(ASSETS)}
    for check_key in sorted(
        context.selected_asset_check_keys, key=lambda k: (order[k.asset_key.to_user_string()], k.name)
    ):
        check = BY_KEY[(check_key.asset_key.to_user_string(), check_key.name)]
        for key in keys:
            result = evaluate(check, media_store, key)
            if result is None:
                continue
            passed, description, metadata = result
            if not passed and check.name == PROCESSED:
                failed.setdefault(key, f"{check.asset}: {description}")
            yield dg.AssetCheckEvaluation(
                asset_key=check_key.asset_key,
                check_name=check.name,
                passed=passed,
                partition=key,
                description=description,
                metadata=_metadata(metadata),
                severity=dg.AssetCheckSeverity.WARN if check.warn_only else dg.AssetCheckSeverity.ERROR,
            )
    if failed:
        listed = "; ".join(f"{k} ({why})" for k, why in list(failed.items())[:5])
        raise dg.Failure(
            description=f"{len(failed)} of {len(keys)} video(s) failed and are not materialized: {listed}",
            metadata={"failed_partitions": dg.MetadataValue.json(failed)},
            allow_retries=False,
        )


def _metadata(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v) for k, v in values.items() if v is not None
    }
