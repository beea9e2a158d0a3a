"""The vector store and full-text resources: configuration, defaults, an unreachable server, use in an asset.

(No ``from __future__ import annotations``: Dagster reads the asset's context annotation at definition time.)
"""

import socket
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from media_assets.core.search.edge_store import EdgeVectorStore
from media_assets.core.search.fulltext import FulltextIndex, TextDoc
from media_assets.core.search.index_paths import ENV_INDEX_DIR
from media_assets.core.search.vector_store import VectorPoint, VectorStoreUnavailable, point_id
from resources.fulltext import FulltextResource
from resources.media_store import ENV_STORE_ROOT
from resources.vector_store import VectorStoreResource


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_default_paths_follow_the_data_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_INDEX_DIR, raising=False)
    monkeypatch.setenv(ENV_STORE_ROOT, str(tmp_path / "data"))
    assert VectorStoreResource().resolved_path() == tmp_path / "data" / "_index" / "vectors"
    assert FulltextResource().resolved_path() == tmp_path / "data" / "_index" / "fulltext"
    monkeypatch.setenv(ENV_STORE_ROOT, "s3://bucket/x")
    assert VectorStoreResource().resolved_path() == Path("media_index/vectors")
    monkeypatch.setenv(ENV_INDEX_DIR, str(tmp_path / "idx"))
    assert VectorStoreResource().resolved_path() == tmp_path / "idx" / "vectors"
    assert VectorStoreResource(path=str(tmp_path / "v")).resolved_path() == tmp_path / "v"


def test_open_embedded_store_and_collection_names(tmp_path: Path) -> None:
    res = VectorStoreResource(path=str(tmp_path / "v"), collection_prefix="demo")
    store = res.open()
    assert isinstance(store, EdgeVectorStore) and res.open() is store
    assert res.collection("text") == "demo_text" and res.endpoint == str(tmp_path / "v")
    res.close()
    assert isinstance(FulltextResource(path=str(tmp_path / "ft")).open(), FulltextIndex)


def test_unreachable_server_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MEDIA_ASSETS_QDRANT_URL", url)
    res = VectorStoreResource.from_env()
    assert res.url == url and res.endpoint == url
    with pytest.raises(VectorStoreUnavailable, match=url.replace(".", r"\.")):
        res.open()


def test_resources_in_a_partitioned_asset(tmp_path: Path) -> None:
    """A thin asset writing both indexes for each partition of a run; the resources close at teardown."""
    parts = dg.StaticPartitionsDefinition(["k1", "k2"])

    @dg.asset(partitions_def=parts)
    def indexed(
        context: dg.AssetExecutionContext, vector_store: VectorStoreResource, fulltext: FulltextResource
    ) -> None:
        store, index = vector_store.open(), fulltext.open()
        for key in context.partition_keys:
            vec = np.ones(4, dtype=np.float32) if key == "k1" else np.array([1, 0, 0, 0], dtype=np.float32)
            payload = {"partition": key, "kind": "segment", "item": "0", "start": 0.0, "end": 1.0, "text": "hi"}
            point = VectorPoint(point_id(key, "segment", "0"), vec, payload)
            store.replace_partition(vector_store.collection("text"), 4, key, [point])
            index.replace_partition(key, [TextDoc(key, "segment", "0", 0.0, 1.0, f"hello {key}")])

    resources = {
        "vector_store": VectorStoreResource(path=str(tmp_path / "v")),
        "fulltext": FulltextResource(path=str(tmp_path / "ft")),
    }
    for key in ("k1", "k2", "k1"):  # a re-run of k1 replaces its entries
        assert dg.materialize([indexed], resources=resources, partition_key=key).success
    store = EdgeVectorStore(tmp_path / "v")  # free to open: the run released the store
    assert store.count("media_text") == 2 and store.count("media_text", partition="k1") == 1
    assert FulltextIndex(tmp_path / "ft").count() == 2
