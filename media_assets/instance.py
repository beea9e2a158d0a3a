"""The local Dagster instance: a DAGSTER_HOME folder holding the project's dagster.yaml.

Dagster reads its instance configuration only from ``$DAGSTER_HOME/dagster.yaml`` and insists that
DAGSTER_HOME is an absolute path to an existing folder. :func:`ensure_dagster_home` makes that true:

* the folder is ``path``, else ``$DAGSTER_HOME``, else ``./.dagster_home`` (made absolute);
* it is created if missing, and gets the project's laptop configuration (SQLite under DAGSTER_HOME,
  queued runs, the ``accelerator`` pool; see ``dagster.yaml`` at the repo root) if it has no
  ``dagster.yaml`` yet. An existing one is never touched, so a cluster DAGSTER_HOME that already holds
  ``deploy/postgres/dagster.yaml`` stays on PostgreSQL;
* ``os.environ["DAGSTER_HOME"]`` is set, so ``DagsterInstance.get()`` and any Dagster process started
  from here (webserver, daemon, run workers) use it.

Shell use (Makefile, scripts)::

    export DAGSTER_HOME="$(python -m media_assets.instance)"   # or: python -m media_assets.instance PATH
    dagster dev
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from media_assets.dagster_speedups import cache_alembic_script_directories

if TYPE_CHECKING:
    import dagster as dg

CONFIG_FILENAME = "dagster.yaml"
# The copy shipped inside the package (works from an installed wheel) ...
PACKAGED_CONFIG = Path(__file__).resolve().parent / "config" / CONFIG_FILENAME
# ... and the one at the repository root (a source checkout); tests keep the two identical.
REPO_CONFIG = Path(__file__).resolve().parent.parent / CONFIG_FILENAME
DEFAULT_HOME = ".dagster_home"
LOCK_FILENAME = ".media_assets_init.lock"


def default_config_path() -> Path:
    """The laptop dagster.yaml to seed a new DAGSTER_HOME with: the packaged copy, else the repo's."""
    for candidate in (PACKAGED_CONFIG, REPO_CONFIG):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no default {CONFIG_FILENAME}: neither {PACKAGED_CONFIG} nor {REPO_CONFIG} exists "
        "(is media_assets/config/dagster.yaml included in the installed package?)"
    )


def resolve_dagster_home(path: str | Path | None = None) -> Path:
    """The absolute DAGSTER_HOME that :func:`ensure_dagster_home` would use, without creating it."""
    raw = path or os.environ.get("DAGSTER_HOME") or DEFAULT_HOME
    return Path(raw).expanduser().resolve()


def ensure_dagster_home(path: str | Path | None = None) -> Path:
    """Create DAGSTER_HOME with the project's dagster.yaml if absent, export it, return its absolute path.

    ``path`` defaults to ``$DAGSTER_HOME``, then ``./.dagster_home``. Safe to call repeatedly and from
    concurrent processes.
    """
    home = resolve_dagster_home(path)
    if home.exists() and not home.is_dir():
        raise NotADirectoryError(f"DAGSTER_HOME {home} exists and is not a folder")
    home.mkdir(parents=True, exist_ok=True)
    config = home / CONFIG_FILENAME
    if not config.exists():
        # Copy under a private name, then rename: another process never sees a half-written file.
        tmp = home / f".{CONFIG_FILENAME}.{os.getpid()}.tmp"
        shutil.copyfile(default_config_path(), tmp)
        os.replace(tmp, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextlib.contextmanager
def instance_lock(home: str | Path) -> Iterator[None]:
    """Exclusive lock on an instance folder while it is opened: Dagster creates its SQLite tables (and alembic
    stamps their version) on first use, and two processes doing that at once fail with "table runs already
    exists" or leave two alembic heads."""
    fd = os.open(Path(home) / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def creating_instance(path: str | Path | None = None) -> Iterator[Path]:
    """:func:`ensure_dagster_home`, then :func:`instance_lock` on it while the body opens the instance."""
    home = ensure_dagster_home(path)
    with instance_lock(home):
        yield home


def get_instance(path: str | Path | None = None) -> dg.DagsterInstance:
    """``DagsterInstance.get()`` after :func:`ensure_dagster_home`. The caller should close it when done."""
    import dagster as dg

    cache_alembic_script_directories()
    with creating_instance(path):
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)  # creates the tables under the lock
    return instance


if __name__ == "__main__":  # python -m media_assets.instance [PATH]  -> prints the absolute DAGSTER_HOME
    print(ensure_dagster_home(sys.argv[1] if len(sys.argv) > 1 else None))
