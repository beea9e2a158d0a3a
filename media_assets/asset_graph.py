"""The asset graph as plain data: what each asset reads, and which outputs are out of date.

Shared by the CLI and the reprocessing schedule (no Dagster import). The Dagster asset definitions declare
the same dependencies; tests/test_definitions.py checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from media_assets.version import CODE_VERSIONS

OUTPUT_OF = {
    "media_metadata": "media_metadata.json",
    "audio": "audio.json",
    "scenes": "scenes.json",
    "keyframes": "keyframes.json",
    "transcript": "transcript.json",
    "diarization": "diarization.json",
    "speaker_transcript": "speaker_transcript.json",
    "audio_events": "audio_events.json",
    "detections": "detections.json",
    "embeddings": "embeddings.json",
    "timeline": "timeline.json",
}
ASSETS = tuple(OUTPUT_OF)
CPU_TIER_ASSETS = ("media_metadata", "audio", "scenes", "keyframes")
# upstream assets each one reads (the selection is closed over these, so --only X also builds what X needs)
UPSTREAM = {
    "audio": ("media_metadata",),
    "scenes": ("media_metadata",),
    "keyframes": ("media_metadata",),
    "transcript": ("audio",),
    "diarization": ("audio",),
    "speaker_transcript": ("transcript", "diarization"),
    "audio_events": ("audio",),
    "detections": ("keyframes",),
    "embeddings": ("speaker_transcript", "detections", "scenes", "keyframes"),
    "timeline": (
        "media_metadata",
        "scenes",
        "keyframes",
        "speaker_transcript",
        "diarization",
        "audio_events",
        "detections",
    ),
}


DOWNSTREAM = {a: tuple(b for b, ups in UPSTREAM.items() if a in ups) for a in ASSETS}


def close_downstream(changed: Iterable[str], within: Sequence[str]) -> list[str]:
    """``changed`` plus everything in ``within`` that reads them, directly or not, in pipeline order."""
    todo, seen = [a for a in changed if a in within], set()
    while todo:
        a = todo.pop()
        if a not in seen:
            seen.add(a)
            todo.extend(d for d in DOWNSTREAM.get(a, ()) if d in within)
            if a in ("scenes", "keyframes"):  # one pass makes both, so what reads either is redone
                todo.extend({"scenes", "keyframes"} & set(within))
    return [a for a in ASSETS if a in seen]


def outdated(
    current: Mapping[tuple[str, str], Mapping[str, Any]],
    keys: Iterable[str],
    selected: Sequence[str],
    preset: str | None,
) -> dict[str, tuple[list[str], str]]:
    """Partitions whose outputs were made by another code version (or, when ``preset`` is given, another preset)
    than the current ones: the assets to redo (the changed ones and what reads them) and why. ``current`` is
    :meth:`Catalog.current_results`."""
    out: dict[str, tuple[list[str], str]] = {}
    for key in keys:
        changed, reasons = [], []
        for asset in selected:
            job = current.get((key, asset))
            if job is None:
                continue
            if job.get("code_version") and job["code_version"] != CODE_VERSIONS[asset]:
                changed.append(asset)
                reasons.append(f"{asset} code {job['code_version']} -> {CODE_VERSIONS[asset]}")
            elif preset and job.get("preset") and job["preset"] != preset:
                changed.append(asset)
                reasons.append(f"{asset} preset {job['preset']} -> {preset}")
        if changed:
            out[key] = (
                close_downstream(changed, selected),
                "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else ""),
            )
    return out


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
    if "scenes" in seen or "keyframes" in seen:  # one pass makes both
        seen |= {"scenes", "keyframes"}
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
