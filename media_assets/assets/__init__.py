"""Dagster assets: a thin layer over ``media_assets.core``, one module per row group of the asset table.

The modules are the ones :data:`media_assets.asset_graph.GRAPH` names; every asset definition found in them is
collected here, by asset name and by tier, with the summaries the CLI prints (each module's ``SUMMARIES``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import dagster as dg

from media_assets.asset_graph import ASSETS, GRAPH, MODULES, TIERS, tier_assets

_MODULES = {name: importlib.import_module(f"{__name__}.{name}") for name in MODULES}

DEFINITIONS: dict[str, dg.AssetsDefinition] = {}  # asset name -> its definition (a multi-asset under each name)
for _module in _MODULES.values():
    for _value in vars(_module).values():
        if isinstance(_value, dg.AssetsDefinition):
            for _key in _value.keys:
                DEFINITIONS[_key.to_user_string()] = _value
if set(DEFINITIONS) != set(ASSETS):
    raise RuntimeError(
        f"the asset table and the asset modules disagree: defined {sorted(DEFINITIONS)}, table {sorted(ASSETS)}"
    )

ALL_ASSETS = list(dict.fromkeys(DEFINITIONS[a.name] for a in GRAPH))
TIER_ASSETS = {tier: list(dict.fromkeys(DEFINITIONS[name] for name in tier_assets(tier))) for tier in TIERS}
CPU_TIER = TIER_ASSETS["cpu"]

# asset name -> summary(store, partition) -> short notes for the CLI's table
SUMMARIES: dict[str, Callable[[Any, str], list[str]]] = {
    name: fn for module in _MODULES.values() for name, fn in getattr(module, "SUMMARIES", {}).items()
}

__all__ = ["ALL_ASSETS", "CPU_TIER", "DEFINITIONS", "SUMMARIES", "TIER_ASSETS"]
