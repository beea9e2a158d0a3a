"""Where the embedded indexes live."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_assets.core.search.index_paths import ENV_INDEX_DIR, default_index_dir, fulltext_dir, vectors_dir


def test_local_root_s3_root_and_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_INDEX_DIR, raising=False)
    assert default_index_dir(tmp_path / "data") == tmp_path / "data" / "_index"
    assert default_index_dir("./media_data") == Path("media_data/_index")
    assert default_index_dir(f"file://{tmp_path}/data") == tmp_path / "data" / "_index"
    assert default_index_dir("s3://bucket/prefix") == Path("./media_index")
    monkeypatch.setenv(ENV_INDEX_DIR, str(tmp_path / "idx"))
    assert default_index_dir("s3://bucket/prefix") == tmp_path / "idx"
    assert default_index_dir(tmp_path / "data") == tmp_path / "idx"
    assert vectors_dir(tmp_path) == tmp_path / "vectors"
    assert fulltext_dir(tmp_path) == tmp_path / "fulltext"
