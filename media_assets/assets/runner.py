"""Per-partition execution shared by every asset.

An asset step may cover one partition (a sensor's run) or many (a backfill or a CLI batch with
``BackfillPolicy.multi_run``). Each partition is processed on its own: a bad file is recorded on its
partition (``<key>/errors/<asset>.json`` plus ``status: failed`` metadata and a log line naming the file)
and the others carry on. A single-partition run fails on a bad file, so that Dagster shows the partition as
failed; a multi-partition run only fails when every partition failed.

Every partition's outcome is also recorded in the catalog (``processing_jobs``, ``video_results``) through the
asset's ``catalog`` resource (by default ``<index_dir>/catalog.sqlite`` beside the media store's data). A
catalog that cannot be reached fails the step with its endpoint named: that is the deployment's problem, not
the file's.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from media_assets.asset_graph import CODE_VERSIONS, PACKAGE_VERSION
from media_assets.core.catalog import Catalog, CatalogUnavailableError
from media_assets.core.errors import MediaError
from media_assets.core.model_identity import split_code_version
from resources.catalog import CatalogResource
from resources.media_store import MediaStore
from resources.processing import ProcessingSettings


class UpstreamFailed(Exception):
    """An upstream asset recorded a failure for this partition, so there is nothing to build on."""

    def __init__(self, key: str, upstream: str, error: dict[str, Any]) -> None:
        self.upstream = upstream
        self.error = error
        super().__init__(f"{key}: upstream {upstream} failed: {error.get('problem', error)}")


@dataclass
class PartitionOutcome:
    ok: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> metadata
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> error record


def error_record(exc: BaseException, key: str, asset: str) -> dict[str, Any]:
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
            "details": {"traceback": traceback.format_exc(limit=8)},
        }
    rec.update({"partition": key, "asset": asset, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
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


def require_ok(store: MediaStore, key: str, upstream: str) -> None:
    """Raise UpstreamFailed if ``upstream`` recorded an error for ``key`` and wrote no output."""
    name = f"errors/{upstream}.json"
    if store.exists(key, name):
        raise UpstreamFailed(key, upstream, store.get_json(key, name))


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


def run_partitions(
    context: dg.AssetExecutionContext,
    assets: list[str],
    store: MediaStore,
    settings: ProcessingSettings,
    work: Callable[[str], dict[str, dict[str, Any]]],
    *,
    catalog: CatalogResource,
) -> PartitionOutcome:
    """Run ``work(key)`` for every partition of the step; ``work`` returns metadata per asset name."""
    outcome = PartitionOutcome()
    keys = list(context.partition_keys)
    db = catalog_for(store, catalog)
    for key in keys:
        started = time.perf_counter()
        try:
            store.sweep_orphans(key)  # what a killed earlier run was writing
            per_asset = work(key)
        except Exception as exc:
            rec = error_record(exc, key, assets[0])
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
                context.add_asset_metadata(meta, asset_key=asset, partition_key=key)
                _record(db, context, key, asset, "failed", meta)
            context.log.error(f"[{key}] {', '.join(assets)} failed: {message}")
            continue
        elapsed = round(time.perf_counter() - started, 3)
        for asset in assets:
            if store.exists(key, f"errors/{asset}.json"):  # an earlier failure is superseded
                store.delete_prefix(key, f"errors/{asset}.json")
            meta = {
                "status": "ok",
                "elapsed_s": elapsed,
                **provenance(context, asset, settings),
                **per_asset.get(asset, {}),
            }
            context.add_asset_metadata(meta, asset_key=asset, partition_key=key)
            _record(db, context, key, asset, "ok", meta)
        outcome.ok[key] = per_asset
    if outcome.failed and (len(keys) == 1 or not outcome.ok):
        first = next(iter(outcome.failed.values()))
        raise dg.Failure(
            description=f"{len(outcome.failed)} of {len(keys)} partition(s) failed; first: {first['problem']}",
            metadata={"failed_partitions": dg.MetadataValue.json(outcome.failed)},
        )
    if outcome.failed:
        context.log.warning(
            f"{len(outcome.failed)} of {len(keys)} partitions failed and were recorded: "
            + ", ".join(sorted(outcome.failed))
        )
    return outcome
