"""The declarative alternative to the ``reprocess_outdated`` schedule: Dagster's automation redoes what a model
upgrade made out of date, off by default.

Each model asset (its code version carries the model's fingerprint) gets a condition that is true for its
materialized partitions once its code version has changed; the assets that read it get one that is true for
their materialized partitions once an upstream asset was updated. Missing partitions are never requested: this
redoes what exists, it does not build new outputs. The ``redo_on_model_change`` sensor evaluates them (start it
in the UI under Automation); its runs carry ``media_assets/heavy=true``, so the ``media_assets/heavy`` limit in
``dagster.yaml`` caps how many of them are in flight (one by default on a laptop).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

from media_assets.asset_graph import ASSETS, MODEL_ASSETS, close_downstream
from media_assets.partitions import HEAVY_TAGS


def model_changed() -> dg.AutomationCondition:
    """Materialized partitions of an asset whose code version (logic or model) changed since they were handled."""
    return (
        dg.AutomationCondition.code_version_changed().since_last_handled()
        & ~dg.AutomationCondition.missing()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("model or code changed")


def upstream_redone() -> dg.AutomationCondition:
    """Materialized partitions whose upstream assets were updated since, once none of them is in progress."""
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("upstream redone")


def automated_assets() -> list[str]:
    """The model assets and everything that reads them."""
    return close_downstream(MODEL_ASSETS, ASSETS)


def with_automation_conditions(assets: Iterable[dg.AssetsDefinition]) -> Sequence[dg.AssetsDefinition]:
    covered = set(automated_assets())

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        if name not in covered:
            return spec
        condition = model_changed() if name in MODEL_ASSETS else upstream_redone()
        return spec.replace_attributes(automation_condition=condition)

    return list(dg.map_asset_specs(apply, assets))


def redo_on_model_change_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        "redo_on_model_change",
        target=dg.AssetSelection.assets(*automated_assets()),
        default_status=dg.DefaultSensorStatus.STOPPED,
        run_tags={"media_assets/source": "automation", **HEAVY_TAGS},
        description="Redo the materialized partitions of assets whose model or code changed, and what reads them "
        "(off by default; the reprocess_outdated schedule does the same on a timetable).",
    )
