"""``media-assets``: process files and folders through the Dagster assets, search the results, or start the UI.

``process`` registers every input as a ``videos`` partition in the local Dagster instance and materializes
the selected assets in a few multi-partition runs (the same code path as a backfill), then prints a summary.
It processes every input even when some fail and exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from media_assets.asset_graph import (
    ASSETS,
    CPU_TIER_ASSETS,
    OUTPUT_OF,
    close_selection,
    contiguous_batches,
    group_by_assets,
    outdated,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _iter_inputs(paths: Sequence[str]) -> Iterable[tuple[str, Path | None, str | None]]:
    """(given, file, problem): folders are walked for media names, files are taken as given."""
    from media_assets.sources import is_candidate_name

    for given in paths:
        p = Path(given)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if is_candidate_name(name):
                        yield str(Path(root) / name), Path(root) / name, None
        elif p.is_file():
            yield given, p, None
        else:
            yield given, None, "no such file or folder"


def _status(store, key: str, assets: Sequence[str]) -> tuple[str, str]:
    """'ok' / 'failed' and a one-line note, read back from the outputs and error records."""
    for asset in assets:
        if store.exists(key, f"errors/{asset}.json"):
            rec = store.get_json(key, f"errors/{asset}.json")
            return "failed", f"{asset}: [{rec.get('code')}] {rec.get('problem')}"
    missing = [a for a in assets if not store.exists(key, OUTPUT_OF[a])]
    if missing:
        return "failed", f"not materialized: {', '.join(missing)}"
    notes = []
    if "scenes" in assets:
        doc = store.get_json(key, "scenes.json")
        if doc.get("has_video"):
            cuts = sum(1 for t in doc["transitions"] if t["kind"] == "cut")
            notes.append(f"{len(doc['scenes'])} scenes, {cuts} cuts")
            lost = doc["decode"].get("lost_s", 0)
            if lost >= 0.05:
                notes.append(f"lost {lost:.1f}s of video")
        else:
            notes.append("no video")
    if "keyframes" in assets:
        doc = store.get_json(key, "keyframes.json")
        if doc.get("has_video"):
            notes.append(f"{len(doc['keyframes'])} keyframes")
    if "audio" in assets:
        doc = store.get_json(key, "audio.json")
        if doc.get("has_audio"):
            notes.append(f"audio {doc['duration_s']:.1f}s")
            if doc.get("lost_s", 0) >= 0.05:
                notes.append(f"lost {doc['lost_s']:.1f}s of audio")
        else:
            notes.append("no audio")
    if "transcript" in assets:
        doc = store.get_json(key, "transcript.json")
        if doc.get("has_audio"):
            words = sum(len(seg.get("words") or []) for seg in doc.get("segments") or [])
            notes.append(f"{words} words ({doc.get('language') or '?'})")
    if "diarization" in assets:
        doc = store.get_json(key, "diarization.json")
        if doc.get("has_audio"):
            notes.append(f"{doc.get('num_speakers', 0)} speakers")
    if "detections" in assets:
        doc = store.get_json(key, "events.json") if store.exists(key, "events.json") else {}
        if doc.get("text_events") or doc.get("object_tracks"):
            notes.append(
                f"{len(doc.get('object_tracks') or [])} object tracks, {len(doc.get('text_events') or [])} texts"
            )
    return "ok", ", ".join(notes)


def cmd_process(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    console = Console(stderr=True)
    os.environ["MEDIA_ASSETS_STORE_ROOT"] = str(Path(args.out).resolve())
    if args.preset:
        os.environ["MEDIA_ASSETS_PRESET"] = args.preset
    if args.sample_fps:
        os.environ["MEDIA_ASSETS_SAMPLE_FPS"] = str(args.sample_fps)
    from media_assets.instance import ensure_dagster_home

    ensure_dagster_home(args.dagster_home)
    import dagster as dg

    from media_assets.definitions import defs
    from media_assets.partitions import VIDEOS_PARTITIONS_NAME, partition_range_tags
    from media_assets.sources import describe_local, register_source
    from resources.media_store import MediaStore

    if args.only:
        wanted = [a.strip() for a in args.only.split(",") if a.strip()]
    else:
        wanted = list(CPU_TIER_ASSETS if args.cpu_only else ASSETS)
    unknown = [a for a in wanted if a not in ASSETS]
    if unknown:
        console.print(f"[red]unknown asset(s): {', '.join(unknown)}; choose from {', '.join(ASSETS)}")
        return 2
    selected = close_selection(wanted)

    store = MediaStore.from_env()
    instance = dg.DagsterInstance.get()
    rows: list[tuple[str, str, str, str]] = []  # input, key, status, note
    keys: dict[str, list[str]] = {}
    for given, path, problem in _iter_inputs(args.paths):
        if path is None:
            rows.append((given, "-", "failed", problem or "unreadable"))
            continue
        try:
            record = describe_local(path)
            register_source(store.backend, record)
        except OSError as exc:
            rows.append((given, "-", "failed", f"cannot read: {exc}"))
            continue
        keys.setdefault(record.key, []).append(given)
    if not keys and not rows:
        console.print("[yellow]no media files found")
        return 1
    existing = list(instance.get_dynamic_partitions(VIDEOS_PARTITIONS_NAME))
    known = set(existing)
    new = [k for k in keys if k not in known]
    if new:
        instance.add_dynamic_partitions(VIDEOS_PARTITIONS_NAME, new)
    order = [*existing, *new]  # dynamic partitions keep insertion order

    todo = list(keys)
    before: dict[str, tuple[str, str]] = {}  # status of partitions left untouched, read once
    stale: dict[str, tuple[list[str], str]] = {}  # up-to-date-looking partitions made by other code or preset
    if not args.force:
        done = set.intersection(*[set(instance.get_materialized_partitions(dg.AssetKey(a))) for a in selected])
        for k in keys:
            if k in done:
                before[k] = _status(store, k, selected)
        # the same bytes give the same error: a recorded failure is not retried unless asked
        todo = [
            k
            for k in keys
            if not (k in before and before[k][0] == "ok")
            and (args.retry_failed or not any(store.exists(k, f"errors/{a}.json") for a in selected))
        ]
        stale = _stale(store, [k for k in keys if k in before and before[k][0] == "ok"], selected, console)
    if args.only and todo:
        # upstream assets are rebuilt only where they are missing: `--only timeline --force` redoes the timeline
        materialized = {a: set(instance.get_materialized_partitions(dg.AssetKey(a))) for a in selected}
        keep = {a for a in selected if a in wanted or not set(todo) <= materialized[a]}
        if keep & {"scenes", "keyframes"}:  # one pass makes both
            keep |= {"scenes", "keyframes"}
        selected = [a for a in selected if a in keep]
    # one group of runs per asset selection: new or failed partitions get the whole selection, outdated ones only
    # what changed and what reads it
    groups = group_by_assets(stale, {tuple(selected): todo} if todo else {})
    redo = [k for ks in groups.values() for k in ks]

    # Dagster's console logger prints every event at DEBUG; the progress bar and summary are the CLI's output
    log_config = {"loggers": {"console": {"config": {"log_level": "INFO" if args.verbose else "ERROR"}}}}
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]processing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=args.quiet,
    ) as progress:
        task = progress.add_task("process", total=len(redo))
        for assets, group in groups.items():
            job = defs.resolve_job_def("process_media").get_subset(asset_selection={dg.AssetKey(a) for a in assets})
            for batch in contiguous_batches(group, order, args.batch_size):
                tags = {**partition_range_tags(batch[0], batch[-1]), "media_assets/source": "cli"}
                try:
                    job.execute_in_process(instance=instance, tags=tags, raise_on_error=False, run_config=log_config)
                except Exception as exc:
                    console.print(f"[red]run for {len(batch)} partition(s) crashed: {exc}")
                progress.advance(task, len(batch))
    elapsed = time.perf_counter() - started

    failed = 0
    for key, givens in keys.items():
        status, note = before[key] if key not in redo and key in before else _status(store, key, selected)
        if key in stale:
            note = f"reprocessed ({stale[key][1]}); {note}"
        elif key not in redo:
            note = ("up to date; " if status == "ok" else "recorded earlier (--retry-failed to retry); ") + note
        failed += status != "ok"
        for given in givens:
            rows.append((given, key, status, note))
    failed += sum(1 for r in rows if r[1] == "-")

    if args.json:
        import json

        for given, key, status, note in rows:
            print(
                json.dumps(
                    {
                        "input": given,
                        "partition": key,
                        "status": status,
                        "note": note,
                        "output": str(Path(args.out) / key) if key != "-" else None,
                    }
                )
            )
    else:
        table = Table(title=f"media-assets: {len(rows)} input(s) in {elapsed:.1f}s -> {args.out}")
        for col in ("input", "partition", "status", "result"):
            table.add_column(col, overflow="fold")
        for given, key, status, note in rows:
            table.add_row(escape(given), key, "[green]ok" if status == "ok" else "[red]failed", escape(note))
        Console().print(table)
    return 1 if failed else 0


def _stale(store, keys: list[str], selected: Sequence[str], console) -> dict[str, tuple[list[str], str]]:
    """:func:`outdated` for ``keys``, from the catalog beside the store; no catalog, no opinion (warned)."""
    if not keys:
        return {}
    from resources.catalog import CatalogResource
    from resources.processing import ProcessingSettings

    try:
        catalog = CatalogResource.from_env().open(store.root)
        try:
            latest = catalog.current_results(keys, selected)
        finally:
            catalog.close()
    except Exception as exc:  # an unreachable catalog fails the assets later, with the endpoint named
        console.print(f"[yellow]cannot tell outdated outputs apart (catalog: {exc}); processing only new inputs")
        return {}
    # a preset counts only when asked for (--preset or MEDIA_ASSETS_PRESET): a plain re-run keeps what exists
    asked = ProcessingSettings.from_env().preset_name if os.environ.get("MEDIA_ASSETS_PRESET") else None
    return outdated(latest, keys, selected, asked)


def cmd_demo(args: argparse.Namespace) -> int:
    from media_assets.demo import make_demo_clip

    clip = Path(args.out) / "demo_input" / "demo.mp4"
    if not clip.exists():
        make_demo_clip(clip)
    print(f"demo clip: {clip}", file=sys.stderr)
    args.paths = [str(clip)]
    return cmd_process(args)


def cmd_ui(args: argparse.Namespace) -> int:
    from media_assets.instance import ensure_dagster_home

    ensure_dagster_home(args.dagster_home)
    os.environ.setdefault("MEDIA_ASSETS_STORE_ROOT", str(Path(args.out).resolve()))
    workspace = REPO_ROOT / "workspace.yaml"
    target = ["-w", str(workspace)] if workspace.exists() else ["-m", "media_assets.definitions"]
    cmd = ["dagster", "dev", *target, "-h", args.host, "-p", str(args.port)]
    return subprocess.call(cmd, cwd=REPO_ROOT if workspace.exists() else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="media-assets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", default="./media_data", help="output folder (default ./media_data)")
        p.add_argument(
            "--dagster-home",
            default=None,
            help="Dagster instance folder (default $DAGSTER_HOME or ./.dagster_home)",
        )

    p = sub.add_parser("process", help="process files and folders")
    p.add_argument("paths", nargs="+", help="media files or folders (walked recursively)")
    common(p)

    def processing(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--only",
            help=f"comma-separated assets to materialize, plus what they need ({', '.join(ASSETS)}); default all",
        )
        p.add_argument("--cpu-only", action="store_true", help="only metadata, audio, scenes, keyframes (no models)")
        p.add_argument("--preset", choices=["fast", "balanced", "accurate"])
        p.add_argument(
            "--sample-fps",
            type=float,
            default=None,
            help="also take frames at this rate for detection and OCR (slides, screen recordings, titles)",
        )
        p.add_argument("--batch-size", type=int, default=50, help="partitions per run (default 50)")
        p.add_argument("--force", action="store_true", help="recompute partitions that are up to date")
        p.add_argument("--retry-failed", action="store_true", help="retry partitions with a recorded failure")
        p.add_argument("--json", action="store_true", help="print the summary as JSON lines")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--verbose", action="store_true", help="show Dagster's logs")

    processing(p)
    p.set_defaults(func=cmd_process)

    p = sub.add_parser("demo", help="generate a short demo clip and process it")
    common(p)
    processing(p)
    p.set_defaults(func=cmd_demo)

    from media_assets.search_cli import add_search_parser

    p = add_search_parser(sub)
    p.set_defaults(func=_run_search)

    p = sub.add_parser("ui", help="start the Dagster UI on this project")
    common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)
    return parser


def _run_search(args: argparse.Namespace) -> int:
    from media_assets.search_cli import run_search

    return run_search(args)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="dagster")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
