"""Blocking checks fail their partition (so downstream assets refuse it); the check step reports why."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_assets.assets.check_table import BY_KEY, blocking_checks
from media_assets.assets.checks import evaluate
from media_assets.assets.runner import UpstreamFailed, error_record, require_ok, run_blocking_checks
from media_assets.core.errors import CheckFailedError
from media_assets.sources import describe_local, register_source
from resources.media_store import MediaStore


def test_a_failed_blocking_check_fails_the_partition_and_blocks_downstream(tmp_path: Path, media_dir: Path) -> None:
    store = MediaStore(root=str(tmp_path / "out"))
    key = register_source(store, describe_local(media_dir / "video" / "psd_fades.mp4")).key
    assert [c.name for c in blocking_checks("audio")] == ["audio_duration_matches_container"]
    store.put_json(key, "audio.json", {"has_audio": True, "duration_s": 4.0, "expected_duration_s": 9.0})
    with pytest.raises(CheckFailedError) as caught:
        run_blocking_checks(store, key, ["audio"])
    assert "psd_fades.mp4" in str(caught.value) and "4.000 s" in str(caught.value)
    # the runner records it like any failure of the partition ...
    store.put_json(key, "errors/audio.json", error_record(caught.value, key, "audio", run_id="r1"))
    with pytest.raises(UpstreamFailed):  # ... so the transcript refuses this video
        require_ok(store, key, "audio")
    # and the check step says which check failed and why, on this partition
    passed, description, _ = evaluate(BY_KEY[("audio", "audio_duration_matches_container")], store, key)
    assert not passed and "container says 9.000 s" in description
    passed, description, meta = evaluate(BY_KEY[("audio", "processed")], store, key)
    assert not passed and meta["error_code"] == "check_failed" and meta["run_id"] == "r1"
    # a consistent audio.json passes
    store.delete_prefix(key, "errors/")
    store.put_json(key, "audio.json", {"has_audio": True, "duration_s": 9.0, "expected_duration_s": 9.0})
    run_blocking_checks(store, key, ["audio"])
    assert evaluate(BY_KEY[("audio", "audio_duration_matches_container")], store, key)[0]
