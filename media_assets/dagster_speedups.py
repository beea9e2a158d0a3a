"""Start-up costs of Dagster's storage layer that every process of ours pays, taken once per process.

Dagster 1.13 checks the schema revision of a SQLite or PostgreSQL storage each time it opens one (the run,
event-log and schedule storages, and each new run's event-log shard on SQLite). Each check builds a new alembic
``ScriptDirectory`` and reads its 260-odd revision files to find the head revision: about 0.15 s, three or more
times per process, in the CLI, the daemon, the webserver and every run worker. The revision files belong to the
installed Dagster and do not change while a process runs, so one ``ScriptDirectory`` per script folder is enough.
The database's own revision is still read every time.
"""

from __future__ import annotations

import threading

_LOCK = threading.Lock()


def cache_alembic_script_directories() -> None:
    """Make ``dagster._core.storage.sql`` reuse one alembic ``ScriptDirectory`` per script location (idempotent)."""
    from alembic.script import ScriptDirectory
    from dagster._core.storage import sql

    if getattr(sql.ScriptDirectory, "_media_assets_cached", False):
        return
    cache: dict[tuple[str | None, str | None], ScriptDirectory] = {}

    class CachedScriptDirectory(ScriptDirectory):
        _media_assets_cached = True

        @classmethod
        def from_config(cls, config):  # type: ignore[no-untyped-def, override]
            key = (config.get_main_option("script_location"), config.get_main_option("version_locations"))
            with _LOCK:
                if key not in cache:
                    cache[key] = ScriptDirectory.from_config(config)
                return cache[key]

    sql.ScriptDirectory = CachedScriptDirectory
