"""`media-assets ui` from the installed entry point, with no activated virtualenv (issue 10, item 6)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_environment_resolves_paths_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from media_assets.cli import ui_command, ui_environment

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEDIA_ASSETS_INBOX", "drop")
    monkeypatch.setenv("MEDIA_ASSETS_INDEX_DIR", "idx")
    monkeypatch.delenv("MEDIA_ASSETS_STORE_ROOT", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    args = argparse.Namespace(dagster_home="home", out=None, host="127.0.0.1", port=3999)
    env = ui_environment(args)
    assert env["DAGSTER_HOME"] == str(tmp_path / "home")
    assert env["MEDIA_ASSETS_STORE_ROOT"] == str(tmp_path / "media_data")
    assert env["MEDIA_ASSETS_INBOX"] == str(tmp_path / "drop")
    assert env["MEDIA_ASSETS_INDEX_DIR"] == str(tmp_path / "idx")
    cmd = ui_command(args)
    assert cmd[:4] == [sys.executable, "-m", "media_assets.webserver", "dev"]  # no bare `dagster` on PATH
    assert cmd[cmd.index("-d") + 1] == str(tmp_path)


@pytest.mark.timeout(300)
def test_ui_starts_from_the_installed_entry_point_without_an_activated_venv(tmp_path: Path) -> None:
    entry = Path(sys.executable).parent / "media-assets"
    assert entry.is_file(), "the package's console script is not installed"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DAGSTER_HOME", "PYTHONPATH")}
    env = {k: v for k, v in env.items() if not k.startswith("MEDIA_ASSETS_")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # the venv's bin is not on it
    env["MEDIA_ASSETS_INBOX"] = "inbox"
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # a stray config in the user's folder
    picture = tmp_path / "media_data" / "talk-abcdefgh" / "keyframes" / "contact_sheet.jpg"
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\xff\xd8\xff\xe0 a stored contact sheet")
    (picture.parent.parent / "source.json").write_text("{}")
    log = tmp_path / "ui.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [str(entry), "ui", "--port", str(port), "--dagster-home", "home"],
            cwd=tmp_path,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.time() + 180
        answer = None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as resp:
                    answer = resp.read().decode()
                    break
            except OSError:
                time.sleep(1)
        text = log.read_text()
        assert answer is not None and "dagster_webserver_version" in answer, text[-3000:]
        assert (tmp_path / "home" / "dagster.yaml").is_file()  # the instance is where the user said
        assert "will not be used to configure Dagster" not in text, text[-3000:]
        assert "No such file" not in text and "FileNotFoundError" not in text
        assert "superseded" not in text, text[-3000:]
        # the pictures that materializations link (/media-assets/files/<key>/<name>) come from the store
        base = f"http://127.0.0.1:{port}/media-assets/files"
        with urllib.request.urlopen(f"{base}/talk-abcdefgh/keyframes/contact_sheet.jpg", timeout=10) as resp:
            assert resp.headers["Content-Type"] == "image/jpeg"
            assert resp.read() == picture.read_bytes()
        for wrong in ("talk-abcdefgh/source.json", "talk-abcdefgh/missing.png", "..%2F..%2Fetc/passwd.png"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"{base}/{wrong}", timeout=10)
            assert err.value.code == 404, wrong
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
