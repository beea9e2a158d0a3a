"""A model upgrade marks exactly the affected partitions out of date (issue 12, item 1).

20 clips processed with Whisper tiny.en; then the model is switched to base. The definitions built after the
switch give ``transcript`` another code version (its model fingerprint), and the ``reprocess_outdated`` schedule
requests runs that cover exactly those 20 partitions for ``transcript`` and what reads it (``speaker_transcript``)
only: scenes and diarization are untouched. After those runs nothing is out of date. The model is then swapped
back (the environment is restored).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from media_assets.partitions import RANGE_END_TAG, RANGE_START_TAG
from tests.conftest import ffmpeg, run_cli

N = 20


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    speech = folder.parent / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "170", "-w", str(speech), "Good morning, everyone."], check=True)
    for i in range(N):  # different pictures, so different bytes and partitions
        ffmpeg(
            "-f", "lavfi", "-i", f"color=c=0x{(i * 9973) % 0xFFFFFF:06x}:size=96x64:rate=10:duration=1.5",
            "-i", str(speech), "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
            str(folder / f"clip{i:02d}.mp4"),
        )  # fmt: skip
    return folder


def _evaluate(defs: dg.Definitions, instance: dg.DagsterInstance, at: int):
    schedule = defs.resolve_schedule_def("reprocess_outdated")
    resources = {"media_store": defs.resources["media_store"], "catalog": defs.resources["catalog"]}
    when = datetime(2026, 12, 7, 3, at, tzinfo=UTC)
    with dg.build_schedule_context(instance=instance, resources=resources, scheduled_execution_time=when) as ctx:
        return schedule.evaluate_tick(ctx)


@pytest.mark.timeout(900)
def test_switching_whisper_model_redoes_exactly_the_transcripts(
    clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    env = {"MEDIA_ASSETS_WHISPER_MODEL": "tiny.en", "MEDIA_ASSETS_INDEX_DIR": str(tmp_path / "index")}
    res = run_cli(tmp_path, "process", str(clips), "--out", str(out), "--only", "speaker_transcript,scenes",
                  "--json", "--quiet", env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    keys = [json.loads(line)["partition"] for line in res.stdout.splitlines()]
    assert len(set(keys)) == N
    scenes_before = {k: (out / k / "scenes.json").stat().st_mtime_ns for k in keys}
    diar_before = {k: (out / k / "diarization.json").stat().st_mtime_ns for k in keys}

    from media_assets import definitions
    from media_assets.instance import get_instance

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEDIA_ASSETS_STORE_ROOT", str(out))
    monkeypatch.setenv("MEDIA_ASSETS_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("MEDIA_ASSETS_WHISPER_MODEL", "tiny.en")
    old = definitions.build_definitions()
    instance = get_instance(tmp_path / "home")
    assert not _evaluate(old, instance, 0).run_requests  # same model: nothing to do

    monkeypatch.setenv("MEDIA_ASSETS_WHISPER_MODEL", "base")  # the upgrade
    new = definitions.build_definitions()
    changed = {a for a, v in definitions.code_versions(new).items() if v != definitions.code_versions(old)[a]}
    assert changed == {"transcript"}
    requests = _evaluate(new, instance, 1).run_requests
    assert requests and all(
        sorted(k.to_user_string() for k in r.asset_selection) == ["speaker_transcript", "transcript"] for r in requests
    )
    order = list(instance.get_dynamic_partitions("videos"))
    covered = [
        k
        for r in requests
        for k in order[order.index(r.tags[RANGE_START_TAG]) : order.index(r.tags[RANGE_END_TAG]) + 1]
    ]
    assert sorted(covered) == sorted(keys)  # exactly those 20, each once
    assert "transcript model " in requests[0].tags["media_assets/reason"]

    job = new.resolve_job_def("process_media")
    for r in requests:
        subset = job.get_subset(asset_selection=set(r.asset_selection))
        assert subset.execute_in_process(instance=instance, tags=r.tags, raise_on_error=False).success
    assert not _evaluate(new, instance, 2).run_requests  # nothing is stale any more
    for k in keys:
        assert json.loads((out / k / "transcript.json").read_text())["model"]["name"] == "base"
        assert (out / k / "scenes.json").stat().st_mtime_ns == scenes_before[k]  # untouched
        assert (out / k / "diarization.json").stat().st_mtime_ns == diar_before[k]

    monkeypatch.setenv("MEDIA_ASSETS_WHISPER_MODEL", "tiny.en")  # swapped back: the transcripts are stale again
    assert _evaluate(definitions.build_definitions(), instance, 3).run_requests
    instance.dispose()
