"""What a model asset's output depends on besides its code: the resolved model, cheaply fingerprinted.

A model asset's Dagster code version is ``<logic version>+<fingerprint>``, the fingerprint being a short hash of
its identity: model name, weights revision or a digest of the weight files' sizes and times, the versions of
the packages that ship or run the model, compute type, device, decoding settings and preset. Swapping a model,
upgrading a model package or changing the compute type changes the code version of exactly the assets that use
it, so Dagster shows them (and what reads them) as changed, and ``media-assets process`` and the
``reprocess_outdated`` schedule redo them. Nothing here loads a model or reads gigabytes of weights.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

MAX_FILES = 200  # a weights folder bigger than this is summarised by its first files (sorted) and its count


def dist_versions(*dists: str) -> dict[str, str]:
    """Installed version of each distribution (``"missing"`` when it is not installed)."""
    out = {}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


def path_identity(path: str | os.PathLike[str]) -> str:
    """A digest of a weights file or folder from names, sizes and modification times (not contents)."""
    p = Path(path).expanduser()
    if not p.exists():
        return f"missing:{p}"
    entries: list[tuple[str, int, int]] = []
    files: Iterable[Path] = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    count = 0
    for f in files:
        count += 1
        if len(entries) < MAX_FILES:
            st = f.stat()
            entries.append((f.name if f == p else f.relative_to(p).as_posix(), st.st_size, st.st_mtime_ns))
    return hashlib.sha256(json.dumps([entries, count]).encode()).hexdigest()[:16]


def model_ref(value: str | None, *, packaged: str, dists: Iterable[str] = ()) -> dict[str, Any]:
    """The identity of a model given as ``None`` (the packaged default: its packages' versions), a local path
    (its files) or a hub name (the name)."""
    if not value:
        return {"model": packaged, **{f"pkg:{k}": v for k, v in dist_versions(*dists).items()}}
    path = Path(value).expanduser()
    if path.exists():
        return {"model": str(path), "files": path_identity(path)}
    return {"model": value, "source": "hub"}


def fingerprint(identity: Mapping[str, Any]) -> str:
    """10 hex characters of the identity's canonical JSON."""
    text = json.dumps(identity, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def code_version(logic: str, identity: Mapping[str, Any] | None) -> str:
    """``logic`` alone for an asset without a model, else ``<logic>+<fingerprint>``."""
    return f"{logic}+{fingerprint(identity)}" if identity else logic


def split_code_version(version: str | None) -> tuple[str | None, str | None]:
    """(logic version, model fingerprint) of a recorded code version."""
    if not version:
        return None, None
    logic, _, fp = version.partition("+")
    return logic, fp or None
