"""``media-assets lineage PARTITION_OR_PATH``: what made each artifact of one video, and what is out of date.

    media-assets lineage KEY_OR_FILE [--out DIR] [--json]

For every asset of the table: its files, the code version (with the model fingerprint), preset, model, run id
and time of the materialization that made them (from the catalog), and whether they are out of date: made by
another code version than the definitions' current one, or built on an upstream asset that is. ``KEY_OR_FILE``
is a partition key, a media file (fingerprinted, not registered) or a file name seen by ``process``.
Exit codes: 0 (everything current), 1 (something out of date, failed or missing), 2 (unknown video).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from media_assets.asset_graph import GRAPH, INFO, made_before_fingerprints


def add_lineage_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("lineage", help="what made each artifact of one video, and what is out of date")
    p.add_argument("video", help="partition key, media file, or the name of a file `process` has seen")
    p.add_argument("--out", default=None, help="data root (default $MEDIA_ASSETS_STORE_ROOT, else ./media_data)")
    p.add_argument("--json", action="store_true", help="one JSON object per asset")
    return p


def resolve_key(video: str, out: str, store: Any) -> str | None:
    """The partition of a file (by its bytes, through the content index), a key, or a file name."""
    from media_assets.search_cli import resolve_videos
    from media_assets.sources import describe_local, find_key

    path = Path(video).expanduser()
    if path.is_file():
        return find_key(store, describe_local(path))
    keys, _ = resolve_videos(out, [video])
    return keys[0] if keys else None


def lineage_rows(store: Any, key: str, made: dict[str, dict[str, Any]], current: dict[str, str]) -> list[dict]:
    """One row per asset: what made its output and whether it is out of date (itself or through upstream)."""
    present = set(store.list(key))
    rows: list[dict] = []
    stale: set[str] = set()
    for info in GRAPH:
        rec = made.get(info.name)
        files = [f for f in info.outputs if f in present or any(p.startswith(f) for p in present if f.endswith("/"))]
        error = f"errors/{info.name}.json" in present
        row: dict[str, Any] = {"asset": info.name, "files": files, "current_code_version": current[info.name]}
        if rec is not None:
            row.update({k: rec.get(k) for k in ("code_version", "preset", "model", "run_id", "updated_at")})
        if error:
            row["status"] = "failed"
            row["error"] = store.get_json(key, f"errors/{info.name}.json").get("problem")
        elif not files:
            row["status"] = "missing"
        elif rec is None:
            row["status"] = "unrecorded"
        elif rec.get("code_version") != current[info.name] and not made_before_fingerprints(
            rec.get("code_version") or "", current[info.name]
        ):
            row["status"] = "out of date"
            stale.add(info.name)
        elif stale & set(info.upstream):
            row["status"] = "upstream out of date"
            stale.add(info.name)
        else:
            row["status"] = "current"
        fp = (row.get("code_version") or "").partition("+")[2]
        row["model_fingerprint"] = fp or None
        rows.append(row)
    return rows


def run_lineage(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from media_assets.cli import store_root

    err = Console(stderr=True)
    root = store_root(args.out)
    import os

    from media_assets.core.store import ENV_STORE_ROOT

    os.environ[ENV_STORE_ROOT] = root
    from media_assets.definitions import code_versions, defs
    from resources.catalog import CatalogResource
    from resources.media_store import MediaStore

    store = MediaStore.from_env()
    key = resolve_key(args.video, root, store)
    if key is None:
        err.print(f"[red]no video {escape(args.video)!r} under {root}")
        return 2
    if not store.exists(key, "source.json"):
        err.print(f"[red]{escape(args.video)} (partition {key}) has not been processed under {root}")
        return 2
    catalog = CatalogResource.from_env().open(root)
    try:
        made = catalog.lineage(key)
    finally:
        catalog.close()
    rows = lineage_rows(store, key, made, code_versions(defs))
    if args.json:
        for row in rows:
            print(json.dumps({"partition": key, **row}, default=str))
    else:
        table = Table(title=f"lineage of {key} ({store.get_json(key, 'source.json').get('uri')})")
        for col in ("asset", "status", "code version", "preset", "model", "run", "made at", "files"):
            table.add_column(col, overflow="fold")
        colour = {"current": "green", "missing": "dim", "unrecorded": "yellow"}
        for r in rows:
            status = f"[{colour.get(r['status'], 'red')}]{r['status']}"
            if r["status"] == "out of date":
                status += f" (now {r['current_code_version']})"
            table.add_row(
                r["asset"],
                status,
                r.get("code_version") or "",
                r.get("preset") or "",
                escape(str(r.get("model") or "")),
                (r.get("run_id") or "")[:8],
                str(r.get("updated_at") or "")[:19],
                escape(", ".join(r["files"])),
            )
        Console().print(table)
    return 0 if all(r["status"] in ("current",) or _not_made_on_purpose(r, rows) for r in rows) else 1


def _not_made_on_purpose(row: dict, rows: list[dict]) -> bool:
    """An asset never made is fine (``--only`` built less), unless something made reads it."""
    if row["status"] != "missing":
        return False
    readers = [r for r in rows if row["asset"] in INFO[r["asset"]].upstream and r["status"] != "missing"]
    return not readers
