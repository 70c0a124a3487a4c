"""A small synthetic plant for API tests: a real (if simple) live provider and scenario runner, no mocks.

``SyntheticPlant`` holds two potlines of cells whose state moves forward with :meth:`advance`;
``run_scenario`` integrates a lumped cell model (Faraday's law, ohmic heat) over the scenario's horizon.
"""

from __future__ import annotations

import math
import os
import threading
import time
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

FARADAY = 96_485.0
M_AL = 26.98e-3  # kg/mol


def run_scenario(toml_text: str) -> dict[str, float]:
    """Integrate a potline for ``hours`` at ``line_current_kA`` with hourly steps; returns KPIs."""
    doc = tomllib.loads(toml_text)
    sc = doc.get("scenario", {})
    current_kA = float(sc.get("line_current_kA", 400.0))
    hours = int(sc.get("hours", 24))
    cells = int(sc.get("cells", 100))
    feed = float(sc.get("alumina_feed_factor", 1.0))
    if hours <= 0 or hours > 24 * 400 or current_kA <= 0:
        raise ValueError(f"hours = {hours}, line_current_kA = {current_kA} out of range")
    alumina, metal_kg, energy_kWh, anode_effects = 3.0, 0.0, 0.0, 0
    for _ in range(hours):
        ce = 0.955 - 0.01 * max(0.0, 2.2 - alumina) - 0.0002 * (current_kA - 400.0)
        voltage = 4.05 + 0.0009 * (current_kA - 400.0) + 0.15 * max(0.0, 2.0 - alumina)
        alumina += 0.05 * (feed - 1.0) * 10 - 0.002 * (current_kA - 400) / 10
        alumina = min(max(alumina, 1.0), 5.0)
        if alumina < 1.6:
            anode_effects += cells // 50
            alumina = 2.5
        mol_e = current_kA * 1e3 * 3600 / FARADAY
        metal_kg += cells * ce * mol_e / 3 * M_AL
        energy_kWh += cells * voltage * current_kA * 1.0
    return {
        "metal_t": metal_kg / 1000,
        "energy_MWh": energy_kWh / 1000,
        "specific_energy_kWh_per_t": energy_kWh / (metal_kg / 1000),
        "anode_effects": float(anode_effects),
        "current_efficiency": metal_kg / (cells * hours * current_kA * 1e3 * 3600 / FARADAY / 3 * M_AL),
    }


class SyntheticPlant:
    """A live provider: two potlines × ``n_cells`` cells, three captive units, a grid tie and alarms."""

    def __init__(self, n_cells: int = 24) -> None:
        self.n_cells = n_cells
        self.tick = 0
        self._lock = threading.Lock()
        self._t0 = datetime(2026, 3, 1, tzinfo=UTC)
        self._snap: dict[str, Any] = {}
        self.advance(0)

    def advance(self, steps: int = 1) -> None:
        with self._lock:
            self.tick += steps
            self._snap = self._build()

    def snapshot(self) -> Mapping[str, Any]:
        with self._lock:
            return self._snap

    def scenario_toml(self) -> str:
        return f"[scenario]\nname = 'from live'\nline_current_kA = {400 + self.tick % 5}\nhours = 48\n"

    def _build(self) -> dict[str, Any]:
        t = self.tick
        cells: dict[str, dict[str, Any]] = {}
        for line in (1, 2):
            for i in range(1, self.n_cells + 1):
                phase = i * 0.7 + line + t * 0.1
                ae = line == 1 and i == 5
                cells[f"{line}-{i:03d}"] = {
                    "voltage_V": 32.0 if ae else 4.1 + 0.15 * math.sin(phase),
                    "alumina_wtpct": 2.4 + 0.5 * math.cos(phase),
                    "superheat_degC": 8.0 + 3.0 * math.sin(phase / 2),
                    "anode_effect": ae,
                }
        potlines = {"1": 455.0 + t % 3, "2": 452.0}
        units = {"G1": 330.0, "G2": 330.0, "G3": 200.0 + t % 3}
        grid = sum(potlines.values()) + 40.0 - sum(units.values())
        kpis = {
            "plant": {
                "power_MW": sum(potlines.values()) + 40.0,
                "metal_t_per_day": 3400.0 + t,
                "specific_energy_kWh_per_t": 13_150.0,
                "grid_MW": grid,
            },
            "potline:1": {"line_current_kA": 400.0 + t % 3, "current_efficiency": 0.95, "anode_effects_per_day": 0.1},
            "potline:2": {"line_current_kA": 398.0, "current_efficiency": 0.948, "anode_effects_per_day": 0.05},
            "cell:1-017": {"voltage_V": cells["1-017"]["voltage_V"], "superheat_degC": 9.0},
        }
        assets = [
            {
                "id": f"potline:{n}",
                "kind": "potline",
                "name": f"Potline {n}",
                "metadata": {"cells": self.n_cells, "technology": "prebake 400 kA"},
            }
            for n in (1, 2)
        ]
        assets += [
            {
                "id": f"cell:{c}",
                "kind": "cell",
                "name": f"Cell {c}",
                "parent": f"potline:{c.split('-')[0]}",
                "metadata": {"anodes": 40},
            }
            for c in cells
        ]
        assets += [
            {"id": f"rectifier:{n}-A", "kind": "rectifier", "parent": f"potline:{n}", "metadata": {"rated_kA": 440}}
            for n in (1, 2)
        ]
        assets += [
            {"id": f"unit:{u}", "kind": "unit", "name": f"Unit {u}", "metadata": {"rated_MW": 350}} for u in units
        ]
        alarms = [
            {
                "id": "ae-1-005",
                "asset": "cell:1-005",
                "state": "active",
                "severity": "high",
                "reason": "anode effect, 32 V",
                "since": self._t0 + timedelta(seconds=t),
            },
            {
                "id": "sh-2-003",
                "asset": "cell:2-003",
                "state": "cleared",
                "severity": "low",
                "reason": "superheat above 14 °C",
                "since": self._t0,
            },
        ]
        return {
            "as_of": self._t0 + timedelta(seconds=t),
            "kpis": kpis,
            "cells": cells,
            "power": {"units": units, "grid_MW": grid, "potlines": potlines},
            "alarms": alarms,
            "assets": assets,
        }


class GatedRunner:
    """``run_scenario`` that first waits (up to 30 s) for the file ``gate`` to exist: a job that is still
    running while a test looks at it. Picklable, as job runners must be (they run in worker processes)."""

    def __init__(self, gate: str) -> None:
        self.gate = gate

    def __call__(self, toml_text: str) -> dict[str, float]:
        deadline = time.monotonic() + 30
        while not os.path.exists(self.gate) and time.monotonic() < deadline:
            time.sleep(0.02)
        return run_scenario(toml_text)


def stalling_runner(toml_text: str) -> dict[str, float]:
    """A runner that never finishes, as a job reading a FIFO would."""
    time.sleep(3600)
    return run_scenario(toml_text)


def memory_hog(toml_text: str) -> dict[str, float]:
    """A runner that wants 6 GB at once, as a job reading /dev/zero would."""
    blob = bytearray(6 * 1024**3)
    return {"bytes": float(len(blob))}


def vm_size_mb(toml_text: str) -> dict[str, float]:
    """The worker process's own address-space size (to check the limit leaves room for real work)."""
    with open("/proc/self/status", encoding="ascii") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return {"vm_peak_mb": float(fields["VmPeak"].split()[0]) / 1024, "pid": float(os.getpid())}
