"""Power supply of the plant: captive coal units, grid tie and renewables, dispatched each interval.

Pure functions over plain values: :func:`dispatch` takes the demand and the units' last outputs and
returns the new allocation. The power balance closes exactly every interval:
coal + renewables used + import − export + shortfall = demand.

Merit order (captive-plant practice): renewables are must-take; coal units follow the residual load
within their minimum stable load, capacity and ramp limits, and run up to export when the export price
beats their marginal fuel cost; the grid tie balances what remains within its import and export limits;
what the grid cannot import is a shortfall the potlines must shed; surplus beyond the export limit is
renewable curtailment. Heat rate is linear between minimum stable load and full load (physics.md §5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twin.params import Component


@dataclass(frozen=True)
class Dispatch:
    """One interval's allocation (MW) and what it costs."""

    demand_MW: float
    coal_MW: tuple[float, ...]
    renewables_MW: float
    curtailed_MW: float
    import_MW: float
    export_MW: float
    shortfall_MW: float
    fuel_GJ_per_h: float
    coal_co2_t_per_h: float
    coal_t_per_h: float
    fuel_cost_per_h: float

    @property
    def supply_MW(self) -> float:
        return sum(self.coal_MW) + self.renewables_MW + self.import_MW - self.export_MW


def heat_rate_GJ_per_MWh(unit: Component, output_MW: float) -> float:
    """Net heat rate at ``output_MW``: linear between the minimum-stable and full-load values."""
    p_min = unit["min_stable_fraction"] * unit["capacity_MW"]
    span = max(unit["capacity_MW"] - p_min, 1e-9)
    x = min(max((output_MW - p_min) / span, 0.0), 1.0)
    return unit["heat_rate_min_GJ_per_MWh"] + x * (unit["heat_rate_full_GJ_per_MWh"] - unit["heat_rate_min_GJ_per_MWh"])


def marginal_cost_per_MWh(unit: Component) -> float:
    """Fuel cost of one more MWh at full load."""
    return unit["heat_rate_full_GJ_per_MWh"] * unit["fuel_price_per_GJ"]


def dispatch(
    demand_MW: float,
    units: Sequence[Component],
    previous_MW: Sequence[float],
    available: Sequence[bool],
    interval_s: float,
    renewables_MW: float,
    grid: Component,
    tariff_per_MWh: float,
) -> Dispatch:
    """Allocate ``demand_MW`` for the next interval (see module docstring for the rules)."""
    minutes = interval_s / 60.0
    lows, highs = [], []
    for unit, prev, up in zip(units, previous_MW, available, strict=True):
        if not up:
            lows.append(0.0)
            highs.append(0.0)
            continue
        p_min = unit["min_stable_fraction"] * unit["capacity_MW"]
        ramp = unit["ramp_MW_per_min"] * minutes
        # a unit below its minimum stable load (starting up) must keep rising toward it
        lows.append(max(prev - ramp, min(p_min, prev + ramp)))
        highs.append(min(unit["capacity_MW"], prev + ramp))
    export_price = grid["export_price_fraction"] * tariff_per_MWh
    residual = max(demand_MW - renewables_MW, 0.0)
    targets = []
    remaining = residual
    for unit, low, high in sorted(zip(units, lows, highs, strict=True), key=lambda t: marginal_cost_per_MWh(t[0])):
        want = high if export_price > marginal_cost_per_MWh(unit) else min(max(remaining, low), high)
        targets.append((unit.name, min(max(want, low), high)))
        remaining -= targets[-1][1]
    by_name = dict(targets)
    coal = [by_name[u.name] for u in units]
    balance = sum(coal) + renewables_MW - demand_MW  # > 0 surplus, < 0 deficit
    export = min(max(balance, 0.0), grid["export_max_MW"])
    surplus_left = max(balance, 0.0) - export
    if surplus_left > 0.0:  # back coal down toward minimum load first, then curtail renewables
        for n, low in enumerate(lows):
            cut = min(coal[n] - low, surplus_left)
            coal[n] -= cut
            surplus_left -= cut
    curtailed = min(surplus_left, renewables_MW)
    import_ = min(max(-balance, 0.0), grid["import_max_MW"])
    shortfall = max(-balance, 0.0) - import_
    renew_used = renewables_MW - curtailed
    # close the balance exactly: whatever rounding remains goes to the grid tie
    gap = demand_MW - (sum(coal) + renew_used + import_ - export + shortfall)
    if gap > 0:
        import_ += gap
    else:
        export -= gap
    fuel = sum(heat_rate_GJ_per_MWh(u, p) * p for u, p in zip(units, coal, strict=True))
    co2 = sum(heat_rate_GJ_per_MWh(u, p) * p * u["co2_t_per_TJ"] / 1000.0 for u, p in zip(units, coal, strict=True))
    tonnes = sum(
        heat_rate_GJ_per_MWh(u, p) * p / u["coal_heating_value_GJ_per_t"] for u, p in zip(units, coal, strict=True)
    )
    cost = sum(heat_rate_GJ_per_MWh(u, p) * p * u["fuel_price_per_GJ"] for u, p in zip(units, coal, strict=True))
    return Dispatch(demand_MW, tuple(coal), renew_used, curtailed, import_, export, shortfall, fuel, co2, tonnes, cost)
