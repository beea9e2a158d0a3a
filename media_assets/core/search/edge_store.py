"""The embedded vector store: the Qdrant engine in-process (``qdrant-edge-py``), one shard per collection.

Layout under ``path``: ``<collection>/`` (the shard: segments + write-ahead log), ``<collection>.lock`` and,
while a replace is in flight, ``<collection>.pending.json``.

Why it is safe with several processes:

* A shard can be open in one process only (its WAL is ``flock``-ed; a second ``load`` fails at once), so
  every call takes the collection's file lock, loads the shard, works, flushes and closes it. Writers and
  readers queue on the lock instead of failing. ``hold_open=True`` keeps shards (and locks) until
  :meth:`close`, for one process that queries a lot (benchmarks, a search service); it blocks everyone else.
* Crash safety: a partition's upsert is one operation, i.e. one record of Qdrant's WAL, replayed on the next
  load if the process died after logging it and dropped if it died while writing it. The deletion of the
  partition's other points is a second operation, so a replace first writes a journal naming a token that
  every new point carries (payload ``_write``); the next process to open the collection finishes the
  deletion if all the token's points are there, or forgets the journal if none are. A killed writer thus
  leaves the previous state or the complete new one. A new collection is built in a hidden temp folder and
  renamed into place.
* Filters use payload indexes (``partition``/``kind``/``_write`` keyword, ``start``/``end`` float) created with
  the shard. Vectors are stored as float16 by default: half the bytes an exact scan reads (p50 ~13 ms
  instead of ~18 ms at 100k 384-d points on 2 cores), with the same top 10 on the benchmark. Search is an
  exact scan until :meth:`optimize` builds an HNSW index (~2 ms queries), automatically once
  ``auto_optimize_points`` vectors are not indexed. Building it is slow (minutes per 100k points), so the
  default threshold is high.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from media_assets.core.search.locking import DEFAULT_TIMEOUT_S, LockTimeout, file_lock
from media_assets.core.search.vector_store import (
    FLOAT_FIELDS,
    KEYWORD_FIELDS,
    VectorHit,
    VectorPoint,
    VectorStoreError,
    check_points,
    checked_query,
)

COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
WRITE_FIELD = "_write"  # payload: token of the replace_partition call that wrote the point
HNSW_M = 16
HNSW_EF_CONSTRUCT = 64
HNSW_FULL_SCAN_KB = 10_000  # Qdrant default: filtered searches below this many KB of vectors scan
HNSW_EF_SEARCH = 128
# Exact float16 scans take ~13 ms at 100k 384-d points (~2.5x that at this threshold); past it a write builds the
# HNSW index (slow: minutes per 100k points on 2 busy cores, see BENCHMARKS.md).
DEFAULT_AUTO_OPTIMIZE_POINTS = 250_000
DATATYPES = ("float16", "float32")  # storage of new collections; existing ones keep theirs
DEFAULT_DATATYPE = "float16"


def _edge() -> Any:
    import qdrant_edge

    return qdrant_edge


def engine_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qdrant-edge-py")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _check_collection(name: str) -> str:
    if not COLLECTION_NAME.match(name or ""):
        raise ValueError(f"invalid collection name {name!r}: use 1-64 letters, digits, '_' or '-'")
    return name


def build_filter(
    *,
    partitions: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    start: float | None = None,
    end: float | None = None,
) -> Any:
    """Payload filter: any of ``partitions``, any of ``kinds``, and [start, end] overlapping the point's time."""
    q = _edge()
    must: list[Any] = []
    if partitions is not None:
        must.append(q.FieldCondition("partition", match=q.MatchAny([str(p) for p in partitions])))
    if kinds is not None:
        must.append(q.FieldCondition("kind", match=q.MatchAny([str(k) for k in kinds])))
    if start is not None:  # the point ends at or after the window starts
        must.append(q.FieldCondition("end", range=q.RangeFloat(gte=float(start))))
    if end is not None:  # the point starts at or before the window ends
        must.append(q.FieldCondition("start", range=q.RangeFloat(lte=float(end))))
    return q.Filter(must=must) if must else None


