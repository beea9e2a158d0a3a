"""The vector store contract, run against the embedded store and qdrant-client (in-memory local mode, the same
client code path as a server), plus the embedded store's multi-process and crash behaviour."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from media_assets.core.search.edge_store import EdgeVectorStore
from media_assets.core.search.qdrant_server_store import QdrantServerStore
from media_assets.core.search.vector_store import (
    NAMESPACE,
    VectorPoint,
    VectorStore,
    VectorStoreError,
    VectorStoreUnavailable,
    open_vector_store,
    point_id,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
DIM = 16
COLL = "media_text"


def make_points(partition: str, n: int, *, seed: int = 0, offset: int = 0, dim: int = DIM) -> list[VectorPoint]:
    rng = np.random.default_rng([zlib.crc32(partition.encode()), seed])
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    points = []
    for i in range(n):
        item = str(i + offset)
        kind = "segment" if i % 2 == 0 else "scene"
        start = float(i) * 2.0
        payload = {
            "partition": partition,
            "source": f"/media/{partition}.mp4",
            "kind": kind,
            "item": item,
            "start": start,
            "end": start + 1.5,
            "text": f"{partition} {kind} {item}",
            "model": "fake",
            "revision": "r1",
        }
        points.append(VectorPoint(point_id(partition, kind, item), vecs[i], payload))
    return points


@pytest.fixture(params=["edge", "qdrant-client"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "edge":
        s: VectorStore = EdgeVectorStore(tmp_path / "vectors")
    else:
        from qdrant_client import QdrantClient

        s = QdrantServerStore(client=QdrantClient(":memory:"), endpoint=":memory:")
    yield s
    s.close()


def test_point_id_is_uuid5_of_partition_kind_item() -> None:
    pid = point_id("abc", "segment", "3")
    assert pid == str(uuid.uuid5(NAMESPACE, "abc/segment/3"))
    assert uuid.UUID(pid).version == 5
    assert point_id("abc", "segment", 3) == pid
    assert (
        len({pid, point_id("abc", "scene", "3"), point_id("abc", "segment", "4"), point_id("abd", "segment", "3")}) == 4
    )


def test_replace_partition_is_idempotent_and_drops_stale_points(store: VectorStore) -> None:
    a, b = make_points("aaaa", 6), make_points("bbbb", 4)
    store.replace_partition(COLL, DIM, "aaaa", a)
    store.replace_partition(COLL, DIM, "bbbb", b)
    assert store.count(COLL) == 10
    store.replace_partition(COLL, DIM, "aaaa", a)  # same points again: updated, not duplicated
    assert store.count(COLL) == 10
    assert store.count(COLL, partition="aaaa") == 6
    fewer = make_points("aaaa", 3, seed=1, offset=2)  # items 2..4: items 0, 1 and 5 are gone
    store.replace_partition(COLL, DIM, "aaaa", fewer)
    assert store.count(COLL, partition="aaaa") == 3
    assert store.count(COLL, partition="bbbb") == 4
    items = {h.payload["item"] for h in store.search(COLL, fewer[0].vector, 50, partitions=["aaaa"])}
    assert items == {"2", "3", "4"}
    store.replace_partition(COLL, DIM, "aaaa", [])
    assert store.count(COLL, partition="aaaa") == 0
    assert store.count(COLL) == 4


def test_search_ranks_like_exact_cosine_and_filters(store: VectorStore) -> None:
    points = make_points("aaaa", 30) + make_points("bbbb", 30) + make_points("cccc", 30)
    for part in ("aaaa", "bbbb", "cccc"):
        store.replace_partition(COLL, DIM, part, [p for p in points if p.payload["partition"] == part])
    vecs = np.array([p.vector for p in points], dtype=np.float32)
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    query = np.random.default_rng(7).normal(size=DIM).astype(np.float32)
    qn = query / np.linalg.norm(query)

    def expected(mask: np.ndarray, k: int) -> list[str]:
        scores = np.where(mask, unit @ qn, -np.inf)
        order = [i for i in np.argsort(-scores) if mask[i]][:k]
        return [points[i].id for i in order]

    hits = store.search(COLL, query, 5)
    assert [h.id for h in hits] == expected(np.ones(len(points), bool), 5)
    assert hits[0].score == pytest.approx(float(unit[[p.id for p in points].index(hits[0].id)] @ qn), abs=1e-4)
    assert all(h.score >= n.score for h, n in itertools.pairwise(hits))

    part = np.array([p.payload["partition"] in ("aaaa", "cccc") for p in points])
    kind = np.array([p.payload["kind"] == "scene" for p in points])
    assert [h.id for h in store.search(COLL, query, 8, partitions=["aaaa", "cccc"])] == expected(part, 8)
    assert [h.id for h in store.search(COLL, query, 8, kinds=["scene"])] == expected(kind, 8)
    lo, hi = 10.2, 20.0  # overlap: the point ends at/after lo and starts at/before hi
    overlap = np.array([p.payload["end"] >= lo and p.payload["start"] <= hi for p in points])
    got = store.search(COLL, query, 100, start=lo, end=hi)
    assert sorted(h.id for h in got) == sorted(expected(overlap, 100))
    both = part & kind & overlap
    got = store.search(COLL, query, 100, partitions=["aaaa", "cccc"], kinds=["scene"], start=lo, end=hi)
    assert [h.id for h in got] == expected(both, 100)
    payload = got[0].payload
    assert set(payload) == {"partition", "source", "kind", "item", "start", "end", "text", "model", "revision"}


def test_empty_and_missing_inputs_return_nothing(store: VectorStore) -> None:
    assert store.search("nope", np.ones(DIM), 5) == []
    assert store.count("nope") == 0
    store.replace_partition(COLL, DIM, "aaaa", make_points("aaaa", 3))
    assert store.search(COLL, np.zeros(DIM), 5) == []
    assert store.search(COLL, [], 5) == []
    assert store.search(COLL, np.full(DIM, np.nan), 5) == []
    assert store.search(COLL, np.ones(DIM), 0) == []
    assert store.search(COLL, np.ones(DIM), 5, partitions=["zzzz"]) == []


def test_bad_points_and_dimensions_are_rejected_before_writing(store: VectorStore) -> None:
    store.replace_partition(COLL, DIM, "aaaa", make_points("aaaa", 3))
    with pytest.raises(ValueError, match="partition"):
        store.replace_partition(COLL, DIM, "bbbb", make_points("aaaa", 2))
    nan = make_points("bbbb", 2)
    nan[1].vector = np.full(DIM, np.nan)
    with pytest.raises(ValueError, match="NaN"):
        store.replace_partition(COLL, DIM, "bbbb", nan)
    with pytest.raises(ValueError, match="shape"):
        store.replace_partition(COLL, DIM, "bbbb", make_points("bbbb", 2, dim=DIM + 1))
    with pytest.raises(VectorStoreError, match="16-d"):
        store.replace_partition(COLL, DIM + 1, "bbbb", make_points("bbbb", 2, dim=DIM + 1))
    with pytest.raises(VectorStoreError, match="dimensions"):
        store.search(COLL, np.ones(DIM + 1), 3)
    assert store.count(COLL) == 3


def test_unreachable_server_names_the_endpoint() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(VectorStoreUnavailable, match=f"127.0.0.1:{port}"):
        open_vector_store(url=url)


def test_open_vector_store_picks_the_embedded_store(tmp_path: Path) -> None:
    s = open_vector_store(path=tmp_path / "v")
    assert isinstance(s, EdgeVectorStore) and s.endpoint == str((tmp_path / "v").resolve())
    with pytest.raises(ValueError):
        open_vector_store()


# -- several processes ------------------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys
    from tests.core.search.test_vector_store import make_points, COLL, DIM
    from media_assets.core.search.edge_store import EdgeVectorStore

    path, partition, n, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = EdgeVectorStore(path, lock_timeout_s=120)
    for r in range(rounds):
        # earlier rounds write extra items that the last round (the full set) must remove
        size = n if r == rounds - 1 else n + 2 + r
        store.replace_partition(COLL, DIM, partition, make_points(partition, size, seed=r))
        store.search(COLL, make_points(partition, 1, seed=99)[0].vector, 5)
    print("done", flush=True)
    """
)


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", *args], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_concurrent_processes_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "vectors")
    jobs = [("p0", 40), ("p1", 35), ("p2", 30), ("p3", 25), ("same", 20), ("same", 20)]
    procs = [_spawn(WORKER, path, part, str(n), "2") for part, n in jobs]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        assert "done" in out
    store = EdgeVectorStore(path)
    for part, n in dict(jobs).items():
        assert store.count(COLL, partition=part) == n
        expected_ids = {p.id for p in make_points(part, n)}
        got = store.search(COLL, make_points(part, 1, seed=5)[0].vector, 100, partitions=[part])
        assert {h.id for h in got} == expected_ids
    assert store.count(COLL) == sum(dict(jobs).values())
    assert not list(Path(path).glob("*.pending.json"))


