"""Shared fixtures: real media from ../shared/media (override with MEDIA_ASSETS_TEST_MEDIA)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.s3_server import S3Server, shared_s3_server

pytest_plugins = ["tests.crash_guard"]

REPO_ROOT = Path(__file__).resolve().parent.parent
MEDIA_DIR = Path(os.environ.get("MEDIA_ASSETS_TEST_MEDIA", REPO_ROOT.parent / "shared" / "media")).resolve()


@pytest.fixture(scope="session")
def media_dir() -> Path:
    if not (MEDIA_DIR / "truth.json").exists():
        pytest.fail(f"test media not found at {MEDIA_DIR}; set MEDIA_ASSETS_TEST_MEDIA")
    return MEDIA_DIR


@pytest.fixture(scope="session")
def truth(media_dir: Path) -> dict:
    return json.loads((media_dir / "truth.json").read_text())


def ffmpeg(*args: str) -> None:
    """Run the system ffmpeg (installed by scripts/setup.sh) to generate media of a known shape."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        pytest.fail("ffmpeg not found; run scripts/setup.sh")
    subprocess.run([exe, "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    """A real S3 server (SeaweedFS), started on first use and shared by the test process."""
    return shared_s3_server()


@pytest.fixture(scope="module")
def s3_bucket(s3_server: S3Server) -> str:
    """A fresh bucket per test module; tests inside it use their own prefixes."""
    return s3_server.create_bucket()


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """``python -m media_assets.cli ARGS`` in ``cwd``, as a user runs it: DAGSTER_HOME=<cwd>/home, no store root
    inherited from the test process, ``env`` on top."""
    base = {k: v for k, v in os.environ.items() if k != "MEDIA_ASSETS_STORE_ROOT"}
    return subprocess.run(
        [sys.executable, "-m", "media_assets.cli", *args],
        cwd=cwd,
        env={**base, "DAGSTER_HOME": str(cwd / "home"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture()
def whisper_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Whisper models the resource loads (by name), from an empty model cache."""
    import resources.whisper as whisper_resource
    from media_assets.core import model_cache

    calls: list[str] = []
    real = whisper_resource.load_whisper

    def counting(name: str, **kw):
        calls.append(name)
        return real(name, **kw)

    monkeypatch.setattr(whisper_resource, "load_whisper", counting)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_cache.clear()
    return calls
