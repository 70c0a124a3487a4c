"""What-ifs that start "from the live state now" (design.md user 1; API ``{"from_live": true}``).

The live twin's current estimates (ensemble means over the cells) become a scenario: the base scenario's
plant, with the technology's start values overridden by the estimated dissolved alumina, bath temperature
and ACD, and the line current set to the measured one. Values are kept inside the schema's valid ranges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from statistics import fmean
from typing import Any

from twin.params import technology_schema

#: live cell field → technology parameter it starts the what-if from
START_VALUES = {
    "alumina_wtpct": "alumina.dissolved_initial_wtpct",
    "temperature_degC": "bath.temperature_initial_degC",
    "acd_cm": "cell.acd_nominal_cm",
}


def live_scenario_toml(snapshot: Mapping[str, Any], *, plant: str, horizon_h: float, seed: int = 1) -> str:
    """A scenario TOML that starts from the mean live state of ``snapshot`` (the live twin's format)."""
    cells = [c for c in (snapshot.get("cells") or {}).values() if isinstance(c, Mapping)]
    schema = technology_schema()
    overrides: dict[str, float] = {}
    for field, key in START_VALUES.items():
        values = [float(c[field]) for c in cells if _number(c.get(field))]
        if values:
            spec = schema[key]
            overrides[key] = min(max(fmean(values), spec.minimum or 0.0), spec.maximum or 0.0)
    currents = [float(c["line_current_kA"]) for c in cells if _number(c.get("line_current_kA"))]
    lines = [
        "[scenario]",
        'name = "from_live"',
        f'description = "what-if from the live state at {snapshot.get("as_of", "now")}"',
        f'plant = "{plant}"',
        f"horizon_h = {horizon_h}",
        f"seed = {seed}",
        "",
        "[overrides]",
        *(f'"{key}" = {value!r}' for key, value in overrides.items()),
    ]
    if currents:
        lines += ["", "[[event]]", 'kind = "line_current"', "at_h = 0.0", 'potline = "all"',
                  f"value_kA = {min(max(fmean(currents), 0.0), 700.0)!r}"]
    return "\n".join(lines) + "\n"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class LiveWithScenario:
    """The live twin as the API's provider, plus ``scenario_toml()`` for from-live what-ifs and, when a
    power view is attached (:meth:`set_power`), the supply side of the power balance."""

    def __init__(self, live: Any, *, plant: str | Path, horizon_h: float = 24.0) -> None:
        self.live = live
        self.plant = str(plant)
        self.horizon_h = horizon_h
        self.snapshot_blocks = bool(getattr(live, "snapshot_blocks", False))
        self._power: Mapping[str, Any] | None = None
        self._merged: tuple[Any, Any, Mapping[str, Any]] | None = None

    def set_power(self, power: Mapping[str, Any]) -> None:
        """Replace the snapshot's ``power`` entry (prepared by the service's housekeeping thread)."""
        self._power = power

    def snapshot(self) -> Mapping[str, Any]:
        """The live twin's snapshot with the power view; the same object until either changes, so the
        API renders each view once per change (twin.api.snapshots)."""
        snap, power = self.live.snapshot(), self._power
        if power is None:
            return snap
        merged = self._merged
        if merged is None or merged[0] is not snap or merged[1] is not power:
            merged = (snap, power, {**snap, "power": power})
            self._merged = merged
        return merged[2]

    def scenario_toml(self) -> str:
        return live_scenario_toml(self.live.snapshot(), plant=self.plant, horizon_h=self.horizon_h)
