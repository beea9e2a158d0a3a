"""``media-assets``: process files and folders through the Dagster assets, search the results, or start the UI.

``process`` registers every input as a ``videos`` partition in the local Dagster instance and materializes
the selected assets in a few multi-partition runs (the same code path as a backfill), then prints a summary.
It processes every input even when some fail and exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from media_assets.asset_graph import (
    ASSETS,
    CPU_TIER_ASSETS,
    INFO,
    OUTPUT_OF,
    close_downstream,
    close_selection,
    contiguous_batches,
    group_by_assets,
    outdated,
)


def _iter_inputs(paths: Sequence[str]) -> Iterable[tuple[str, Path | None, str | None]]:
    """(given, file, problem): folders are walked for media names, files are taken as given. Nothing is opened
    here; FIFOs, sockets, devices, broken links and link loops get their own problem instead."""
    from media_assets.sources import is_candidate_name, not_a_file_problem

    for given in paths:
        p = Path(given)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if is_candidate_name(name):
                        full = Path(root) / name
                        problem = not_a_file_problem(full)
                        yield str(full), (None if problem else full), problem
            continue
        problem = not_a_file_problem(p)
        yield given, (None if problem else p), problem


def _status(store, key: str, assets: Sequence[str]) -> tuple[str, str]:
    """'ok' / 'failed' and a one-line note, read back from the error records and each asset's summary."""
    from media_assets.assets import SUMMARIES
    from media_assets.assets.runner import recorded_error

    for asset in assets:
        rec = recorded_error(store, key, asset)
        if rec is not None:
            return "failed", f"{asset}: [{rec.get('code')}] {rec.get('problem')}"
    missing = [a for a in assets if not store.exists(key, OUTPUT_OF[a])]
    if missing:
        return "failed", f"not materialized: {', '.join(missing)}"
    return "ok", ", ".join(note for asset in assets if asset in SUMMARIES for note in SUMMARIES[asset](store, key))


RETRYABLE_CODES = ("not_found", "interrupted")  # failures of the environment, not of the bytes: always retried


def store_root(out: str | None) -> str:
    """``--out`` if given (a folder, made absolute against the working directory, or ``s3://bucket/prefix``),
    else ``$MEDIA_ASSETS_STORE_ROOT``, else ``./media_data``."""
    from media_assets.core.store import DEFAULT_ROOT, ENV_STORE_ROOT

    root = out or os.environ.get(ENV_STORE_ROOT) or DEFAULT_ROOT
    if root.startswith("s3://"):
        from media_assets.core.store import parse_s3_uri

        parse_s3_uri(root)  # a bucket is required
        return root
    if "://" in root and not root.startswith("file://"):
        raise ValueError(f"unsupported output location {root!r}: use a folder or s3://bucket/prefix")
    return str(Path(root.removeprefix("file://")).expanduser().resolve())


def _apply_settings(args: argparse.Namespace) -> dict[str, object]:
    """Point the definitions at the output location (they read it when loaded, after this) and return the
    ``processing`` resource settings given on the command line, for the run config: preset, sample rate and
    limits (the environment supplies the rest, read once by ``ProcessingSettings.from_env``)."""
    from media_assets.core.limits import parse_duration, parse_size
    from media_assets.core.presets import preset_spec
    from resources.media_store import ENV_STORE_ROOT
    from resources.processing import ENV_MAX_DURATION, ENV_MAX_FILE_SIZE, ENV_PRESET

    os.environ[ENV_STORE_ROOT] = store_root(args.out)
    checks = ((ENV_MAX_FILE_SIZE, parse_size), (ENV_MAX_DURATION, parse_duration), (ENV_PRESET, preset_spec))
    for name, parse in checks:
        if os.environ.get(name):
            parse(os.environ[name])  # refused here, once, rather than when the definitions load
    settings: dict[str, object] = {}
    if args.preset:
        settings["preset"] = args.preset
    if args.sample_fps:
        settings["sample_fps"] = float(args.sample_fps)
    if args.max_file_size:
        settings["max_file_bytes"] = parse_size(args.max_file_size)
    if args.max_duration:
        settings["max_duration_s"] = parse_duration(args.max_duration)
    return settings


