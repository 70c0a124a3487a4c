"""Pure functions from a live snapshot (see :mod:`twin.api.live`) to response payloads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from twin.api.problems import Problem

ASSET_KINDS = {"potline", "cell", "rectifier", "unit", "grid"}


def as_of(snap: Mapping[str, Any]) -> datetime:
    value = snap.get("as_of")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime) or value.tzinfo is None:
        return datetime.now(UTC)
    return value.astimezone(UTC)


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: such values (bad or stale samples) are sent as null."""
    return value if math.isfinite(value) else None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _finite(d: Any) -> dict[str, float]:
    if not isinstance(d, Mapping):
        return {}
    out = {}
    for k, v in d.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out[str(k)] = float(v)
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def kpis_all(snap: Mapping[str, Any]) -> dict[str, Any]:
    scopes = {str(s): _finite(k) for s, k in _mapping(snap.get("kpis")).items()}
    return {"as_of": as_of(snap), "scopes": scopes}


def kpis_one(snap: Mapping[str, Any], scope: str) -> dict[str, Any]:
    scopes = _mapping(snap.get("kpis"))
    if scope not in scopes:
        known = ", ".join(sorted(map(str, scopes))[:10]) or "none yet"
        raise Problem(404, "Not found", f"scope = {scope!r} has no KPIs; known scopes: {known}")
    return {"scope": scope, "as_of": as_of(snap), "kpis": _finite(scopes[scope])}


def power(snap: Mapping[str, Any]) -> dict[str, Any]:
    p = snap.get("power")
    p = p if isinstance(p, Mapping) else {}
    units = _finite(p.get("units"))
    potlines = _finite(p.get("potlines"))
    grid = _number(p.get("grid_MW")) or 0.0
    gen, load = sum(units.values()), sum(potlines.values())
    return {
        "as_of": as_of(snap),
        "units_MW": units,
        "grid_MW": grid,
        "potlines_MW": potlines,
        "generation_MW": gen,
        "load_MW": load,
        "imbalance_MW": gen + grid - load,
    }


def cells(snap: Mapping[str, Any], potline: str) -> dict[str, Any]:
    prefix = f"{potline}-"
    out: dict[str, dict[str, float | bool | None]] = {}
    for cell_id, values in _mapping(snap.get("cells")).items():
        if str(cell_id).startswith(prefix):
            row: dict[str, float | bool | None] = {}
            for k, v in _mapping(values).items():
                if isinstance(v, bool):
                    row[str(k)] = v
                elif isinstance(v, int | float):
                    row[str(k)] = float(v) if math.isfinite(v) else None
            out[str(cell_id)] = row
    if not out:
        raise Problem(404, "Not found", f"potline = {potline!r} has no cells in the live state")
    return {"potline": potline, "as_of": as_of(snap), "cells": dict(sorted(out.items()))}


def alarms(snap: Mapping[str, Any], state: str | None, asset: str | None) -> list[dict[str, Any]]:
    return [
        dict(a)
        for a in (snap.get("alarms") if isinstance(snap.get("alarms"), list) else [])
        if isinstance(a, Mapping)
        and (state is None or a.get("state") == state)
        and (asset is None or a.get("asset") == asset)
    ]


def assets(snap: Mapping[str, Any], kind: str | None) -> list[dict[str, Any]]:
    listed = list(snap.get("assets") if isinstance(snap.get("assets"), list) else [])
    if not listed:  # derive stable ids from what the snapshot holds
        for scope in _mapping(snap.get("kpis")):
            k = str(scope).split(":", 1)[0]
            if k in ASSET_KINDS:
                listed.append({"id": str(scope), "kind": k, "name": str(scope)})
        known = {a["id"] for a in listed}
        listed.extend(
            {
                "id": f"cell:{c}",
                "kind": "cell",
                "name": f"Cell {c}",
                "parent": f"potline:{str(c).split('-')[0]}",
            }
            for c in _mapping(snap.get("cells"))
            if f"cell:{c}" not in known
        )
    power_side = _mapping(snap.get("power")).get("assets")  # units, grid tie, rectifiers (twin.service.power_assets)
    listed.extend(power_side if isinstance(power_side, list) else [])
    return [_asset(a) for a in listed if _valid_asset(a) and (kind is None or a.get("kind") == kind)]


def _valid_asset(a: Any) -> bool:
    return isinstance(a, Mapping) and isinstance(a.get("id"), str) and a.get("kind") in ASSET_KINDS


def _asset(a: Mapping[str, Any]) -> dict[str, Any]:
    meta = a.get("metadata")
    out = {
        "id": a["id"],
        "kind": a["kind"],
        "name": str(a.get("name") or ""),
        "parent": a.get("parent") if isinstance(a.get("parent"), str) else None,
        "metadata": dict(meta) if isinstance(meta, Mapping) else {},
    }
    if "live" in a:  # power-side assets: live values, or None and the reason there are none
        live = a.get("live")
        out["live"] = dict(live) if isinstance(live, Mapping) else None
        out["live_reason"] = a.get("live_reason") if isinstance(a.get("live_reason"), str) else None
    return out


def asset(snap: Mapping[str, Any], asset_id: str) -> dict[str, Any]:
    for a in assets(snap, None):
        if a.get("id") == asset_id:
            return a
    raise Problem(404, "Not found", f"asset_id = {asset_id!r} is unknown; list ids with GET /v1/assets")


def iso(ts: np.ndarray, unit: str = "ms") -> list[str]:
    return np.datetime_as_string(ts.astype(f"datetime64[{unit}]"), unit=unit, timezone="UTC").tolist()
