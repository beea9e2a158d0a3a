"""The asset graph, in one table: each asset's module, output files, upstream assets, code version, tier and pool.

Plain data (no Dagster import) read by the asset decorators (``media_assets.assets.common.asset_args``), the
tiers and jobs of the definitions, the CLI (selection, staleness, summaries), the reprocessing schedule, the
tests and the docs. Adding an asset is a row here plus its own module under ``media_assets/assets/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    PACKAGE_VERSION = version("media-assets")
except PackageNotFoundError:  # running from a source tree
    PACKAGE_VERSION = "0.0.0"


@dataclass(frozen=True)
class AssetInfo:
    """One asset of the pipeline. ``code_version``: bump it when a change alters the asset's output (every
    materialization records it, so reprocessing can select what is out of date)."""

    name: str
    module: str  # media_assets.assets.<module> defines it (and SUMMARIES for the CLI)
    outputs: tuple[str, ...]  # files under <out>/<partition>/; the first one's presence means "made"
    upstream: tuple[str, ...]  # assets it reads
    code_version: str
    tier: str  # cpu | speech | vision | search
    pool: str | None = None  # the concurrency pool its step claims a slot in
    made_with: tuple[str, ...] = ()  # assets made by the same step (one decode makes scenes and keyframes)
    model: bool = False  # runs a model: its code version also carries the model's fingerprint


GRAPH: tuple[AssetInfo, ...] = (
    AssetInfo("media_metadata", "metadata", ("media_metadata.json",), (), "1", "cpu"),
    AssetInfo("audio", "audio", ("audio.json", "audio.wav"), ("media_metadata",), "1", "cpu"),
    AssetInfo("scenes", "visual", ("scenes.json",), ("media_metadata",), "1", "cpu", made_with=("keyframes",)),
    # 2: samples.json duplicate_of (samples with the pixels of an earlier one have no image)
    # 3: a keyframe is a duplicate only if its colours match too (not the same layout in another colour)
    AssetInfo(
        "keyframes",
        "visual",
        ("keyframes.json", "keyframes/", "samples.json", "samples/"),
        ("media_metadata",),
        "3",
        "cpu",
        made_with=("scenes",),
    ),
    AssetInfo(
        "transcript",
        "transcript",
        ("transcript.json", "transcript.srt", "transcript.vtt"),
        ("audio",),
        "1",
        "speech",
        pool="accelerator",
        model=True,
    ),
    # 2: overlapped speech gets a second speaker; long audio clustered agglomeratively
    AssetInfo(
        "diarization",
        "speakers",
        ("diarization.json", "diarization.rttm"),
        ("audio",),
        "2",
        "speech",
        "accelerator",
        model=True,
    ),
    AssetInfo(
        "speaker_transcript",
        "speakers",
        ("speaker_transcript.json", "speaker_transcript.md"),
        ("transcript", "diarization"),
        "1",
        "speech",
    ),
    AssetInfo(
        "audio_events", "audio_events", ("audio_events.json",), ("audio",), "1", "speech", "accelerator", model=True
    ),
    # 2: samples share the results of an identical earlier sample (duplicate_of); 3: keyframes' colour-aware dedup
    AssetInfo(
        "detections",
        "detections",
        ("detections.json", "events.json", "detections/contact_sheet.jpg"),
        ("keyframes",),
        "3",
        "vision",
        "accelerator",
        model=True,
    ),
    AssetInfo(
        "embeddings",
        "embeddings",
        ("embeddings.json",),
        ("speaker_transcript", "detections", "scenes", "keyframes"),
        "1",
        "search",
        "vector_store",
        model=True,
    ),
    AssetInfo(
        "timeline",
        "timeline",
        ("timeline.json", "timeline.parquet", "timeline.png"),
        ("media_metadata", "scenes", "keyframes", "speaker_transcript", "diarization", "audio_events", "detections"),
        "1",
        "search",
    ),
)

INFO = {a.name: a for a in GRAPH}
ASSETS = tuple(INFO)
OUTPUT_OF = {a.name: a.outputs[0] for a in GRAPH}
UPSTREAM = {a.name: a.upstream for a in GRAPH if a.upstream}
CODE_VERSIONS = {a.name: a.code_version for a in GRAPH}
TIERS = tuple(dict.fromkeys(a.tier for a in GRAPH))
CPU_TIER_ASSETS = tuple(a.name for a in GRAPH if a.tier == "cpu")
MODEL_ASSETS = tuple(a.name for a in GRAPH if a.model)
MODULES = tuple(dict.fromkeys(a.module for a in GRAPH))


def tier_assets(tier: str) -> tuple[str, ...]:
    return tuple(a.name for a in GRAPH if a.tier == tier)


def _with_partners(names: Iterable[str]) -> set[str]:
    """``names`` plus the assets made by the same steps."""
    out = set(names)
    for name in list(out):
        out.update(INFO[name].made_with)
    return out


DOWNSTREAM = {a: tuple(b for b, ups in UPSTREAM.items() if a in ups) for a in ASSETS}


def close_downstream(changed: Iterable[str], within: Sequence[str]) -> list[str]:
    """``changed`` plus everything in ``within`` that reads them, directly or not, in pipeline order."""
    todo, seen = [a for a in changed if a in within], set()
    while todo:
        a = todo.pop()
        if a not in seen:
            seen.add(a)
            todo.extend(d for d in DOWNSTREAM.get(a, ()) if d in within)
            todo.extend(b for b in INFO[a].made_with if b in within)  # one step makes both: redo what reads either
    return [a for a in ASSETS if a in seen]


def outdated(
    current: Mapping[tuple[str, str], Mapping[str, Any]],
    keys: Iterable[str],
    selected: Sequence[str],
    preset: str | None,
    *,
    versions: Mapping[str, str] | None = None,
    existing_only: bool = False,
) -> dict[str, tuple[list[str], str]]:
    """Partitions whose outputs were made by another code version (or, when ``preset`` is given, another preset)
    than the current ones: the assets to redo (the changed ones and what reads them) and why. ``current`` is
    :meth:`Catalog.current_results`; ``versions`` the current code versions (with model fingerprints; the
    table's by default). With ``existing_only``, what reads a changed asset is redone only where it was made."""
    versions = versions or CODE_VERSIONS
    out: dict[str, tuple[list[str], str]] = {}
    for key in keys:
        changed, reasons = [], []
        for asset in selected:
            job = current.get((key, asset))
            if job is None:
                continue
            made, now = job.get("code_version"), versions.get(asset, CODE_VERSIONS[asset])
            if made and made != now and not made_before_fingerprints(made, now):
                changed.append(asset)
                reasons.append(_why(asset, made, now))
            elif preset and job.get("preset") and job["preset"] != preset:
                changed.append(asset)
                reasons.append(f"{asset} preset {job['preset']} -> {preset}")
        if changed:
            within = [a for a in selected if (key, a) in current] if existing_only else selected
            out[key] = (
                close_downstream(changed, within),
                "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else ""),
            )
    return out


def made_before_fingerprints(made: str, now: str) -> bool:
    """Made by a release that did not record model fingerprints, by the same logic: not redone for that alone
    (the model is not known, and an upgrade should not reprocess every video)."""
    return "+" not in made and made == now.partition("+")[0]


def _why(asset: str, made: str, now: str) -> str:
    old_logic, old_model = made.partition("+")[::2]
    new_logic, new_model = now.partition("+")[::2]
    if old_logic == new_logic and old_model != new_model:
        return f"{asset} model {old_model or 'unrecorded'} -> {new_model or 'none'}"
    return f"{asset} code {made} -> {now}"


def group_by_assets(
    stale: Mapping[str, tuple[list[str], str]], groups: dict[tuple[str, ...], list[str]] | None = None
) -> dict[tuple[str, ...], list[str]]:
    """The partitions of :func:`outdated`'s result grouped by the assets to redo (one group of runs each), added
    to ``groups`` when given."""
    out = groups if groups is not None else {}
    for key, (assets, _) in stale.items():
        out.setdefault(tuple(assets), []).append(key)
    return out


def close_selection(selected: Sequence[str]) -> list[str]:
    """The selected assets plus everything upstream of them, in pipeline order."""
    todo, seen = list(selected), set()
    while todo:
        a = todo.pop()
        if a not in seen:
            seen.add(a)
            todo.extend(UPSTREAM.get(a, ()))
    seen = _with_partners(seen)  # one step makes them together
    return [a for a in ASSETS if a in seen]


def contiguous_batches(keys: list[str], order: list[str], size: int) -> list[list[str]]:
    """Split keys into runs of consecutive partitions (a partition range is contiguous) of at most ``size``."""
    pos = {k: i for i, k in enumerate(order)}
    ranked = sorted(set(keys), key=lambda k: pos[k])
    batches: list[list[str]] = []
    for k in ranked:
        if batches and len(batches[-1]) < size and pos[k] == pos[batches[-1][-1]] + 1:
            batches[-1].append(k)
        else:
            batches.append([k])
    return batches