def _selection(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """(asked-for assets, the same closed over what they need); ValueError for unknown names."""
    if args.only:
        wanted = [a.strip() for a in args.only.split(",") if a.strip()]
    else:
        wanted = list(CPU_TIER_ASSETS if args.cpu_only else ASSETS)
    unknown = [a for a in wanted if a not in ASSETS]
    if unknown:
        raise ValueError(f"unknown asset(s): {', '.join(unknown)}; choose from {', '.join(ASSETS)}")
    return wanted, close_selection(wanted)


def _register_inputs(paths: Sequence[str], store) -> tuple[list[tuple[str, str, str, str]], dict[str, list[str]]]:
    """Fingerprint and register every input: (rows for inputs that failed, partition key -> inputs)."""
    from media_assets.sources import describe_local, register_source

    rows: list[tuple[str, str, str, str]] = []
    keys: dict[str, list[str]] = {}
    for given, path, problem in _iter_inputs(paths):
        if path is None:
            rows.append((given, "-", "failed", problem or "unreadable"))
            continue
        try:
            key = register_source(store, describe_local(path), prefer=True).key  # the path named is read first
        except OSError as exc:
            rows.append((given, "-", "failed", f"cannot read: {exc}"))
            continue
        keys.setdefault(key, []).append(given)
    return rows, keys


def _recorded_failure(store, key: str, assets: Sequence[str]) -> bool:
    """A failure recorded for the bytes (not retried without --retry-failed); environment failures don't count."""
    from media_assets.assets.runner import recorded_error

    for a in assets:
        rec = recorded_error(store, key, a)
        if rec is not None and rec.get("code") not in RETRYABLE_CODES:
            return True
    return False


def _plan(args, instance, store, keys, wanted, selected, console):
    """(asset groups to run with their partitions, status of untouched partitions, outdated partitions)."""
    import dagster as dg

    before: dict[str, tuple[str, str]] = {}
    stale: dict[str, tuple[list[str], str]] = {}
    todo = list(keys)
    if not args.force:
        done = set.intersection(*[set(instance.get_materialized_partitions(dg.AssetKey(a))) for a in selected])
        for k in keys:
            if k in done:
                before[k] = _status(store, k, selected)
        todo = [
            k
            for k in keys
            if not (k in before and before[k][0] == "ok")
            and (args.retry_failed or not _recorded_failure(store, k, selected))
        ]
        ok = [k for k in keys if k in before and before[k][0] == "ok"]
        stale = _stale(store, ok, selected, console, args.preset)
    if args.only and todo:
        # upstream assets are rebuilt only where they are missing: `--only timeline --force` redoes the timeline
        materialized = {a: set(instance.get_materialized_partitions(dg.AssetKey(a))) for a in selected}
        keep = {a for a in selected if a in wanted or not set(todo) <= materialized[a]}
        keep |= {partner for a in keep for partner in INFO[a].made_with}  # one step makes them together
        selected = [a for a in selected if a in keep]
    # one group of runs per asset selection: new or failed partitions get the whole selection, outdated ones only
    # what changed and what reads it
    return group_by_assets(stale, {tuple(selected): todo} if todo else {}), before, stale


def cmd_process(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    try:
        settings = _apply_settings(args)
        wanted, selected = _selection(args)
    except ValueError as exc:
        console.print(f"[red]{exc}")
        return 2
    from media_assets.instance import get_instance

    instance = get_instance(args.dagster_home)  # safe when several processes create it at once
    from media_assets.partitions import VIDEOS_PARTITIONS_NAME
    from media_assets.run_liveness import reap_dead_runs

    for reaped in reap_dead_runs(instance):
        _report_reaped(reaped, console, instance)
    from resources.media_store import MediaStore

    store = MediaStore.from_env()
    rows, keys = _register_inputs(args.paths, store)
    if not keys and not rows:
        console.print("[yellow]no media files found")
        return 1
    existing = list(instance.get_dynamic_partitions(VIDEOS_PARTITIONS_NAME))
    new = [k for k in keys if k not in set(existing)]
    if new:
        instance.add_dynamic_partitions(VIDEOS_PARTITIONS_NAME, new)
    groups, before, stale = _plan(args, instance, store, keys, wanted, selected, console)
    run_config: dict[str, object] = {"resources": {"processing": {"config": settings}}} if settings else {}
    redo = [k for ks in groups.values() for k in ks]
    started = time.perf_counter()
    interrupted = _execute(args, instance, groups, [*existing, *new], len(redo), console, run_config)
    elapsed = time.perf_counter() - started

    failed = 0
    for key, givens in keys.items():
        if interrupted is not None and key in interrupted.keys:
            status, note = "interrupted", f"stopped by {interrupted.signal}; the next run completes it"
        else:
            status, note = before[key] if key not in redo and key in before else _status(store, key, selected)
        if status != "interrupted" and key in stale:
            note = f"reprocessed ({stale[key][1]}); {note}"
        elif status != "interrupted" and key not in redo:
            note = ("up to date; " if status == "ok" else "recorded earlier (--retry-failed to retry); ") + note
        failed += status != "ok"
        rows.extend((given, key, status, note) for given in givens)
    failed += sum(1 for r in rows if r[1] == "-")
    _print_summary(args, rows, elapsed, store.root)
    if interrupted is not None:
        from media_assets.cli_runs import hard_exit

        hard_exit(interrupted.exit_code)
    return 1 if failed else 0


def _print_summary(args: argparse.Namespace, rows: list[tuple[str, str, str, str]], elapsed: float, root: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if args.json:
        import json

        for given, key, status, note in rows:
            out = f"{root.rstrip('/')}/{key}" if key != "-" else None
            print(json.dumps({"input": given, "partition": key, "status": status, "note": note, "output": out}))
        return
    colour = {"ok": "[green]ok", "interrupted": "[yellow]interrupted"}
    table = Table(title=f"media-assets: {len(rows)} input(s) in {elapsed:.1f}s -> {root}")
    for col in ("input", "partition", "status", "result"):
        table.add_column(col, overflow="fold")
    for given, key, status, note in rows:
        table.add_row(escape(given), key, colour.get(status, "[red]failed"), escape(note))
    Console().print(table)


def _report_reaped(reaped, console, instance) -> None:
    from rich.markup import escape

    from media_assets.interruptions import report_dead_run

    report_dead_run(instance, reaped, lambda line: console.print(f"[yellow]{escape(line)}"))


class _Interrupted:
    def __init__(self, signal: str, exit_code: int, keys: set[str]) -> None:
        self.signal, self.exit_code, self.keys = signal, exit_code, keys


def _execute(args, instance, groups, order, total: int, console, run_config: dict) -> _Interrupted | None:
    """Run every group in contiguous partition batches; on SIGINT/SIGTERM, clean up and return what was stopped."""
    import dagster as dg
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from media_assets.cli_runs import StopRequested, describe_holders, execute_run, new_handle, stop_on_signals
    from media_assets.definitions import defs
    from media_assets.partitions import partition_range_tags

    # Dagster's console logger prints every event at DEBUG; the progress bar and summary are the CLI's output
    log_config = {"loggers": {"console": {"config": {"log_level": "INFO" if args.verbose else "ERROR"}}}, **run_config}

    def reaped(run) -> None:
        _report_reaped(run, console, instance)

    def waiting(holders, since) -> None:
        console.print(f"[yellow]{describe_holders(holders, since)}")

    columns = (TextColumn("[bold]processing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=args.quiet) as progress, stop_on_signals():
        task = progress.add_task("process", total=total)
        for assets, group in groups.items():
            job = defs.resolve_job_def("process_media").get_subset(asset_selection={dg.AssetKey(a) for a in assets})
            for batch in contiguous_batches(group, order, args.batch_size):
                tags = {**partition_range_tags(batch[0], batch[-1]), "media_assets/source": "cli"}
                handle = new_handle()
                try:
                    execute_run(
                        job,
                        instance,
                        tags=tags,
                        run_config=log_config,
                        handle=handle,
                        on_reaped=reaped,
                        on_wait=waiting,
                    )
                except StopRequested as stop:
                    progress.stop()
                    return _interrupt(instance, handle.run_id, list(assets), batch, stop, console)
                except Exception as exc:
                    console.print(f"[red]run for {len(batch)} partition(s) crashed: {escape(str(exc))}")
                progress.advance(task, len(batch))
    return None


def _interrupt(instance, run_id: str, assets: list[str], batch: list[str], stop, console) -> _Interrupted:
    """Cancel the run, free its slots, record its unfinished partitions as interrupted, remove their temp files."""
    from media_assets.cli_runs import cancel_run
    from media_assets.interruptions import record_interrupted, unfinished

    name = str(stop)
    console.print(f"[yellow]{name}: stopping run {run_id} ...")
    reason = f"interrupted by {name} (media-assets process was stopped)"
    cancel_run(instance, run_id, reason)
    pending = unfinished(instance, run_id, assets, batch)
    try:  # this process exits next: what its worker thread was writing goes too
        record_interrupted(run_id, pending, reason, ours=True)
    except Exception as exc:  # the run is canceled either way; the summary still names the partitions
        console.print(f"[yellow]could not record the interrupted partitions in the catalog: {exc}")
    return _Interrupted(name, stop.exit_code, set(pending))


def _stale(
    store, keys: list[str], selected: Sequence[str], console, preset: str | None = None
) -> dict[str, tuple[list[str], str]]:
    """:func:`outdated` for ``keys``, from the catalog beside the store; no catalog, no opinion (warned)."""
    if not keys:
        return {}
    from resources.catalog import CatalogResource
    from resources.processing import ProcessingSettings

    try:
        catalog = CatalogResource.from_env().open(store.root)
        try:
            latest = catalog.current_results(keys, selected)
            stopped = {k: [j["asset"] for j in catalog.jobs(partition=k) if j["status"] == "interrupted"] for k in keys}
        finally:
            catalog.close()
    except Exception as exc:  # an unreachable catalog fails the assets later, with the endpoint named
        console.print(f"[yellow]cannot tell outdated outputs apart (catalog: {exc}); processing only new inputs")
        return {}
    # a preset counts only when asked for (--preset or MEDIA_ASSETS_PRESET): a plain re-run keeps what exists
    asked = preset or (ProcessingSettings.from_env().preset_name if os.environ.get("MEDIA_ASSETS_PRESET") else None)
    from media_assets.definitions import code_versions, defs

    stale = outdated(latest, keys, selected, asked, versions=code_versions(defs))
    for key, assets in stopped.items():  # a run stopped part-way may have rewritten some outputs: redo them
        assets = [a for a in assets if a in selected]
        if assets:
            redo = close_downstream(sorted(set(assets) | set(stale.get(key, ([], ""))[0])), selected)
            stale[key] = (redo, f"interrupted earlier: {', '.join(assets)}")
    return stale


def cmd_demo(args: argparse.Namespace) -> int:
    from media_assets.core.store import default_cache_dir
    from media_assets.demo import make_demo_clip

    root = store_root(args.out)
    base = Path(root) if not root.startswith("s3://") else default_cache_dir()  # the input is local either way
    clip = base / "demo_input" / "demo.mp4"
    if not clip.exists():
        make_demo_clip(clip)
    print(f"demo clip: {clip}", file=sys.stderr)
    args.paths = [str(clip)]
    return cmd_process(args)


# Settings that name local paths: made absolute against the user's working directory before Dagster starts, so
# the webserver, daemon and run workers (started elsewhere) all read the same folders.
PATH_SETTINGS = ("MEDIA_ASSETS_INBOX", "MEDIA_ASSETS_INDEX_DIR", "MEDIA_ASSETS_CACHE_DIR")
SUPERSEDED_DEV_WARNING = "ignore:Function `dev_command` is superseded"


def ui_environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment of ``dagster dev``: DAGSTER_HOME, the store root and local path settings made absolute."""
    from media_assets.core.store import ENV_STORE_ROOT
    from media_assets.instance import ensure_dagster_home

    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(ensure_dagster_home(args.dagster_home))
    env[ENV_STORE_ROOT] = store_root(args.out)
    env.setdefault("MEDIA_ASSETS_INBOX", "./inbox")
    # `dagster dev` still runs everything in 1.13 but tells the user to switch to `dg dev`, which needs a dg
    # project folder (this command works from an installed package in any folder): the advice is not theirs.
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), SUPERSEDED_DEV_WARNING]))
    for name in PATH_SETTINGS:
        if env.get(name) and "://" not in env[name]:
            env[name] = str(Path(env[name]).expanduser().resolve())
    return env


def ui_command(args: argparse.Namespace) -> list[str]:
    """``dagster dev`` through the running interpreter (no activated virtualenv needed), loading the installed
    code location, with the project's webserver (Dagster's plus the stored pictures, media_assets.webserver);
    the code server runs in the user's working directory."""
    return [
        sys.executable, "-m", "media_assets.webserver", "dev",
        "-m", "media_assets.definitions", "-d", str(Path.cwd()),
        "-h", args.host, "-p", str(args.port),
    ]  # fmt: skip


def cmd_ui(args: argparse.Namespace) -> int:
    env = ui_environment(args)
    print(f"Dagster UI on http://{args.host}:{args.port} (instance {env['DAGSTER_HOME']})", file=sys.stderr)
    # Started from DAGSTER_HOME: `dagster dev` warns about (and ignores) a dagster.yaml in its working directory.
    proc = subprocess.Popen(ui_command(args), env=env, cwd=env["DAGSTER_HOME"])
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)  # dagster dev stops its webserver, daemon and code servers
        return proc.wait()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="media-assets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--out",
            default=None,
            help="output folder or s3://bucket/prefix (default $MEDIA_ASSETS_STORE_ROOT, else ./media_data)",
        )
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
        p.add_argument(
            "--max-file-size",
            default=None,
            help="reject larger inputs, e.g. 2G, 500MB, none (default $MEDIA_ASSETS_MAX_FILE_SIZE, else 200G)",
        )
        p.add_argument(
            "--max-duration",
            default=None,
            help="reject longer media, e.g. 3h, 90m, 1:30:00, none (default $MEDIA_ASSETS_MAX_DURATION, else 24h)",
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

    from media_assets.lineage_cli import add_lineage_parser

    p = add_lineage_parser(sub)
    p.set_defaults(func=_run_lineage)

    p = sub.add_parser("ui", help="start the Dagster UI on this project")
    common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser(
        "warm",
        help="keep a warm process that `process` and `demo` hand their work to (no start-up wait)",
        description="A warm process has Dagster, the project and the model libraries imported; `process` and "
        "`demo` calls on the same instance fork from it instead of starting Python cold. MEDIA_ASSETS_WARM=off "
        "runs calls cold; =start starts one when none runs.",
    )
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument(
        "--dagster-home", default=None, help="Dagster instance folder (default $DAGSTER_HOME or ./.dagster_home)"
    )
    from media_assets.warm import DEFAULT_IDLE_TIMEOUT_S

    p.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT_S,
        help=f"stop after this many idle seconds (default {DEFAULT_IDLE_TIMEOUT_S:.0f})",
    )
    p.set_defaults(func=cmd_warm)
    return parser


def _run_lineage(args: argparse.Namespace) -> int:
    from media_assets.lineage_cli import run_lineage

    return run_lineage(args)


def _run_search(args: argparse.Namespace) -> int:
    from media_assets.search_cli import run_search

    return run_search(args)


def cmd_warm(args: argparse.Namespace) -> int:
    from media_assets.instance import ensure_dagster_home
    from media_assets.warm import WarmUnavailable, request, start, stop

    home = ensure_dagster_home(args.dagster_home)
    try:
        if args.action == "start":
            info = start(home, idle_timeout_s=args.idle_timeout)
            print(f"warm process {info['pid']} serves {info['home']}", file=sys.stderr)
        elif args.action == "stop":
            pid = stop(home)
            print(f"stopped warm process {pid}" if pid else f"no warm process for {home}", file=sys.stderr)
        else:
            info = request(home, "ping")
            up = time.time() - float(info["since"])
            print(f"warm process {info['pid']} serves {info['home']}, up {up:.0f}s, {info['calls']} call(s) running")
    except WarmUnavailable as exc:
        print(f"media-assets warm {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _in_warm_process(args: argparse.Namespace, argv: Sequence[str] | None) -> int | None:
    """The call's exit code when a warm process ran it (media_assets/warm.py), None to run it here."""
    from media_assets.instance import resolve_dagster_home
    from media_assets.warm import WarmUnavailable, run_in_warm_process, start, warm_mode

    mode = warm_mode()
    if mode == "off":
        return None
    home = resolve_dagster_home(args.dagster_home)
    try:
        if mode == "start":
            from media_assets.instance import ensure_dagster_home

            start(ensure_dagster_home(args.dagster_home))
        return run_in_warm_process(home, list(sys.argv[1:] if argv is None else argv))
    except WarmUnavailable as exc:
        if mode == "require" or (mode == "start" and "no warm process" not in str(exc)):
            print(f"media-assets: {exc}", file=sys.stderr)
            if mode == "require":
                return 2
        return None


def main(argv: Sequence[str] | None = None, warm: bool = True) -> int:
    import warnings

    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="dagster")
    args = build_parser().parse_args(argv)
    if warm and args.command in ("process", "demo"):
        try:
            code = _in_warm_process(args, argv)
        except ValueError as exc:  # a bad MEDIA_ASSETS_WARM
            print(f"media-assets: {exc}", file=sys.stderr)
            return 2
        if code is not None:
            return code
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
