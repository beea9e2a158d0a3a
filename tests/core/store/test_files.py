"""Temporary files: what killed writers left is swept, never a live writer's."""

from __future__ import annotations

import os

from media_assets.core.store import LocalBackend, files


def test_sweep_removes_what_killed_writers_left_and_keeps_live_ones(tmp_path):
    """A writer killed mid-write leaves a hidden temp file named after its host and pid; the next run removes it,
    never a live writer's (and this process's own only when it says it is about to exit)."""
    import subprocess
    import sys
    import time

    backend = LocalBackend(tmp_path / "root")
    backend.put_bytes("k1", "a.json", b"{}")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = files.tmp_prefix().split("-")[1]
    orphan = tmp_path / "root" / "k1" / f".tmp-{host}-{dead_pid}-abc"
    orphan.write_bytes(b"half")
    staging = tmp_path / "root" / ".staging" / f".tmp-{host}-{dead_pid}-k1-xyz"
    staging.mkdir(parents=True)
    (staging / "keyframes.json").write_bytes(b"half")
    live = tmp_path / "root" / "k1" / f"{files.tmp_prefix()}live"
    live.write_bytes(b"in progress")
    other_host_old = tmp_path / "root" / "k1" / ".tmp-0badc0de-1-old"
    other_host_old.write_bytes(b"x")
    os.utime(other_host_old, (time.time() - 2 * files.ORPHAN_AGE_S,) * 2)
    assert backend.sweep_orphans("k1") == 3
    assert not orphan.exists() and not staging.exists() and not other_host_old.exists()
    assert live.exists() and (tmp_path / "root" / "k1" / "a.json").exists()
    assert backend.sweep_orphans("k1", ours=True) == 1 and not live.exists()
