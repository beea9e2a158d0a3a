"""S3 drop sensor: objects dropped under ``s3://<bucket>/<prefix>`` become ``videos`` partitions and runs.

Each tick lists the prefix, fingerprints new objects with range GETs (at most ``max_per_tick``, oldest first;
the rest wait for the next tick), registers each source (``<key>/source.json``, ``uri = s3://bucket/key``) in the
media store and returns run requests (``run_key`` = partition key) plus one ``AddDynamicPartitionsRequest``.

Listing: ``dagster_aws.s3.sensor.get_objects`` with no ``since_*`` filter. It paginates with boto3's
``list_objects_v2`` paginator (so more than 1,000 keys are fine) and returns whole object summaries (Size,
ETag, LastModified). Its own filters are not used: ``since_last_modified`` is exclusive, so objects that share
the boundary timestamp (S3 has 1 s resolution) but were listed after the previous tick would be missed, and
``since_key`` raises when that key has been deleted and misses objects that were overwritten. S3 cannot filter
by time server-side anyway, so every tick lists the prefix and filters locally.

Cursor (Dagster's sensor cursor, so it survives restarts), compact JSON::

    {"v": 1, "w": <watermark: LastModified of the newest handled object, epoch ms>,
     "seen": {"<LastModified epoch ms>": ["<16-hex hash of key + ETag>", ...], ...}}

An object is new when ``LastModified > w``, or ``LastModified >= w - lookback`` and its hash is not in
``seen``; ``seen`` only keeps handled objects with ``LastModified >= w - lookback``. With the default
``lookback_seconds=0`` that is exactly the set of keys at the boundary timestamp, so objects sharing it are
neither missed nor repeated. A positive ``lookback_seconds`` also catches objects that appear late with an
older LastModified (S3 stamps a multipart upload with its *start* time) at the cost of a bigger cursor.

Skipped without fingerprinting: keys ending in ``/`` and empty objects ("folder" placeholders), hidden or
temporary names, names not matching the include globs. Keys are never used as local paths (partition keys
are content fingerprints), so hostile keys (``../``, unicode, spaces, 1,000-byte keys) are harmless. An object
that vanished, is forbidden or was overwritten while being read is logged and skipped; any other error stops
the tick at that object, which is retried on the next tick.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg

from media_assets import sources
from media_assets.sources import DEFAULT_INCLUDE_GLOBS, is_candidate_name
from sensors.inbox import Registrar, resolve_store, run_parallel

CURSOR_VERSION = 1
# S3 error codes after which an object is skipped for good (it is gone, forbidden, or was replaced: a
# replacement has a newer LastModified and is picked up as a new object).
SKIP_CODES = frozenset(
    {"NoSuchKey", "404", "NotFound", "AccessDenied", "403", "PreconditionFailed", "412", "InvalidObjectState"}
)


def object_hash(key: str, etag: str | None) -> str:
    data = key.encode("utf-8", "surrogatepass") + b"\0" + (etag or "").strip('"').encode("utf-8")
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _epoch_ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


@dataclass
class S3Cursor:
    watermark: int | None = None  # epoch ms
    seen: dict[str, int] = field(default_factory=dict)  # object hash -> LastModified epoch ms

    @classmethod
    def parse(cls, raw: str | None, log: Any = None) -> S3Cursor:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            if data.get("v") != CURSOR_VERSION:
                raise ValueError(f"unknown cursor version {data.get('v')!r}")
            w = data.get("w")
            seen = {str(h): int(lm) for lm, hashes in data.get("seen", {}).items() for h in hashes}
            return cls(watermark=int(w) if w is not None else None, seen=seen)
        except (ValueError, AttributeError, TypeError) as exc:
            if log is not None:
                log.warning(f"ignoring unreadable cursor ({exc}); starting over (known partitions are skipped)")
            return cls()

    def dumps(self) -> str:
        grouped: dict[str, list[str]] = {}
        for h, lm in sorted(self.seen.items()):
            grouped.setdefault(str(lm), []).append(h)
        return json.dumps(
            {"v": CURSOR_VERSION, "w": self.watermark, "seen": grouped}, separators=(",", ":"), sort_keys=True
        )


@dataclass
class _Candidate:
    key: str
    size: int
    etag: str | None
    last_modified: datetime
    lm_ms: int
    hash: str


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _s3_client(resource: Any) -> Any:
    """An S3 client from a ``dagster_aws.s3.S3Resource`` (or anything with ``get_client``), or a client."""
    get_client = getattr(resource, "get_client", None)
    return get_client() if callable(get_client) else resource


def build_s3_sensor(
    target: Any,
    *,
    bucket: str,
    prefix: str = "",
    name: str = "s3_drop_sensor",
    max_per_tick: int = 100,
    s3_resource_key: str = "s3",
    store: Any = None,
    store_resource_key: str | None = None,
    include: Sequence[str] = DEFAULT_INCLUDE_GLOBS,
    lookback_seconds: float = 0.0,
    workers: int = 8,
    run_batch_size: int = 1,
    minimum_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    description: str | None = None,
) -> dg.SensorDefinition:
    """A sensor that turns objects dropped under ``s3://bucket/prefix`` into ``videos`` partitions and runs.

    Args:
        target: what to run for each new partition (asset selection, assets, or a job).
        bucket, prefix: where to look.
        max_per_tick: at most this many objects are fingerprinted per tick (oldest first).
        s3_resource_key: the resource giving the S3 client (a ``dagster_aws.s3.S3Resource``, e.g. with
            ``endpoint_url`` for MinIO/SeaweedFS).
        store / store_resource_key: where sources are registered (see ``build_inbox_sensor``).
        include: globs matched (case-insensitively) against the last segment of the key.
        lookback_seconds: also consider objects this much older than the watermark (see module docs).
        workers: threads used to fingerprint objects (range GETs).
        run_batch_size: new partitions per requested run (1: one run per object; more: partition ranges).
    """
    if max_per_tick < 1:
        raise ValueError("max_per_tick must be at least 1")
    include = tuple(include)
    lookback_ms = int(lookback_seconds * 1000)
    resource_keys = {s3_resource_key} | ({store_resource_key} if store_resource_key else set())

    @dg.sensor(
        name=name,
        target=target,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=description or f"Registers media objects dropped in s3://{bucket}/{prefix} as partitions.",
        required_resource_keys=resource_keys,
    )
    def _s3_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        from dagster_aws.s3.sensor import get_objects  # dagster_aws costs ~0.6 s to import: only when ticking

        client = _s3_client(getattr(context.resources, s3_resource_key))
        state = S3Cursor.parse(context.cursor, context.log)
        w = state.watermark

        candidates: list[_Candidate] = []
        for obj in get_objects(bucket=bucket, prefix=prefix, client=client):
            key = obj.get("Key", "")
            size = int(obj.get("Size", 0))
            if not key or key.endswith("/") or size == 0 or not is_candidate_name(key, include):
                continue
            last_modified = obj["LastModified"]
            lm = _epoch_ms(last_modified)
            etag = obj.get("ETag")
            h = object_hash(key, etag)
            if w is None or lm > w or (lm >= w - lookback_ms and h not in state.seen):
                candidates.append(_Candidate(key, size, etag, last_modified, lm, h))

        candidates.sort(key=lambda c: (c.lm_ms, c.key))
        batch = candidates[:max_per_tick]
        described = run_parallel(
            lambda c: sources.describe_s3(client, bucket, c.key, c.size, c.etag, c.last_modified),
            batch,
            workers,
        )

        records: list[sources.SourceRecord] = []
        handled: list[_Candidate] = []
        stopped = None
        for cand, outcome in zip(batch, described, strict=True):
            uri = f"s3://{bucket}/{cand.key}"
            if isinstance(outcome, Exception):
                code = _error_code(outcome)
                if code in SKIP_CODES:
                    context.log.warning(f"{uri!r}: cannot read ({code}); skipped")
                    handled.append(cand)
                    continue
                context.log.warning(f"{uri!r}: {type(outcome).__name__}: {outcome}; retrying next tick")
                stopped = cand
                break
            records.append(outcome)
            handled.append(cand)
        registrar = Registrar(context, resolve_store(context, store, store_resource_key), run_batch_size, source="s3")
        registrar.add_all(records, workers)

        new_w = max([c.lm_ms for c in handled] + ([w] if w is not None else []), default=None)
        new_seen = dict(state.seen)
        new_seen.update({c.hash: c.lm_ms for c in handled})
        if new_w is not None:
            new_seen = {h: lm for h, lm in new_seen.items() if lm >= new_w - lookback_ms}
        cursor = S3Cursor(new_w, new_seen).dumps()

        waiting = len(candidates) - len(handled)
        summary = (
            f"{len(handled)} object(s) handled, {len(registrar.new_keys)} new partition(s), "
            f"{waiting} left for the next tick" + (f" (stopped at {stopped.key!r})" if stopped else "")
        )
        context.log.info(summary)
        return registrar.result(cursor, f"no new media in s3://{bucket}/{prefix}: {summary}")

    return _s3_sensor
