"""Artifacts in S3 (:class:`S3Backend`).

Writes are atomic: a single ``put_object``, or boto3's ``upload_file``, whose multipart upload only becomes
visible when it completes and is aborted on failure.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from media_assets.core.store.base import _BaseBackend
from media_assets.core.store.files import _iter_local_files
from media_assets.core.store.naming import (
    _join,
    parse_s3_uri,
    validate_name,
    validate_partition_key,
    validate_prefix,
)
from media_assets.core.store.s3_client import _client_error_code, _is_not_found

S3_DELETE_BATCH = 1000
PUBLISH_WORKERS = 8


def _content_type(name: str) -> str:
    if name.endswith(".json"):
        return "application/json"
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


class S3Backend(_BaseBackend):
    """Artifacts in S3: ``s3://<bucket>/<prefix>/<key>/<name>``."""

    def __init__(
        self,
        root: str,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        transfer_config: Any = None,
    ) -> None:
        super().__init__(cache_dir=cache_dir, endpoint_url=endpoint_url, region_name=region_name, s3_client=client)
        self.bucket, prefix = parse_s3_uri(root)
        self.prefix = prefix.strip("/")
        if self.prefix:
            for part in self.prefix.split("/"):
                if part in ("", ".", ".."):
                    raise ValueError(f"invalid S3 root {root!r}")
        self.transfer_config = transfer_config

    def __repr__(self) -> str:
        return f"S3Backend('s3://{self.bucket}/{self.prefix}')"

    @property
    def client(self) -> Any:
        return self.s3_client

    def _partition_prefix(self, key: str) -> str:
        validate_partition_key(key)
        return f"{self.prefix}/{key}/" if self.prefix else f"{key}/"

    def object_key(self, key: str, name: str) -> str:
        return self._partition_prefix(key) + validate_name(name)

    def uri(self, key: str, name: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key, name)}"

    def exists(self, key: str, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key, name))
        except Exception as exc:
            if _is_not_found(exc):
                return False
            raise
        return True

    def put_bytes(self, key: str, name: str, data: bytes) -> str:
        obj_key = self.object_key(key, name)
        self.client.put_object(Bucket=self.bucket, Key=obj_key, Body=data, ContentType=_content_type(name))
        return f"s3://{self.bucket}/{obj_key}"

    def put_bytes_if_absent(self, key: str, name: str, data: bytes) -> bool:
        """Conditional create (``If-None-Match: *``); True if this call created the object."""
        obj_key = self.object_key(key, name)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=obj_key, Body=data, ContentType=_content_type(name), IfNoneMatch="*"
            )
        except Exception as exc:
            code = _client_error_code(exc)
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            if code not in ("NotImplemented", "501"):
                raise
            # A server without conditional writes: best effort (check, then put).
            if self.exists(key, name):
                return False
            self.put_bytes(key, name, data)
        return True

    def put_file(self, key: str, name: str, local_path: str | os.PathLike[str]) -> str:
        obj_key = self.object_key(key, name)
        kwargs: dict[str, Any] = {"ExtraArgs": {"ContentType": _content_type(name)}}
        if self.transfer_config is not None:
            kwargs["Config"] = self.transfer_config
        self.client.upload_file(os.fspath(local_path), self.bucket, obj_key, **kwargs)
        return f"s3://{self.bucket}/{obj_key}"

    def get_bytes(self, key: str, name: str) -> bytes:
        obj_key = self.object_key(key, name)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=obj_key)
        except Exception as exc:
            if _is_not_found(exc):
                raise FileNotFoundError(f"s3://{self.bucket}/{obj_key}") from exc
            raise
        return response["Body"].read()

    def fetch(self, key: str, name: str) -> Path:
        """Download an artifact into the cache dir (reused while size+ETag are unchanged)."""
        obj_key = self.object_key(key, name)
        return self._download_cached(self.bucket, obj_key, kind="artifacts", display=f"s3://{self.bucket}/{obj_key}")

    def _iter_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"]

    def list(self, key: str, prefix: str = "") -> list[str]:
        base = self._partition_prefix(key)
        validate_prefix(prefix)
        names = []
        for obj_key in self._iter_keys(base + prefix):
            name = obj_key[len(base) :]
            if name and not name.endswith("/"):
                names.append(name)
        return sorted(names)

    def _delete_keys(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        for i in range(0, len(keys), S3_DELETE_BATCH):
            batch = keys[i : i + S3_DELETE_BATCH]
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise OSError(f"could not delete {len(errors)} objects, e.g. {first.get('Key')!r}: {first}")
        return len(keys)

    def delete_prefix(self, key: str, prefix: str) -> int:
        """Delete every object whose name starts with ``prefix`` (``""`` = the whole partition)."""
        base = self._partition_prefix(key)
        validate_prefix(prefix)
        return self._delete_keys(list(self._iter_keys(base + prefix)))

    def _publish(self, key: str, name_prefix: str, local_dir: Path, *, replace: bool, move: bool) -> list[str]:
        files = [(_join(name_prefix, rel), src) for rel, src in _iter_local_files(local_dir)]
        for name, _ in files:
            validate_name(name)
        if files:
            with ThreadPoolExecutor(max_workers=min(PUBLISH_WORKERS, len(files))) as pool:
                list(pool.map(lambda item: self.put_file(key, item[0], item[1]), files))
        published = sorted(name for name, _ in files)
        if replace:
            keep = set(published)
            stale = [self.object_key(key, n) for n in self.list(key, name_prefix + "/") if n not in keep]
            self._delete_keys(stale)
        return published
