"""The declarative alternative: after a model change, automation requests the materialized partitions of the
model asset, then of what reads it; never missing ones (media_assets/automation.py)."""

from __future__ import annotations

import dagster as dg

from media_assets.automation import automated_assets, model_changed, redo_on_model_change_sensor, upstream_redone
from media_assets.definitions import defs

PARTS = dg.DynamicPartitionsDefinition(name="videos")


def _defs(model_version: str) -> dg.Definitions:
    @dg.asset(partitions_def=PARTS, code_version=model_version, automation_condition=model_changed())
    def transcript() -> None: ...

    @dg.asset(partitions_def=PARTS, deps=[transcript], automation_condition=upstream_redone())
    def speaker_transcript() -> None: ...

    return dg.Definitions(assets=[transcript, speaker_transcript])


def _requested(result: dg.EvaluateAutomationConditionsResult, asset: str) -> set[str]:
    return set(result.get_requested_partitions(dg.AssetKey(asset)))


def test_a_model_change_requests_exactly_the_materialized_partitions() -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("videos", ["a", "b", "never_made"])
        old = _defs("1+tinyen")
        job = old.resolve_implicit_global_asset_job_def()
        for key in ("a", "b"):
            assert job.execute_in_process(instance=instance, partition_key=key).success
        first = dg.evaluate_automation_conditions(old, instance)
        assert first.total_requested == 0  # nothing changed

        new = _defs("1+base")  # the model was switched
        second = dg.evaluate_automation_conditions(new, instance, cursor=first.cursor)
        # the model asset and what reads it, in one request (Dagster runs them together), materialized ones only
        assert _requested(second, "transcript") == {"a", "b"}
        assert _requested(second, "speaker_transcript") == {"a", "b"}

        job = new.resolve_implicit_global_asset_job_def()
        for key in ("a", "b"):
            assert job.execute_in_process(instance=instance, partition_key=key).success
        third = dg.evaluate_automation_conditions(new, instance, cursor=second.cursor)
        assert third.total_requested == 0  # handled: nothing more until the next change


def test_the_project_wires_it_in_and_keeps_it_off() -> None:
    sensor = next(s for s in defs.sensors if s.name == "redo_on_model_change")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert isinstance(redo_on_model_change_sensor(), dg.AutomationConditionSensorDefinition)
    graph = defs.resolve_asset_graph()
    conditions = {k.to_user_string(): graph.get(k).automation_condition for k in graph.get_all_asset_keys()}
    assert {a for a, c in conditions.items() if c is not None} == set(automated_assets())
    assert "scenes" not in automated_assets() and "timeline" in automated_assets()
