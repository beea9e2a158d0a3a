"""The vector store on a Qdrant server, through qdrant-client.

The server serialises concurrent writers itself. The same class also wraps any ready ``QdrantClient`` (its
local mode, ``QdrantClient(path=...)`` or ``":memory:"``), which the tests and the benchmark use; local mode
is not the default embedded store (see :mod:`media_assets.core.search.vector_store`).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from media_assets.core.search.vector_store import (
    FLOAT_FIELDS,
    KEYWORD_FIELDS,
    VectorHit,
    VectorPoint,
    VectorStoreError,
    VectorStoreUnavailable,
    check_points,
    checked_query,
)

UPSERT_BATCH = 512
DEFAULT_TIMEOUT_S = 10


def _models() -> Any:
    from qdrant_client import models

    return models


def build_filter(
    *,
    partitions: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    start: float | None = None,
    end: float | None = None,
) -> Any:
    """Same semantics as the embedded store's filter (time: the point overlaps [start, end])."""
    m = _models()
    must: list[Any] = []
    if partitions is not None:
        must.append(m.FieldCondition(key="partition", match=m.MatchAny(any=[str(p) for p in partitions])))
    if kinds is not None:
        must.append(m.FieldCondition(key="kind", match=m.MatchAny(any=[str(k) for k in kinds])))
    if start is not None:
        must.append(m.FieldCondition(key="end", range=m.Range(gte=float(start))))
    if end is not None:
        must.append(m.FieldCondition(key="start", range=m.Range(lte=float(end))))
    return m.Filter(must=must) if must else None


class QdrantServerStore:
    """A Qdrant server at ``url`` (or an existing ``client``); every collection uses cosine distance."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        client: Any = None,
        endpoint: str | None = None,
        timeout_s: int = DEFAULT_TIMEOUT_S,
    ) -> None:
        if client is None:
            if not url:
                raise ValueError("QdrantServerStore needs a url or a client")
            from qdrant_client import QdrantClient

            client = QdrantClient(url=url, api_key=api_key, timeout=timeout_s, check_compatibility=False)
        self.client = client
        self.endpoint = endpoint or url or "qdrant-client"
        self._known: dict[str, int] = {}
        try:
            self.client.get_collections()
        except Exception as exc:
            self.client.close()
            raise VectorStoreUnavailable(f"cannot reach the Qdrant server at {self.endpoint}: {exc}") from exc

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (VectorStoreError, ValueError):
            raise
        except Exception as exc:
            if _is_connection_error(exc):
                raise VectorStoreUnavailable(f"Qdrant server at {self.endpoint} failed to {what}: {exc}") from exc
            raise VectorStoreError(f"Qdrant at {self.endpoint} failed to {what}: {exc}") from exc

    def collection_dim(self, collection: str) -> int | None:
        if collection in self._known:
            return self._known[collection]
        if not self._call("look up a collection", self.client.collection_exists, collection):
            return None
        info = self._call("read a collection", self.client.get_collection, collection)
        vectors = info.config.params.vectors
        size = vectors.size if hasattr(vectors, "size") else next(iter(vectors.values())).size
        self._known[collection] = int(size)
        return int(size)

    def _ensure(self, collection: str, dim: int) -> None:
        existing = self.collection_dim(collection)
        if existing is not None:
            if existing != dim:
                raise VectorStoreError(
                    f"collection {collection} at {self.endpoint} holds {existing}-d vectors, not {dim}"
                )
            return
        m = _models()
        try:
            self.client.create_collection(
                collection, vectors_config=m.VectorParams(size=dim, distance=m.Distance.COSINE)
            )
        except Exception as exc:  # another writer may have created it first
            if not self._call("look up a collection", self.client.collection_exists, collection):
                raise VectorStoreError(f"cannot create collection {collection} at {self.endpoint}: {exc}") from exc
        fields = [(n, m.PayloadSchemaType.KEYWORD) for n in KEYWORD_FIELDS]
        fields += [(n, m.PayloadSchemaType.FLOAT) for n in FLOAT_FIELDS]
        with warnings.catch_warnings():  # local mode warns that payload indexes do nothing there
            warnings.simplefilter("ignore", UserWarning)
            for name, schema in fields:
                self._call("index a field", self.client.create_payload_index, collection, name, schema)
        self._known.pop(collection, None)
        self.collection_dim(collection)

    def replace_partition(self, collection: str, dim: int, partition: str, points: Sequence[VectorPoint]) -> None:
        vectors = check_points(dim, partition, points)
        self._ensure(collection, dim)
        m = _models()
        for lo in range(0, len(points), UPSERT_BATCH):
            chunk = points[lo : lo + UPSERT_BATCH]
            structs = [
                m.PointStruct(id=str(p.id), vector=vectors[lo + i].tolist(), payload=_clean(p.payload))
                for i, p in enumerate(chunk)
            ]
            self._call("upsert points", self.client.upsert, collection, structs, wait=True)
        keep = [str(p.id) for p in points]
        stale = m.Filter(
            must=[m.FieldCondition(key="partition", match=m.MatchValue(value=partition))],
            must_not=[m.HasIdCondition(has_id=keep)] if keep else None,
        )
        self._call("delete stale points", self.client.delete, collection, m.FilterSelector(filter=stale), wait=True)

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
        flt = build_filter(partitions=partitions, kinds=kinds, start=start, end=end)
        res = self._call(
            "search",
            self.client.query_points,
            collection,
            query=query,
            query_filter=flt,
            limit=int(top_k),
            with_payload=True,
        )
        return [VectorHit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res.points]

    def count(self, collection: str, *, partition: str | None = None) -> int:
        if self.collection_dim(collection) is None:
            return 0
        flt = build_filter(partitions=[partition]) if partition is not None else None
        return int(self._call("count", self.client.count, collection, count_filter=flt, exact=True).count)

    def holding(self) -> contextlib.nullcontext[QdrantServerStore]:
        """Nothing to hold: the server keeps its collections loaded."""
        return contextlib.nullcontext(self)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> QdrantServerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clean(payload: dict[str, Any]) -> dict[str, Any]:
    out = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in payload.items()}
    for key in FLOAT_FIELDS:
        if out.get(key) is not None:
            out[key] = float(out[key])
    return out


def _is_connection_error(exc: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(exc)}
    return bool(names & {"ConnectError", "ConnectionError", "ConnectTimeout", "ResponseHandlingException", "RpcError"})


def _chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and len(out) < 10:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out
