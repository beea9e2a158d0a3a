"""Per-partition execution shared by every asset.

An asset step may cover one partition (a sensor's run) or many (a backfill or a CLI batch with
``BackfillPolicy.multi_run``). Each partition is processed on its own: a bad file is recorded on its
partition (``<key>/errors/<asset>.json`` and a log line naming the file) and the others carry on. A failed
partition is not materialized (:mod:`media_assets.assets.partial`) and the run ends failed (the step itself when
it had one partition or all failed, else the ``processed`` checks), so that Dagster shows exactly the failed
partitions as failed while the good ones, and their downstream assets, are materialized. A blocking check
(:mod:`media_assets.assets.check_table`) that fails on a partition's output fails that partition the same way.

Every partition's outcome is also recorded in the catalog (``processing_jobs``, ``video_results``) through the
asset's ``catalog`` resource (by default ``<index_dir>/catalog.sqlite`` beside the media store's data). A
catalog that cannot be reached fails the step with its endpoint named: that is the deployment's problem, not
the file's.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from media_assets.asset_graph import CODE_VERSIONS, INFO, PACKAGE_VERSION
from media_assets.assets.check_table import blocking_checks
from media_assets.assets.partial import partial_results
from media_assets.core.catalog import Catalog, CatalogUnavailableError
from media_assets.core.cost import Cost, CostMeter
from media_assets.core.errors import CheckFailedError, MediaError
from media_assets.core.model_identity import split_code_version
from media_assets.core.transient import is_transient, with_retries
from media_assets.sources import load_source
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings

# Tries of one partition's work while it fails transiently (S3, network, database), with exponential backoff
# and jitter; past them the step fails and the assets' RetryPolicy (assets/common.py) runs it again later.
TRANSIENT_ATTEMPTS = int(os.environ.get("MEDIA_ASSETS_TRANSIENT_ATTEMPTS", "4"))


class UpstreamFailed(Exception):
    """An upstream asset recorded a failure for this partition, so there is nothing to build on."""

    def __init__(self, key: str, upstream: str, error: dict[str, Any]) -> None:
        self.upstream = upstream
        self.error = error
        super().__init__(f"{key}: upstream {upstream} failed: {error.get('problem', error)}")


@dataclass
class PartitionOutcome:
    assets: list[str] = field(default_factory=list)
    ok: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> metadata
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> error record


def results(context: dg.AssetExecutionContext, outcome: PartitionOutcome) -> Iterator[Any]:
    """The step's outputs: every partition materialized, or only the good ones when some failed."""
    if outcome.failed:
        yield from partial_results(context, outcome.assets, list(outcome.ok))
    else:
        for asset in outcome.assets:
            yield dg.MaterializeResult(asset_key=asset)


def run_blocking_checks(store: MediaStore, key: str, assets: list[str]) -> None:
    """Raise CheckFailedError when a blocking check fails on what the step just wrote for ``key``."""
    for asset in assets:
        for check in blocking_checks(asset):
            assert check.run is not None
            result = check.run(store, key)
            if result is not None and not result.passed:
                raise CheckFailedError(
                    load_source(store, key).uri,
                    f"check {asset}/{check.name} failed: {result.description}",
                    asset=asset,
                    check=check.name,
                    outcome=result.metadata,
                )


