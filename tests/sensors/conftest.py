"""Fixtures for the sensor tests: a Dagster test instance and a stand-in for the sensor daemon."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import pytest

from media_assets.partitions import VIDEOS_PARTITIONS_NAME, videos_partitions


@dg.asset(partitions_def=videos_partitions)
def media_source() -> None:
    """Stand-in target for the sensors."""


class FakeDaemon:
    """Evaluates sensors the way the sensor daemon does: the cursor is persisted between ticks (as a string,
    like Dagster's sensor storage), dynamic partition requests are applied to the instance, and every run
    request is recorded so tests can check nothing is ever requested twice."""

    def __init__(self, instance: dg.DagsterInstance, resources: Mapping[str, Any] | None = None) -> None:
        self.instance = instance
        self.resources = dict(resources or {})
        self.cursor: str | None = None
        self.run_keys: list[str] = []
        self.covered: list[str] = []  # partitions the requested runs cover, each once if nothing is repeated
        self.ticks: list[dg.SensorExecutionData] = []

    def tick(self, sensor: dg.SensorDefinition) -> dg.SensorExecutionData:
        # Like a code location: the sensor, its target and its resources in one Definitions object (needed to
        # resolve partitioned run requests against the target).
        defs = dg.Definitions(assets=[media_source], sensors=[sensor], resources=self.resources)
        context = dg.build_sensor_context(
            instance=self.instance,
            instance_ref=self.instance.get_ref(),  # lets run requests see the partitions requested this tick
            cursor=self.cursor,
            definitions=defs,
            resources=self.resources,  # the code server merges the location's resources into the context
            sensor_name=sensor.name,
        )
        with dg.partition_loading_context(dynamic_partitions_store=self.instance):  # as the daemon does
            data = sensor.evaluate_tick(context)
        before = list(self.instance.get_dynamic_partitions(VIDEOS_PARTITIONS_NAME))
        known = set(before)
        for request in data.dynamic_partitions_requests or []:
            assert isinstance(request, dg.AddDynamicPartitionsRequest)
            assert request.partitions_def_name == VIDEOS_PARTITIONS_NAME
            assert len(set(request.partition_keys)) == len(request.partition_keys)
            assert not known & set(request.partition_keys), "requested partitions that already exist"
            self.instance.add_dynamic_partitions(VIDEOS_PARTITIONS_NAME, list(request.partition_keys))
        order = list(self.instance.get_dynamic_partitions(VIDEOS_PARTITIONS_NAME))
        added = order[len(before) :]
        for run in data.run_requests or []:
            if run.partition_key is not None:
                assert run.run_key == run.partition_key
                assert run.partition_key in order
                keys = [run.partition_key]
            else:  # a range run: it must cover exactly new partitions of this tick, in order
                start, end = (
                    run.tags["dagster/asset_partition_range_start"],
                    run.tags["dagster/asset_partition_range_end"],
                )
                keys = order[order.index(start) : order.index(end) + 1]
                assert run.run_key == f"{start}..{end}" and set(keys) <= set(added), (keys, added)
            self.run_keys.append(run.run_key)
            self.covered.extend(keys)
        self.cursor = data.cursor
        self.ticks.append(data)
        return data

    def run_until_idle(self, sensor: dg.SensorDefinition, max_ticks: int = 100) -> int:
        """Tick until a tick requests nothing; returns the number of ticks that requested runs."""
        for n in range(max_ticks):
            if not self.tick(sensor).run_requests:
                return n
        raise AssertionError("sensor never became idle")

    @property
    def partitions(self) -> set[str]:
        return set(self.instance.get_dynamic_partitions(VIDEOS_PARTITIONS_NAME))

    def assert_no_duplicate_runs(self) -> None:
        duplicates = [key for key, n in Counter(self.run_keys).items() if n > 1]
        assert duplicates == [], f"run keys requested more than once: {duplicates}"


@pytest.fixture(scope="session")
def _session_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    # A persistent (sqlite) instance takes ~1 s to create: share one and reset its partitions per test.
    home = tmp_path_factory.mktemp("dagster_home")
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


@pytest.fixture
def instance(_session_instance: dg.DagsterInstance) -> dg.DagsterInstance:
    for key in _session_instance.get_dynamic_partitions(VIDEOS_PARTITIONS_NAME):
        _session_instance.delete_dynamic_partition(VIDEOS_PARTITIONS_NAME, key)
    return _session_instance


@pytest.fixture
def daemon(instance: dg.DagsterInstance) -> FakeDaemon:
    return FakeDaemon(instance)
