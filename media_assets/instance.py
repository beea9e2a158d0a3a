"""The local Dagster instance: a DAGSTER_HOME folder holding the project's dagster.yaml."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

PACKAGED_CONFIG = Path(__file__).resolve().parent / "config" / "dagster.yaml"
DEFAULT_HOME = ".dagster_home"


def ensure_dagster_home(path: str | Path | None = None) -> Path:
    """Create DAGSTER_HOME (``path``, else $DAGSTER_HOME, else ./.dagster_home) with our dagster.yaml."""
    home = Path(path or os.environ.get("DAGSTER_HOME") or DEFAULT_HOME).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        tmp = home / ".dagster.yaml.tmp"
        shutil.copyfile(PACKAGED_CONFIG, tmp)
        tmp.replace(config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(path: str | Path | None = None) -> dg.DagsterInstance:
    ensure_dagster_home(path)
    return dg.DagsterInstance.get()
