"""The vector store interface shared by the embedded engine and a Qdrant server.

Two implementations behind one protocol:

* :class:`~media_assets.core.search.edge_store.EdgeVectorStore` (default): the Qdrant engine in-process
  (``qdrant-edge-py``), one shard directory per collection, every access serialised across processes with a
  file lock. Chosen over qdrant-client's local mode by measurement (``benchmarks/bench_vector_store.py``, 2
  shared cores): edge upserts 0.09 ms/point (100k points) against 2.0 ms/point for local mode (10k points),
  and scans 100k points in a ~20 ms p50 (4-5 ms filtered by partition or time) where local mode needs 25 ms for
  10k points (180-280 ms filtered). Local mode also keeps every point in Python memory and admits one process
  at a time.
* :class:`~media_assets.core.search.qdrant_server_store.QdrantServerStore`: a Qdrant server through
  qdrant-client (``url=``), for production and for several machines.

Point ids are deterministic (:func:`point_id`), so re-running a partition updates its points and never
duplicates them; :meth:`VectorStore.replace_partition` also drops the partition's points that are gone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

# Fixed forever: changing it changes every point id (and duplicates every point on the next run).
NAMESPACE = uuid.UUID("6f1c2d3e-8b4a-5c7d-9e0f-a1b2c3d4e5f6")

PAYLOAD_FIELDS = ("partition", "source", "kind", "item", "start", "end", "text", "model", "revision")
KEYWORD_FIELDS = ("partition", "kind")
FLOAT_FIELDS = ("start", "end")


class VectorStoreError(RuntimeError):
    """The vector store cannot do what was asked (bad dimension, busy or broken storage)."""


class VectorStoreUnavailable(VectorStoreError):
    """The vector store cannot be reached; the message names the endpoint."""


def point_id(partition: str, kind: str, item: str | int) -> str:
    """UUIDv5 of ``"{partition}/{kind}/{item}"``: the same item always gets the same id."""
    return str(uuid.uuid5(NAMESPACE, f"{partition}/{kind}/{item}"))


@dataclass
class VectorPoint:
    id: str
    vector: Sequence[float] | np.ndarray
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class VectorHit:
    id: str
    score: float
    payload: dict[str, Any]


@runtime_checkable
class VectorStore(Protocol):
    endpoint: str  # path or URL, for error messages

    def replace_partition(self, collection: str, dim: int, partition: str, points: Sequence[VectorPoint]) -> None:
        """Upsert ``points`` (creating the collection if missing), then delete this partition's other points."""
        ...

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
    ) -> list[VectorHit]: ...

    def count(self, collection: str, *, partition: str | None = None) -> int: ...

    def holding(self) -> AbstractContextManager[Any]:
        """Keep the store ready for many writes in a row (the embedded engine loads and locks once)."""
        ...

    def close(self) -> None: ...


def check_points(dim: int, partition: str, points: Sequence[VectorPoint]) -> np.ndarray:
    """Validate a partition's points; returns their vectors as one (n, dim) float32 array.

    Every payload must name ``partition`` (that is what :meth:`replace_partition` deletes by) and every vector
    must be finite and ``dim`` long: a bad point fails the write before anything is written.
    """
    if dim <= 0:
        raise ValueError(f"vector dimension must be positive, got {dim}")
    if not points:
        return np.zeros((0, dim), dtype=np.float32)
    seen: set[str] = set()
    for p in points:
        if p.payload.get("partition") != partition:
            raise ValueError(f"point {p.id}: payload partition {p.payload.get('partition')!r} != {partition!r}")
        if p.id in seen:
            raise ValueError(f"point {p.id} appears twice in one write")
        seen.add(p.id)
        uuid.UUID(str(p.id))  # ids are UUIDs (see point_id); raises ValueError otherwise
    try:
        vectors = np.asarray([np.asarray(p.vector, dtype=np.float32).reshape(-1) for p in points])
    except ValueError as exc:  # ragged
        raise ValueError(f"vectors of partition {partition} do not all have {dim} dimensions") from exc
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise ValueError(f"vectors of partition {partition} have shape {vectors.shape}, expected (n, {dim})")
    if not np.isfinite(vectors).all():
        raise ValueError(f"vectors of partition {partition} contain NaN or infinity")
    return vectors


def query_vector(vector: Sequence[float] | np.ndarray) -> list[float] | None:
    """A flat list of floats, or None for an empty or non-finite query (which then matches nothing)."""
    arr = np.asarray(vector, dtype=np.float32).reshape(-1)
    if arr.size == 0 or not np.isfinite(arr).all() or not arr.any():
        return None
    return arr.tolist()


def checked_query(
    vector: Sequence[float] | np.ndarray, top_k: int, collection: str, dim_of: Callable[[str], int | None]
) -> list[float] | None:
    """The query as floats, or None when it can match nothing (empty query, ``top_k <= 0``, no collection).

    A query of the wrong size for the collection is the caller's mistake and raises.
    """
    query = query_vector(vector)
    if query is None or top_k <= 0:
        return None
    dim = dim_of(collection)
    if dim is None:
        return None
    if len(query) != dim:
        raise VectorStoreError(f"query has {len(query)} dimensions, collection {collection} holds {dim}")
    return query


def open_vector_store(
    url: str | None = None, path: str | Path | None = None, api_key: str | None = None, **options: Any
) -> VectorStore:
    """A Qdrant server store when ``url`` is given, else the embedded store at ``path``.

    A server that cannot be reached raises :class:`VectorStoreUnavailable` naming the URL.
    """
    if url:
        from media_assets.core.search.qdrant_server_store import QdrantServerStore

        return QdrantServerStore(url=url, api_key=api_key, **options)
    if path is None:
        raise ValueError("open_vector_store needs a url (Qdrant server) or a path (embedded store)")
    from media_assets.core.search.edge_store import EdgeVectorStore

    return EdgeVectorStore(path, **options)
