"""Pure functions from a live snapshot (see :mod:`twin.api.live`) to response payloads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from twin.api.problems import Problem

ASSET_KINDS = {"potline", "cell", "rectifier", "unit"}


def as_of(snap: Mapping[str, Any]) -> datetime:
    value = snap.get("as_of")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        return datetime.now(UTC)
    return value.astimezone(UTC)


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: such values (bad or stale samples) are sent as null."""
    return value if math.isfinite(value) else None


def _finite(d: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in d.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out[str(k)] = float(v)
    return out


def kpis_all(snap: Mapping[str, Any]) -> dict[str, Any]:
    scopes = {str(s): _finite(k) for s, k in (snap.get("kpis") or {}).items()}
    return {"as_of": as_of(snap), "scopes": scopes}


def kpis_one(snap: Mapping[str, Any], scope: str) -> dict[str, Any]:
    scopes = snap.get("kpis") or {}
    if scope not in scopes:
        known = ", ".join(sorted(scopes)[:10]) or "none yet"
        raise Problem(404, "Not found", f"scope = {scope!r} has no KPIs; known scopes: {known}")
    return {"scope": scope, "as_of": as_of(snap), "kpis": _finite(scopes[scope])}


def power(snap: Mapping[str, Any]) -> dict[str, Any]:
    p = snap.get("power") or {}
    units = _finite(p.get("units") or {})
    potlines = _finite(p.get("potlines") or {})
    grid = float(p.get("grid_MW") or 0.0)
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
    for cell_id, values in (snap.get("cells") or {}).items():
        if str(cell_id).startswith(prefix):
            row: dict[str, float | bool | None] = {}
            for k, v in (values or {}).items():
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
        for a in snap.get("alarms") or []
        if (state is None or a.get("state") == state) and (asset is None or a.get("asset") == asset)
    ]


def assets(snap: Mapping[str, Any], kind: str | None) -> list[dict[str, Any]]:
    listed = list(snap.get("assets") or [])
    if not listed:  # derive stable ids from what the snapshot holds
        for scope in snap.get("kpis") or {}:
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
            for c in snap.get("cells") or {}
            if f"cell:{c}" not in known
        )
    return [a for a in listed if kind is None or a.get("kind") == kind]


def asset(snap: Mapping[str, Any], asset_id: str) -> dict[str, Any]:
    for a in assets(snap, None):
        if a.get("id") == asset_id:
            return a
    raise Problem(404, "Not found", f"asset_id = {asset_id!r} is unknown; list ids with GET /v1/assets")


def iso(ts: np.ndarray, unit: str = "ms") -> list[str]:
    return np.datetime_as_string(ts.astype(f"datetime64[{unit}]"), unit=unit, timezone="UTC").tolist()