KILLED = textwrap.dedent(
    """
    import sys
    from tests.core.search.test_vector_store import make_points, COLL
    from media_assets.core.search import edge_store
    from media_assets.core.search.edge_store import EdgeVectorStore

    write_journal = edge_store._write_json

    def announce(path, obj):  # tell the parent the shard updates start now
        write_journal(path, obj)
        print("journal", flush=True)

    edge_store._write_json = announce
    path, dim, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = EdgeVectorStore(path)
    r = 1
    while True:  # rewrite the partition with a new item set each round until killed
        print("writing", r, flush=True)
        store.replace_partition(COLL, dim, "victim", make_points("victim", n, seed=r, offset=r * n, dim=dim))
        print("written", r, flush=True)
        r += 1
    """
)


@pytest.mark.parametrize("delay_s", [0.0, 0.08])
def test_killed_writer_leaves_a_complete_readable_state(tmp_path: Path, delay_s: float) -> None:
    """SIGKILL a writer right after (0 s) or during (0.08 s) its shard updates; reopening shows the
    previous partition contents or the complete new ones, never a mix, and the store takes writes."""
    dim, n = 384, 2000
    path = tmp_path / "vectors"
    store = EdgeVectorStore(path)
    store.replace_partition(COLL, dim, "keeper", make_points("keeper", 50, dim=dim))
    store.replace_partition(COLL, dim, "victim", make_points("victim", n, seed=0, offset=0, dim=dim))
    proc = _spawn(KILLED, str(path), str(dim), str(n))
    assert proc.stdout is not None and proc.stderr is not None
    journals = 0
    deadline = time.monotonic() + 120
    while journals < 2 and time.monotonic() < deadline:  # the second write's updates start now
        line = proc.stdout.readline()
        if not line:
            break
        journals += line.startswith("journal")
    time.sleep(delay_s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert journals == 2, proc.stderr.read()[-2000:]
    if delay_s == 0.0:  # killed inside replace_partition
        assert (path / f"{COLL}.pending.json").exists()

    reopened = EdgeVectorStore(path)
    assert reopened.count(COLL, partition="keeper") == 50
    victims = reopened.search(COLL, np.ones(dim), 10 * n, partitions=["victim"])
    rounds = {int(h.payload["item"]) // n for h in victims}
    assert len(rounds) == 1, f"items of several writes mixed: rounds {sorted(rounds)}"
    assert min(rounds) >= 1  # the first rewrite had finished when the second began
    assert len(victims) == n == reopened.count(COLL, partition="victim")
    assert reopened.count(COLL) == n + 50
    assert not (path / f"{COLL}.pending.json").exists()
    reopened.replace_partition(COLL, dim, "victim", make_points("victim", 10, dim=dim))
    assert reopened.count(COLL) == 60


def test_journal_of_a_write_that_never_reached_the_store_is_dropped(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path / "v")
    store.replace_partition(COLL, DIM, "aaaa", make_points("aaaa", 5))
    # a writer died after writing its journal but before its upsert was logged
    journal = tmp_path / "v" / f"{COLL}.pending.json"
    journal.write_text(json.dumps({"partition": "aaaa", "token": uuid.uuid4().hex, "points": 3}))
    assert store.count(COLL, partition="aaaa") == 5
    assert not journal.exists()


def test_hold_open_keeps_one_loaded_shard(tmp_path: Path) -> None:
    with EdgeVectorStore(tmp_path / "v", hold_open=True) as store:
        store.replace_partition(COLL, DIM, "aaaa", make_points("aaaa", 5))
        assert store.count(COLL) == 5
        assert len(store.search(COLL, np.ones(DIM), 3)) == 3
    again = EdgeVectorStore(tmp_path / "v")  # released on close
    assert again.count(COLL) == 5


@pytest.mark.parametrize("datatype", ["float16", "float32"])
def test_storage_datatype_is_chosen_per_new_collection(tmp_path: Path, datatype: str) -> None:
    store = EdgeVectorStore(tmp_path / "vectors", datatype=datatype)
    points = make_points("aaaa", 40)
    store.replace_partition(COLL, DIM, "aaaa", points)
    config_file = tmp_path / "vectors" / COLL / "edge_config.json"
    assert json.loads(config_file.read_text())["vectors"][""]["datatype"] == datatype
    unit = np.array([p.vector / np.linalg.norm(p.vector) for p in points])
    for q in unit[:5]:  # each stored vector finds itself first, with a cosine of 1 to float16 precision
        hit = store.search(COLL, q, 1)[0]
        assert hit.id == points[int(np.argmax(unit @ q))].id and hit.score == pytest.approx(1.0, abs=2e-3)
    # an existing collection keeps its storage whatever a later store asks for
    later = EdgeVectorStore(tmp_path / "vectors", datatype="float32")
    later.replace_partition(COLL, DIM, "bbbb", make_points("bbbb", 2))
    assert json.loads(config_file.read_text())["vectors"][""]["datatype"] == datatype


def test_unknown_storage_datatype_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="float16, float32"):
        EdgeVectorStore(tmp_path / "vectors", datatype="int4")