def error_record(exc: BaseException, key: str, asset: str, run_id: str | None = None) -> dict[str, Any]:
    if isinstance(exc, MediaError):
        rec = exc.to_dict()
    elif isinstance(exc, UpstreamFailed):
        rec = {
            "code": "upstream_failed",
            "file": exc.error.get("file"),
            "problem": f"upstream {exc.upstream} failed: {exc.error.get('problem')}",
            "details": {"upstream": exc.upstream, "upstream_error": exc.error},
        }
    else:  # a bug or an environment problem: keep the traceback for the report
        rec = {
            "code": "internal_error",
            "file": None,
            "problem": f"{type(exc).__name__}: {exc}",
            "details": {"traceback": "".join(traceback.format_exception(exc, limit=8))},
        }
    rec.update(
        {"partition": key, "asset": asset, "run_id": run_id, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    )
    return rec


def code_version_of(context: dg.AssetExecutionContext, asset: str) -> str:
    """The running definition's code version of ``asset``: with the model fingerprint the definitions were built
    with (``definitions.with_model_versions``), else the table's."""
    try:
        version = context.assets_def.code_versions_by_key.get(dg.AssetKey(asset))
    except Exception:  # a context without an assets definition (direct invocation in tests)
        version = None
    return version or CODE_VERSIONS[asset]


def provenance(context: dg.AssetExecutionContext, asset: str, settings: ProcessingSettings) -> dict[str, Any]:
    version = code_version_of(context, asset)
    meta = {
        "media_assets/code_version": version,
        "media_assets/package_version": PACKAGE_VERSION,
        "media_assets/preset": settings.preset_name,
    }
    _, fp = split_code_version(version)
    if fp:
        meta["media_assets/model_fingerprint"] = fp
    return meta


def recorded_error(store: MediaStore, key: str, asset: str) -> dict[str, Any] | None:
    """The error ``asset`` recorded for partition ``key`` (``errors/<asset>.json``), if it failed there."""
    name = f"errors/{asset}.json"
    return store.get_json(key, name) if store.exists(key, name) else None


def require_ok(store: MediaStore, key: str, upstream: str) -> None:
    """Raise UpstreamFailed if ``upstream`` recorded an error for ``key`` and wrote no output."""
    error = recorded_error(store, key, upstream)
    if error is not None:
        raise UpstreamFailed(key, upstream, error)


def catalog_for(store: MediaStore, catalog: CatalogResource) -> Catalog:
    """The catalog database, beside the store's data unless the resource names one; unreachable -> Failure."""
    try:
        return catalog.open(store.root)
    except CatalogUnavailableError as exc:
        raise dg.Failure(description=str(exc), metadata={"catalog": exc.endpoint}) from exc


def _record(
    catalog: Catalog, context: dg.AssetExecutionContext, key: str, asset: str, status: str, meta: dict[str, Any]
) -> None:
    meta = {k: v for k, v in meta.items() if k != "preview"}  # inline images belong to the UI, not the table
    try:
        catalog.record_materialization(key, asset, status, meta, run_id=context.run.run_id)
    except CatalogUnavailableError as exc:
        raise dg.Failure(description=str(exc), metadata={"catalog": exc.endpoint}) from exc


def media_seconds(store: MediaStore, key: str) -> float | None:
    """The partition's media duration from media_metadata.json (None before it exists or without one)."""
    try:
        value = store.get_json(key, "media_metadata.json").get("duration_s")
    except Exception:
        return None
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def shares(media: dict[str, float | None]) -> dict[str, float]:
    """Each partition's share of work done for all of them at once, by media seconds (equal when unknown)."""
    known = [m for m in media.values() if m]
    fallback = sum(known) / len(known) if known else 1.0
    weights = {k: (m or fallback) for k, m in media.items()}
    total = sum(weights.values()) or 1.0
    return {k: w / total for k, w in weights.items()}


def run_partitions(
    context: dg.AssetExecutionContext,
    assets: list[str],
    store: MediaStore,
    settings: ProcessingSettings,
    work: Callable[[str], dict[str, dict[str, Any]]],
    *,
    catalog: CatalogResource,
    shared: Cost | None = None,
    workers: int = 1,
) -> PartitionOutcome:
    """Run ``work(key)`` for every partition of the step; ``work`` returns metadata per asset name.

    Each partition's materialization records what it cost (``cost/...``: wall and CPU seconds, peak memory, GPU
    memory, media seconds, real-time factor). ``shared`` is the cost of work the step did for all its partitions
    at once (a batched inference before ``work``), shared out by media seconds.

    ``workers`` > 1 runs that many partitions at once on threads (``work`` must be thread-safe): short files
    leave a core idle in every single-threaded stretch of a model step (VAD, features, alignment, decoding
    loops), and two files side by side with one thread each fill it. Their cost is then measured for the group
    and shared out by media seconds, since the CPU time of overlapping partitions cannot be told apart.
    """
    outcome = PartitionOutcome(assets=list(assets))
    keys = list(context.partition_keys)
    db = catalog_for(store, catalog)
    # media_metadata.json exists only once media_metadata has run: the asset without upstream makes it
    has_metadata = any(INFO[a].upstream for a in assets)
    media = {key: media_seconds(store, key) if has_metadata else None for key in keys}
    portion = shares(media)

    def attempt(key: str, metered: bool = True) -> tuple[dict[str, dict[str, Any]], int, float, Cost | None]:
        """(metadata per asset, transient retries, elapsed s, cost when ``metered``): side by side, the cost is
        the group's, so the partition's own is not measured."""
        started = time.perf_counter()
        store.sweep_orphans(key)  # what a killed earlier run was writing
        with CostMeter() if metered else contextlib.nullcontext() as meter:
            per_asset, retries = with_retries(
                lambda: work(key), attempts=TRANSIENT_ATTEMPTS, on_retry=_log_retry(context, key)
            )
            run_blocking_checks(store, key, assets)
        return per_asset, retries, round(time.perf_counter() - started, 3), meter.cost if metered else None

    def finish(key: str, done: tuple[dict[str, dict[str, Any]], int, float, Cost | None]) -> None:
        per_asset, retries, elapsed, own = done
        assert own is not None
        duration = media[key] or _duration_from(per_asset)
        cost = own.plus(shared.share(portion[key]) if shared else None).with_media(duration)
        for asset in assets:
            if store.exists(key, f"errors/{asset}.json"):  # an earlier failure is superseded
                store.delete_prefix(key, f"errors/{asset}.json")
            meta = {
                "status": "ok",
                "elapsed_s": elapsed,
                **provenance(context, asset, settings),
                **cost.metadata(),
                **({"media_assets/transient_retries": retries} if retries else {}),
                **per_asset.get(asset, {}),
            }
            context.add_asset_metadata(meta, asset_key=asset, partition_key=key)
            _record(db, context, key, asset, "ok", meta)
        outcome.ok[key] = per_asset

    workers = max(1, min(workers, len(keys)))
    if workers == 1:
        for key in keys:
            try:
                done = attempt(key)
            except Exception as exc:
                if is_transient(exc):  # still failing after the retries: the step fails, Dagster retries it later
                    raise
                _record_failure(context, db, store, settings, assets, key, exc, outcome)
                continue
            finish(key, done)
    else:
        for key, done in _side_by_side(keys, attempt, workers, portion, f"{assets[0]}-partition"):
            if isinstance(done, Exception):
                _record_failure(context, db, store, settings, assets, key, done, outcome)
            else:
                finish(key, done)
    if outcome.failed and (len(keys) == 1 or not outcome.ok):
        first = next(iter(outcome.failed.values()))
        raise dg.Failure(
            description=f"{len(outcome.failed)} of {len(keys)} partition(s) failed; first: {first['problem']}",
            metadata={"failed_partitions": dg.MetadataValue.json(outcome.failed)},
            allow_retries=False,  # the input is bad (or the code is): trying again gives the same answer
        )
    if outcome.failed:
        context.log.warning(
            f"{len(outcome.failed)} of {len(keys)} partitions failed and are not materialized: "
            + ", ".join(sorted(outcome.failed))
        )
    return outcome


def _side_by_side(
    keys: list[str],
    attempt: Callable[[str, bool], tuple[dict[str, dict[str, Any]], int, float, Cost | None]],
    workers: int,
    portion: dict[str, float],
    name: str,
) -> Iterator[tuple[str, Any]]:
    """``attempt`` (unmetered) over ``keys`` on ``workers`` threads; yields (key, result or exception) in partition
    order, each result with its share of the group's cost. A transient failure (after its retries) cancels what
    has not started and is raised once the running partitions are done, as in the sequential loop."""
    outcomes: dict[str, Any] = {}
    with CostMeter() as group, ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        futures = {key: pool.submit(attempt, key, False) for key in keys}
        for key in keys:
            try:
                outcomes[key] = futures[key].result()
            except Exception as exc:
                if is_transient(exc):
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
                outcomes[key] = exc
    assert group.cost is not None
    for key in keys:
        done = outcomes[key]
        if isinstance(done, Exception):
            yield key, done
        else:
            per_asset, retries, elapsed, _ = done
            yield key, (per_asset, retries, elapsed, group.cost.share(portion[key]))


def _log_retry(context: dg.AssetExecutionContext, key: str) -> Callable[[int, BaseException, float], None]:
    def log(attempt: int, exc: BaseException, delay: float) -> None:
        context.log.warning(f"[{key}] transient fault, try {attempt + 1} in {delay:.1f}s: {type(exc).__name__}: {exc}")

    return log


def _duration_from(per_asset: dict[str, dict[str, Any]]) -> float | None:
    """media_metadata's own duration (the one asset that runs before media_metadata.json exists)."""
    value = per_asset.get("media_metadata", {}).get("duration_s")
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _record_failure(
    context: dg.AssetExecutionContext,
    db: Catalog,
    store: MediaStore,
    settings: ProcessingSettings,
    assets: list[str],
    key: str,
    exc: Exception,
    outcome: PartitionOutcome,
) -> None:
    rec = error_record(exc, key, assets[0], run_id=context.run.run_id)
    message = f"{rec['file']}: {rec['problem']}" if rec.get("file") else rec["problem"]
    outcome.failed[key] = rec
    for asset in assets:
        store.put_json(key, f"errors/{asset}.json", {**rec, "asset": asset})
        meta = {
            "status": "failed",
            "error_code": rec["code"],
            "error": message,
            "file": rec.get("file") or "",
            **provenance(context, asset, settings),
        }
        _record(db, context, key, asset, "failed", meta)
    context.log.error(f"[{key}] {', '.join(assets)} failed: {message}")
