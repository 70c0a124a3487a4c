"""The live-state provider the API reads "now" from, and a fallback that reads the store instead.

The live twin (or anything else) hands :func:`twin.api.create_app` an object with ``snapshot()``. The API
calls it on every "now" request, directly on the event loop, so it must be cheap and thread-safe: return a
dict prepared by the twin's own thread, and never hold a lock for long. A provider whose snapshot does I/O
sets the attribute ``snapshot_blocks = True`` and is then called on a worker thread.

All keys except ``as_of`` are optional::

    {
      "as_of": datetime (timezone-aware, UTC),
      "kpis":  {"plant": {"power_MW": 912.0, ...}, "potline:1": {...}, "cell:1-017": {...}},
      "cells": {"1-017": {"voltage_V": 4.21, "alumina_wtpct": 2.6, "superheat_degC": 9.5,
                          "anode_effect": False, ...}, ...},
      "power": {"units": {"G1": 310.0, ...}, "grid_MW": -12.0, "potlines": {"1": 455.0, ...}},
      "alarms": [{"id": "a-17", "asset": "cell:1-017", "state": "active" | "acknowledged" | "cleared",
                  "severity": "low" | "medium" | "high", "reason": "anode effect, 31 V", "since": datetime}],
      "assets": [{"id": "cell:1-017", "kind": "cell" | "potline" | "rectifier" | "unit",
                  "name": "Cell 1-017", "parent": "potline:1", "metadata": {...}}],
    }

Power is in MW; ``grid_MW`` is positive when importing from the grid. A provider that also has
``scenario_toml() -> str`` (the live state written as a scenario) enables ``{"from_live": true}`` jobs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from twin.store import Store


@runtime_checkable
class LiveProvider(Protocol):
    """Supplies the twin's current state; see the module docstring for the snapshot's keys."""

    def snapshot(self) -> Mapping[str, Any]: ...


@runtime_checkable
class LiveScenarioSource(Protocol):
    """Optional extra: the live state as scenario TOML, for what-ifs that start from "now"."""

    def scenario_toml(self) -> str: ...


class StoreLive:
    """A provider built from the store's latest KPIs and cell values, used when no live twin is attached.

    Cell values come from tags named ``cell:<line>-<n>/<signal>``. It queries the store, so it blocks.
    """

    snapshot_blocks = True

    def __init__(self, store: Store) -> None:
        self._store = store

    def snapshot(self) -> Mapping[str, Any]:
        latest = self._store.kpi_latest()
        kpis = {scope: {n: v for n, (_, v) in names.items()} for scope, names in latest.items()}
        times = [t for names in latest.values() for t, _ in names.values()]
        cells: dict[str, dict[str, Any]] = {}
        for tag, point in self._store.latest().items():
            if tag.startswith("cell:") and "/" in tag:
                cell, signal = tag[5:].split("/", 1)
                cells.setdefault(cell, {})[signal] = point.value
                times.append(point.ts)
        return {"as_of": max(times, default=datetime.now(UTC)), "kpis": kpis, "cells": cells}