class EdgeVectorStore:
    """Embedded Qdrant shards under ``path`` (see the module docstring)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        hold_open: bool = False,
        lock_timeout_s: float = DEFAULT_TIMEOUT_S,
        auto_optimize_points: int | None = DEFAULT_AUTO_OPTIMIZE_POINTS,
        datatype: str = DEFAULT_DATATYPE,
    ) -> None:
        if datatype not in DATATYPES:
            raise ValueError(f"vector datatype must be one of {', '.join(DATATYPES)}, not {datatype!r}")
        self.datatype = datatype
        self.path = Path(path).expanduser().resolve()
        self.endpoint = str(self.path)
        self.hold_open = hold_open
        self.lock_timeout_s = lock_timeout_s
        self.auto_optimize_points = auto_optimize_points
        self._held: dict[str, tuple[contextlib.ExitStack, Any]] = {}
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VectorStoreError(f"cannot create the vector store folder {self.endpoint}: {exc}") from exc

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _shard_dir(self, collection: str) -> Path:
        return self.path / _check_collection(collection)

    def _lock_path(self, collection: str) -> Path:
        return self.path / f"{_check_collection(collection)}.lock"

    def collection_dim(self, collection: str) -> int | None:
        """The collection's vector size, or None if it does not exist."""
        cfg = self._shard_dir(collection) / "edge_config.json"
        if not cfg.exists():
            return None
        return int(json.loads(cfg.read_text())["vectors"][""]["size"])

    def _load(self, shard_dir: Path) -> Any:
        """Load a shard, waiting if a process outside our lock protocol holds its WAL."""
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                return _edge().EdgeShard.load(str(shard_dir))
            except Exception as exc:
                if "WouldBlock" not in str(exc):
                    raise VectorStoreError(f"cannot open vector collection {shard_dir}: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise VectorStoreError(f"vector collection {shard_dir} is held by another process") from exc
                time.sleep(0.1)

    def _create(self, collection: str, dim: int) -> None:
        """Build a new shard in a hidden temp folder and rename it into place (caller holds the lock)."""
        q = _edge()
        tmp = self.path / f".tmp-{collection}-{uuid.uuid4().hex[:8]}"
        config = q.EdgeConfig(
            vectors=q.EdgeVectorParams(
                size=dim,
                distance=q.Distance.Cosine,
                datatype=getattr(q.VectorStorageDatatype, self.datatype.capitalize()),
            ),
            hnsw_config=q.HnswIndexConfig(
                m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=HNSW_FULL_SCAN_KB
            ),
        )
        try:
            shard = q.EdgeShard.create(str(tmp), config)
            try:
                for name in (*KEYWORD_FIELDS, WRITE_FIELD):
                    shard.update(q.UpdateOperation.create_field_index(name, q.PayloadSchemaType.Keyword))
                for name in FLOAT_FIELDS:
                    shard.update(q.UpdateOperation.create_field_index(name, q.PayloadSchemaType.Float))
                shard.flush()
            finally:
                shard.close()
            os.rename(tmp, self._shard_dir(collection))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @contextlib.contextmanager
    def holding(self) -> Iterator[EdgeVectorStore]:
        """Keep the shards this block touches loaded (and locked against other processes) until it ends.

        Writing many partitions in one block skips a shard load + flush per call (~0.5 s at 100k points).
        """
        before = self.hold_open
        self.hold_open = True
        try:
            yield self
        finally:
            self.hold_open = before
            if not before:
                self.close()

    @contextlib.contextmanager
    def _open(self, collection: str, *, dim: int | None = None) -> Iterator[Any | None]:
        """The collection's shard under its lock (created with ``dim`` if given and missing), else None."""
        if collection in self._held:
            yield self._held[collection][1]
            return
        stack = contextlib.ExitStack()
        try:
            try:
                stack.enter_context(file_lock(self._lock_path(collection), timeout_s=self.lock_timeout_s))
            except LockTimeout as exc:
                raise VectorStoreError(f"vector store {self.endpoint}: {exc}") from exc
            shard_dir = self._shard_dir(collection)
            if not (shard_dir / "edge_config.json").exists():
                if dim is None:
                    stack.close()
                    yield None
                    return
                self._create(collection, dim)
            shard = self._load(shard_dir)
            stack.callback(_flush_and_close, shard)
            self._recover(collection, shard)
        except BaseException:
            stack.close()
            raise
        if self.hold_open:
            self._held[collection] = (stack, shard)
            yield shard
            return
        with stack:
            yield shard

    # -- the VectorStore protocol -----------------------------------------------------------------------------
    def replace_partition(self, collection: str, dim: int, partition: str, points: Sequence[VectorPoint]) -> None:
        vectors = check_points(dim, partition, points)
        existing = self.collection_dim(collection)
        if existing is not None and existing != dim:
            raise VectorStoreError(f"collection {collection} in {self.endpoint} holds {existing}-d vectors, not {dim}")
        q = _edge()
        token = uuid.uuid4().hex
        payloads = [_clean_payload(p.payload) for p in points]
        # Fields equal on every point (partition, source, model...) are set once by filter: converting payloads
        # point by point is the slowest part of a write.
        common = _common_fields(payloads)
        rows = vectors.tolist()  # lists convert faster than numpy rows
        built = [
            q.Point(
                str(p.id), rows[i], {k: v for k, v in payloads[i].items() if k not in common} | {WRITE_FIELD: token}
            )
            for i, p in enumerate(points)
        ]
        with self._open(collection, dim=dim) as shard:
            journal = self._journal_path(collection)
            _write_json(journal, {"partition": partition, "token": token, "points": len(built), "common": common})
            try:
                if built:  # one operation = one WAL record: applied completely or not at all
                    shard.update(q.UpdateOperation.upsert_points(built))
                _finish(shard, partition, token, common)
            except Exception:
                self._recover(collection, shard)  # settle on the old or the new state before raising
                raise
            journal.unlink()  # both operations are in the WAL now; segments are flushed when the shard closes
            if self.auto_optimize_points is not None:
                info = shard.info()
                if info.points_count - info.indexed_vectors_count > self.auto_optimize_points:
                    shard.optimize()

    def _journal_path(self, collection: str) -> Path:
        return self.path / f"{_check_collection(collection)}.pending.json"

    def _recover(self, collection: str, shard: Any) -> None:
        """Finish or forget a replace that a killed process left half done (caller holds the lock).

        The journal names the write's token. If every point of that write is in the shard, the upsert was
        logged and only the deletion of the partition's other points may be missing: do it. Otherwise the
        upsert never reached the WAL and the shard still holds the previous state: keep it.
        """
        journal = self._journal_path(collection)
        if not journal.exists():
            return
        try:
            pending = json.loads(journal.read_text())
        except (OSError, ValueError):  # torn journal: written before any shard update, so nothing happened
            journal.unlink(missing_ok=True)
            return
        q = _edge()
        written = shard.count(q.CountRequest(exact=True, filter=q.Filter(must=[_match(WRITE_FIELD, pending["token"])])))
        if written == pending["points"]:
            _finish(shard, pending["partition"], pending["token"], pending.get("common") or {})
            shard.flush()
        journal.unlink(missing_ok=True)

    def search(
        self,
        collection: str,
        vector: Sequence[float] | np.ndarray,
        top_k: int = 10,
        *,
        partitions: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[VectorHit]:
        query = checked_query(vector, top_k, collection, self.collection_dim)
        if query is None:
            return []
        q = _edge()
        request = q.QueryRequest(
            limit=int(top_k),
            query=q.Query.Nearest(query),
            with_payload=True,
            filter=build_filter(partitions=partitions, kinds=kinds, start=start, end=end),
            params=q.SearchParams(hnsw_ef=max(HNSW_EF_SEARCH, int(top_k))),
        )
        with self._open(collection) as shard:
            if shard is None:
                return []
            found = shard.query(request)
        return [VectorHit(id=str(r.id), score=float(r.score), payload=_public(r.payload)) for r in found]

    def count(self, collection: str, *, partition: str | None = None) -> int:
        q = _edge()
        flt = build_filter(partitions=[partition]) if partition is not None else None
        with self._open(collection) as shard:
            if shard is None:
                return 0
            return int(shard.count(q.CountRequest(exact=True, filter=flt)))

    def close(self) -> None:
        held, self._held = self._held, {}
        for stack, _ in held.values():
            stack.close()

    # -- extras -----------------------------------------------------------------------------------------------
    def optimize(self, collection: str) -> bool:
        """Build the HNSW index over what is not indexed yet (slow: about a minute per 100k 384-d vectors)."""
        with self._open(collection) as shard:
            if shard is None:
                return False
            return bool(shard.optimize())

    def upsert(self, collection: str, dim: int, points: Sequence[VectorPoint], *, batch: int = 10_000) -> None:
        """Bulk upsert across partitions without deleting anything (re-imports); not atomic across batches."""
        q = _edge()
        with self._open(collection, dim=dim) as shard:
            for lo in range(0, len(points), batch):
                chunk = points[lo : lo + batch]
                shard.update(
                    q.UpdateOperation.upsert_points(
                        [q.Point(str(p.id), np.asarray(p.vector, np.float32), _clean_payload(p.payload)) for p in chunk]
                    )
                )
            shard.flush()

    def collections(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir() if p.is_dir() and (p / "edge_config.json").exists())

    def __enter__(self) -> EdgeVectorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _flush_and_close(shard: Any) -> None:
    """Persist the segments (so the next load has no WAL to replay) and release the shard's WAL lock."""
    try:
        shard.flush()
    finally:
        shard.close()


def _public(payload: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (payload or {}).items() if k != WRITE_FIELD}


def _match(key: str, value: str) -> Any:
    q = _edge()
    return q.FieldCondition(key, match=q.MatchValue(value))


def _finish(shard: Any, partition: str, token: str, common: dict[str, Any]) -> None:
    """After the upsert of write ``token``: set its common payload fields, then delete the partition's points
    that this write did not write. Both are idempotent, so recovery may run them again."""
    q = _edge()
    if common:
        mine = q.Filter(must=[_match(WRITE_FIELD, token)])
        shard.update(q.UpdateOperation.set_payload_by_filter(mine, common))
    stale = q.Filter(must=[_match("partition", partition)], must_not=[_match(WRITE_FIELD, token)])
    shard.update(q.UpdateOperation.delete_points_by_filter(stale))


def _common_fields(payloads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The payload fields with the same value on every point (always including ``partition``)."""
    if not payloads:
        return {}
    first = payloads[0]
    common = {k: v for k, v in first.items() if isinstance(v, (str, int, float, bool)) or v is None}
    for payload in payloads[1:]:
        for key in [k for k, v in common.items() if payload.get(k, _MISSING) != v]:
            del common[key]
        if len(common) <= 1:
            break
    return common


_MISSING = object()


def _write_json(path: Path, obj: Any) -> None:
    """Atomically (temp name, fsync, rename): a reader sees the whole journal or none."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with open(tmp, "w") as fh:
        json.dump(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _clean_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe payload: numpy scalars become Python numbers, times become floats."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, np.generic):
            value = value.item()
        if key in FLOAT_FIELDS and value is not None:
            value = float(value)
        out[key] = value
    return out
