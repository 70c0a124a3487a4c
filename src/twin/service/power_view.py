"""The supply side of the live power balance: the plant's power system dispatched for the measured load.

Pot-controller telemetry carries the potlines' load; the captive units and the grid tie are not on the
Sparkplug network in this twin. So the service dispatches the plant file's power system
(:func:`twin.plant.power.dispatch`, the same merit order as the scenario runs) for the measured potline
power, every housekeeping tick, and shows that as the balance: units, renewables and the grid tie as the
slack. It is labelled ``"source": "dispatch model"`` in the snapshot.

The ``power`` entry also carries the power side's assets (``"assets"``: units, renewables, the grid tie and
the rectifier units, :mod:`twin.service.power_assets`) with their plant-file attributes and the dispatch's
values as their live values, stamped with the time of the telemetry they were dispatched for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from twin.params import PlantSpec
from twin.plant.power import dispatch
from twin.service.power_assets import static_assets, with_live


class PowerView:
    """Keeps the units' outputs between ticks so ramp limits apply as in the plant model.

    ``potlines`` are the live twin's potline labels (``"1"`` for Sparkplug group ``potline1``): the n-th
    plant-file potline's rectifiers are assets of the live ``potline:<n>``."""

    def __init__(self, plant: PlantSpec, interval_s: float = 1.0, potlines: Sequence[str] = ()) -> None:
        self.plant = plant
        self.interval_s = interval_s
        self.outputs = [u["capacity_MW"] * u["min_stable_fraction"] for u in plant.coal_units]
        self.assets = static_assets(plant, potlines)

    def idle(self) -> dict[str, Any]:
        """The ``power`` entry before the first dispatch: the assets only, with no live values."""
        return {"assets": list(self.assets), "source": "dispatch model"}

    def update(self, potline_dc_MW: Mapping[str, float], now: datetime | None = None) -> dict[str, Any]:
        """The ``power`` entry of the live snapshot for the potlines' measured DC power (MW) at ``now``."""
        now = now or datetime.now(UTC)
        line_spec = self.plant.potlines[0]
        ac = {k: v / line_spec["rectifier_efficiency"] for k, v in potline_dc_MW.items()}
        demand = sum(ac.values()) * (1.0 + self.plant.plant["auxiliary_fraction"])
        hour = now.astimezone(UTC).hour  # the plant file's tariff and renewables profile are by UTC hour
        renewables = self.plant.renewables["capacity_MW"] * self.plant.renewables["profile"][hour]
        d = dispatch(demand, self.plant.coal_units, self.outputs, [True] * len(self.outputs), self.interval_s,
                     renewables, self.plant.grid, self.plant.grid["tariff_per_MWh"][hour])
        self.outputs = list(d.coal_MW)
        units = {u.name: p for u, p in zip(self.plant.coal_units, d.coal_MW, strict=True)}
        if self.plant.renewables["capacity_MW"] > 0:  # listed at night too (0 MW), as the asset is
            units["renewables"] = d.renewables_MW
        aux = 1.0 + self.plant.plant["auxiliary_fraction"]
        loads = {k: v * aux for k, v in ac.items()}  # each line's AC draw with its share of the auxiliaries
        return {"units": units, "grid_MW": d.import_MW - d.export_MW + d.shortfall_MW, "potlines": loads,
                "source": "dispatch model", "assets": with_live(self.assets, self.plant, d, now)}
