"""The S3 backend on a real S3 server (SeaweedFS)."""

from __future__ import annotations

import os

import pytest

from media_assets.core.store import S3Backend
from tests.core.store.conftest import KEY


def test_s3_multipart_upload_failing_midway_leaves_nothing(tmp_path, s3_server, s3_bucket):
    from boto3.s3.transfer import TransferConfig

    client = s3_server.new_client()
    store = S3Backend(
        f"s3://{s3_bucket}/{s3_server.unique_prefix()}",
        client=client,
        transfer_config=TransferConfig(
            multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=1
        ),
    )
    src = tmp_path / "big.wav"
    src.write_bytes(os.urandom(16 * 1024 * 1024))
    parts = []

    def fail_third_part(params, **kwargs):
        parts.append(params.get("PartNumber"))
        if len(parts) == 3:
            raise ConnectionError("network dropped midway")

    client.meta.events.register("before-call.s3.UploadPart", fail_third_part)
    with pytest.raises(Exception, match="network dropped"):
        store.put_file(KEY, "audio.wav", src)
    client.meta.events.unregister("before-call.s3.UploadPart", fail_third_part)
    assert len(parts) >= 3
    assert not store.exists(KEY, "audio.wav")
    uploads = client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
    assert [u for u in uploads if u["Key"] == store.object_key(KEY, "audio.wav")] == []  # aborted
    assert store.list(KEY) == []
    # a complete upload afterwards works, and is only visible once complete
    store.put_file(KEY, "audio.wav", src)
    assert store.get_bytes(KEY, "audio.wav") == src.read_bytes()
