"""The Dagster resource ``MediaStore``: it picks the backend from its root and works inside an asset (the
backends themselves are tested in tests/core/store)."""

from __future__ import annotations

import dagster as dg

import resources.media_store as ms
from resources.media_store import LocalBackend, MediaStore, S3Backend, make_backend

KEY = "k3j5abcdefgh2345"


def test_resource_picks_backend(tmp_path, s3_server, s3_bucket, monkeypatch):
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    local = MediaStore(root=str(tmp_path / "store"))
    assert isinstance(local.backend, LocalBackend)
    remote = MediaStore(
        root=f"s3://{s3_bucket}/{s3_server.unique_prefix()}",
        endpoint_url=s3_server.endpoint_url,
        cache_dir=str(tmp_path),
    )
    assert isinstance(remote.backend, S3Backend)
    for store in (local, remote):
        store.put_json(KEY, "media_metadata.json", {"ok": True})
        assert store.get_json(KEY, "media_metadata.json") == {"ok": True}
        assert store.list(KEY) == ["media_metadata.json"]
    assert isinstance(make_backend("s3://b/p", s3_client=object()), S3Backend)

    monkeypatch.setenv(ms.ENV_STORE_ROOT, str(tmp_path / "from_env"))
    assert MediaStore.from_env().backend.root == tmp_path / "from_env"


def test_resource_in_an_asset(tmp_path):
    @dg.asset
    def writes_artifacts(media_store: MediaStore) -> None:
        media_store.put_json(KEY, "media_metadata.json", {"duration": 1.5})
        with media_store.local_dir(KEY, "keyframes", replace=True) as folder:
            (folder / "000000.jpg").write_bytes(b"jpg")

    result = dg.materialize([writes_artifacts], resources={"media_store": MediaStore(root=str(tmp_path / "s"))})
    assert result.success
    assert LocalBackend(tmp_path / "s").list(KEY) == ["keyframes/000000.jpg", "media_metadata.json"]
