"""Transient faults are retried, bad input never is (issue 12, item 3).

The media store is on a real S3 server (SeaweedFS), with botocore's own retries off. The server is stopped when
a multi-partition run starts and comes back a few seconds later: the partitions' S3 reads fail with connection
errors, are retried with backoff, and the run succeeds. The corrupt file among them is probed exactly once and
recorded as bad media.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

import media_assets.assets.metadata as metadata_module
from media_assets.assets import runner
from media_assets.assets.audio import audio
from media_assets.assets.metadata import media_metadata
from media_assets.partitions import partition_range_tags
from media_assets.sources import describe_local, register_source
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings
from tests.s3_server import start_s3_server


@pytest.mark.timeout(300)
def test_an_s3_outage_is_retried_and_a_corrupt_file_is_not(
    tmp_path: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_s3_server()
    try:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MEDIA_ASSETS_S3_MAX_ATTEMPTS", "1")  # botocore gives up at once: ours must retry
        monkeypatch.setattr(runner, "TRANSIENT_ATTEMPTS", 7)  # backoff 0.5-1, 1-2, 2-4, 4-8 s ...: >= 15 s in all
        bucket = server.create_bucket()
        store = MediaStore(
            root=f"s3://{bucket}/media", endpoint_url=server.endpoint_url, cache_dir=str(tmp_path / "cache")
        )
        good, bad = tmp_path / "good.mov", tmp_path / "bad.mp4"
        shutil.copyfile(media_dir / "formats/bbb_seg_h264_aac.mov", good)
        shutil.copyfile(media_dir / "broken/truncated_no_moov.mp4", bad)
        keys = []
        for path in (good, bad):
            keys.append(register_source(store, describe_local(path)).key)
        probes: list[str] = []
        real_probe = metadata_module.probe

        def counting_probe(path, *args, **kwargs):
            probes.append(Path(path).name)
            return real_probe(path, *args, **kwargs)

        monkeypatch.setattr(metadata_module, "probe", counting_probe)
        defs = dg.Definitions(
            assets=[media_metadata, audio],
            resources={
                "media_store": store,
                "processing": ProcessingSettings(),
                "catalog": CatalogResource(path=str(tmp_path / "catalog.sqlite")),
            },
        )
        job = dg.define_asset_job("cpu", selection=[media_metadata, audio])
        defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions("videos", keys)
            server.kill()  # the outage starts with the run ...
            restart = threading.Thread(target=lambda: (time.sleep(3), server.start_again()), daemon=True)
            restart.start()  # ... and ends a few seconds in
            result = defs.resolve_job_def("cpu").execute_in_process(
                instance=instance, tags=partition_range_tags(keys[0], keys[-1]), raise_on_error=False
            )
            restart.join()
            assert result.success
            meta = {m.partition: m.metadata for m in result.asset_materializations_for_node("media_metadata")}
        assert meta[keys[0]]["status"].value == "ok"
        assert meta[keys[0]]["media_assets/transient_retries"].value >= 1  # it was retried, and got through
        assert keys[1] not in meta  # the bad file is not materialized
        assert store.get_json(keys[1], "errors/media_metadata.json")["code"] not in (
            "internal_error",
            "upstream_failed",
        )
        assert probes.count("bad.mp4") == 1  # bad input: never retried
        assert store.exists(keys[0], "audio.wav")

        with dg.instance_for_test() as instance:  # a lone bad file fails its run, and the step is not retried
            instance.add_dynamic_partitions("videos", keys)
            alone = defs.resolve_job_def("cpu").execute_in_process(
                instance=instance, partition_key=keys[1], raise_on_error=False
            )
            assert not alone.success
            retries = instance.get_records_for_run(alone.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
            assert not retries.records
        assert probes.count("bad.mp4") == 2  # once more for the second run, not once per retry
    finally:
        server.stop()
