"""Inbox sensor: files dropped in a local folder become partitions of ``videos`` and runs.

Every tick walks the inbox recursively, fingerprints new or changed files (at most ``max_per_tick``; the rest
wait for the next tick), registers each source in the media store (``<key>/source.json``) and returns::

    SensorResult(
        run_requests=[RunRequest(partition_key=k, run_key=k), ...],
        dynamic_partitions_requests=[AddDynamicPartitionsRequest("videos", new_keys)],
        cursor=...,
    )

With ``run_batch_size=N > 1`` (the project's definitions use 50) the new keys of a tick are requested as runs over
ranges of up to N consecutive partitions instead (tags ``dagster/asset_partition_range_start/end``, run key
``first..last``): new partitions are appended in order, so each range holds exactly the tick's new keys, and
models load once per range, as in a multi-run backfill.

* The same bytes under two names are one partition and one run (keys are content fingerprints, the run key is
  the partition key, and keys that are already partitions of ``videos`` are not requested again; the other
  name is recorded as an alias in ``source.json``).
* The cursor (Dagster's sensor cursor, so it survives restarts) is compact JSON: for every file still in the
  inbox that was handled, ``relative path -> [size, mtime_ns]``; files being written (``pending``) and files
  that could not be read (``failed``, retried when their size/mtime/ctime change).
* Hidden and temporary files (``.name``, ``*.part``, ``*.tmp``, ``*.crdownload``) are skipped; only names
  matching the include globs are considered (probing by content happens in the assets).
* A file still being written (modified less than ``settle_seconds`` ago and not seen unchanged for that long)
  is left for a later tick.
* A file that cannot be read (permission error, vanished) is logged and skipped; it never fails the tick. A
  broken media file is still registered: the assets record the probing error on its partition.

Config: the inbox folder comes from ``inbox=`` or ``$MEDIA_ASSETS_INBOX`` (default ``./inbox``); the store
from the resource named ``store_resource_key``, else ``store=``, else ``MediaStore.from_env()``
(``$MEDIA_ASSETS_STORE_ROOT``, default ``./media_data``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from media_assets import sources
from media_assets.partitions import HEAVY_TAGS, VIDEOS_PARTITIONS_NAME, partition_range_tags
from media_assets.sources import DEFAULT_INCLUDE_GLOBS, DEFAULT_SETTLE_SECONDS, SourceRecord, is_candidate_name
from resources.media_store import MediaStore

ENV_INBOX = "MEDIA_ASSETS_INBOX"
DEFAULT_INBOX = "./inbox"
CURSOR_VERSION = 1


# --------------------------------------------------------------------------------------------------------------
# Shared with the S3 sensor
# --------------------------------------------------------------------------------------------------------------


def resolve_store(context: dg.SensorEvaluationContext, store: Any, store_resource_key: str | None) -> Any:
    """The media store to register sources in: a resource, an explicit store, or ``MediaStore.from_env()``."""
    if store_resource_key:
        return getattr(context.resources, store_resource_key)
    if store is not None:
        return store
    return MediaStore.from_env()


def run_requests_for(
    new_keys: Sequence[str], run_batch_size: int = 1, tags: Mapping[str, str] | None = None
) -> list[dg.RunRequest]:
    """One run per new key, or with ``run_batch_size > 1`` one per range of that many consecutive new keys;
    every run carries ``tags`` (what launched it, and that it is heavy: it runs the models)."""
    tags = dict(tags or {})
    if run_batch_size <= 1:
        return [dg.RunRequest(partition_key=key, run_key=key, tags=tags) for key in new_keys]
    requests = []
    for lo in range(0, len(new_keys), run_batch_size):
        chunk = new_keys[lo : lo + run_batch_size]
        if len(chunk) == 1:
            requests.append(dg.RunRequest(partition_key=chunk[0], run_key=chunk[0], tags=tags))
        else:
            requests.append(
                dg.RunRequest(
                    run_key=f"{chunk[0]}..{chunk[-1]}",
                    tags={**partition_range_tags(chunk[0], chunk[-1]), **tags},
                )
            )
    return requests


@dataclass
class Registrar:
    """Registers described sources and collects the new partition keys (in order) and their run requests."""

    context: dg.SensorEvaluationContext
    store: Any
    run_batch_size: int = 1
    source: str = "inbox"  # the media_assets/source tag of the runs it requests
    new_keys: list[str] = field(default_factory=list)
    _seen_keys: set[str] = field(default_factory=set)

    @property
    def run_requests(self) -> list[dg.RunRequest]:
        tags = {"media_assets/source": self.source, **HEAVY_TAGS}
        return run_requests_for(self.new_keys, self.run_batch_size, tags)

    def add_all(self, records: Sequence[SourceRecord], workers: int = 1) -> None:
        """Register ``records`` and request a partition and a run for each key not seen before, in order.

        Distinct contents are registered in parallel (the records of one content one after the other, so aliases are
        appended one at a time). A key is requested unless it was already requested in this tick or is
        already a partition. The instance is only asked (``has_dynamic_partition``, one query per key) when
        ``source.json`` already existed: a key whose ``source.json`` was just created has never been requested
        by a sensor (sources are registered before their partition is requested); if a tick dies after
        registering, the next tick finds ``source.json`` and asks the instance, so nothing is lost. A store
        error fails the tick (after the other keys were registered; registering again is idempotent).
        """
        groups: dict[str, list[SourceRecord]] = {}
        for record in records:
            groups.setdefault(record.content_id, []).append(record)

        def register(group: list[SourceRecord]) -> sources.Registration:
            registered = [sources.register_source(self.store, record) for record in group]
            return registered[0]

        outcomes = run_parallel(register, list(groups.values()), workers)
        for group, registered in zip(groups.values(), outcomes, strict=True):
            if isinstance(registered, Exception):
                raise registered
            key = registered.key
            for other in group[1:]:
                self.context.log.info(f"{other.uri}: same content as {group[0].uri} ({key})")
            if key in self._seen_keys:
                continue
            self._seen_keys.add(key)
            if not registered.created and self.context.instance.has_dynamic_partition(VIDEOS_PARTITIONS_NAME, key):
                self.context.log.info(f"{group[0].uri}: already a partition ({key}); recorded as an alias")
                continue
            self.new_keys.append(key)

    def result(self, cursor: str, skip_message: str) -> dg.SensorResult:
        if not self.new_keys:
            return dg.SensorResult(skip_reason=skip_message, cursor=cursor)
        return dg.SensorResult(
            run_requests=self.run_requests,
            dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(VIDEOS_PARTITIONS_NAME, list(self.new_keys))],
            cursor=cursor,
        )


def run_parallel(fn: Callable[[Any], Any], items: Sequence[Any], workers: int) -> list[Any]:
    """``[fn(item) or the exception it raised]`` in order, using up to ``workers`` threads."""

    def call(item: Any) -> Any:
        try:
            return fn(item)
        except Exception as exc:
            return exc

    if workers <= 1 or len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(call, items))


# --------------------------------------------------------------------------------------------------------------
# Inbox sensor
# --------------------------------------------------------------------------------------------------------------


@dataclass
class InboxCursor:
    seen: dict[str, list[int]] = field(default_factory=dict)  # rel -> [size, mtime_ns]
    pending: dict[str, list[float]] = field(default_factory=dict)  # rel -> [size, mtime_ns, first_seen]
    failed: dict[str, list[int]] = field(default_factory=dict)  # rel -> [size, mtime_ns, ctime_ns]

    @classmethod
    def parse(cls, raw: str | None, log: Any = None) -> InboxCursor:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError(f"unknown cursor version {data.get('v')!r}")
            return cls(
                seen={str(k): list(v) for k, v in data.get("seen", {}).items()},
                pending={str(k): list(v) for k, v in data.get("pending", {}).items()},
                failed={str(k): list(v) for k, v in data.get("failed", {}).items()},
            )
        except (ValueError, AttributeError, TypeError) as exc:
            if log is not None:
                log.warning(f"ignoring unreadable cursor ({exc}); starting over (known partitions are skipped)")
            return cls()

    def dumps(self) -> str:
        # ASCII-escaped so that any file name survives the round trip through Dagster's storage.
        return json.dumps(
            {"v": CURSOR_VERSION, "seen": self.seen, "pending": self.pending, "failed": self.failed},
            separators=(",", ":"),
            sort_keys=True,
        )


@dataclass
class _Entry:
    rel: str
    path: Path
    size: int
    mtime_ns: int
    ctime_ns: int


def _walk(root: Path, include: Sequence[str], log: Any) -> Iterator[_Entry]:
    """Candidate regular files under ``root`` (recursively, not following directory symlinks)."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            scan = os.scandir(folder)
        except OSError as exc:
            log.warning(f"cannot list {folder}: {exc}")
            continue
        with scan:
            for entry in scan:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                        continue
                    if not is_candidate_name(name, include) or not entry.is_file(follow_symlinks=True):
                        continue
                    st = entry.stat(follow_symlinks=True)
                except OSError as exc:
                    log.warning(f"cannot stat {entry.path}: {exc}")
                    continue
                rel = Path(entry.path).relative_to(root).as_posix()
                yield _Entry(rel, Path(entry.path), st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def build_inbox_sensor(
    target: Any,
    *,
    name: str = "inbox_sensor",
    inbox: str | os.PathLike[str] | None = None,
    store: Any = None,
    store_resource_key: str | None = None,
    include: Sequence[str] = DEFAULT_INCLUDE_GLOBS,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    max_per_tick: int = 100,
    workers: int = 4,
    run_batch_size: int = 1,
    minimum_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    description: str | None = None,
) -> dg.SensorDefinition:
    """A sensor that turns files dropped in ``inbox`` into ``videos`` partitions and runs of ``target``.

    Args:
        target: what to run for each new partition (asset selection, assets, or a job).
        inbox: folder to watch; default ``$MEDIA_ASSETS_INBOX`` or ``./inbox`` (read at each tick).
        store: a ``MediaStore`` or backend to register sources in (when no ``store_resource_key``).
        store_resource_key: name of a ``MediaStore`` resource to use instead (e.g. ``"media_store"``).
        include: globs matched (case-insensitively) against file names.
        settle_seconds: a file modified more recently than this is left for a later tick.
        max_per_tick: at most this many files are fingerprinted per tick.
        workers: threads used to fingerprint files.
        run_batch_size: new partitions per requested run (1: one run per file; more: ranges, models load once
            per range).
    """
    if max_per_tick < 1:
        raise ValueError("max_per_tick must be at least 1")
    include = tuple(include)

    @dg.sensor(
        name=name,
        target=target,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=description or "Registers media files dropped in the inbox folder as partitions.",
        required_resource_keys={store_resource_key} if store_resource_key else None,
    )
    def _inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        root = Path(os.fspath(inbox) if inbox is not None else os.environ.get(ENV_INBOX) or DEFAULT_INBOX)
        root = root.expanduser().absolute()
        if not root.is_dir():
            return dg.SensorResult(skip_reason=f"inbox {root} does not exist", cursor=context.cursor)

        state = InboxCursor.parse(context.cursor, context.log)
        new_state = InboxCursor()
        now = time.time()
        todo: list[_Entry] = []
        deferred = 0
        for entry in _walk(root, include, context.log):
            rel = entry.rel
            if not _is_utf8(rel):
                context.log.warning(f"skipping {entry.path!s:.200}: file name is not valid UTF-8; rename it")
                continue
            if entry.size == 0:
                continue  # empty: being created, or nothing to process
            if state.seen.get(rel) == [entry.size, entry.mtime_ns]:
                new_state.seen[rel] = [entry.size, entry.mtime_ns]
                continue
            if state.failed.get(rel) == [entry.size, entry.mtime_ns, entry.ctime_ns]:
                new_state.failed[rel] = state.failed[rel]
                continue
            previous = state.pending.get(rel)
            unchanged_since = previous[2] if previous and previous[:2] == [entry.size, entry.mtime_ns] else None
            settled = now - entry.mtime_ns / 1e9 >= settle_seconds or (
                unchanged_since is not None and now - unchanged_since >= settle_seconds
            )
            if not settled:
                deferred += 1
                first_seen = unchanged_since if unchanged_since is not None else now
                new_state.pending[rel] = [entry.size, entry.mtime_ns, first_seen]
                continue
            todo.append(entry)

        todo.sort(key=lambda e: (e.mtime_ns, e.rel))
        batch, waiting = todo[:max_per_tick], len(todo) - min(len(todo), max_per_tick)
        described = run_parallel(lambda e: sources.describe_local(e.path, expect=(e.size, e.mtime_ns)), batch, workers)

        records: list[SourceRecord] = []
        for entry, outcome in zip(batch, described, strict=True):
            if isinstance(outcome, sources.SourceChangedError):
                context.log.info(f"{entry.path}: still changing; will retry")
                new_state.pending[entry.rel] = [entry.size, entry.mtime_ns, now]
                deferred += 1
            elif isinstance(outcome, FileNotFoundError):
                context.log.info(f"{entry.path}: vanished before it could be read; skipped")
            elif isinstance(outcome, Exception):
                context.log.warning(f"{entry.path}: cannot read ({type(outcome).__name__}: {outcome}); skipped")
                new_state.failed[entry.rel] = [entry.size, entry.mtime_ns, entry.ctime_ns]
            else:
                records.append(outcome)
                new_state.seen[entry.rel] = [entry.size, entry.mtime_ns]
        registrar = Registrar(context, resolve_store(context, store, store_resource_key), run_batch_size)
        registrar.add_all(records, workers)

        summary = (
            f"{len(batch)} file(s) fingerprinted, {len(registrar.new_keys)} new partition(s), "
            f"{deferred} still being written, {waiting} left for the next tick"
        )
        context.log.info(summary)
        return registrar.result(new_state.dumps(), f"no new media in {root}: {summary}")

    return _inbox_sensor
