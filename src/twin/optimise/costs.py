"""What a schedule costs: the fuel curve, the tiered price and the evaluation shared by the optimiser's
schedule and the merit-order baseline (so the two are compared on the same model).

Fuel: the plant file's heat rate is linear in load between minimum stable load and capacity
(:func:`twin.plant.power.heat_rate_GJ_per_MWh`), so fuel F(p) = HR(p)·p is a concave quadratic; it is
represented by ``heat_rate_segments`` linear pieces through points of F between p_min and capacity.

Tiered price (China, NDRC 2021 No. 1239): every kWh of the smelter pays σ per step Δ of AC energy intensity
EI above the threshold: cost = σ/Δ·(EI − thr)·E with EI = E/M. Over one horizon it is linearised around a
reference intensity EI_ref (the merit-order baseline's): cost ≈ max(0, σ/Δ·EI_ref·(E − thr·M)) (on all
energy, or on the grid import's share where the rule spares captive power).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twin.params import Component
from twin.plant.power import heat_rate_GJ_per_MWh


@dataclass(frozen=True)
class FuelCurve:
    """Piecewise-linear fuel of one unit when on: F = f0 + Σ slope_s·q_s, 0 ≤ q_s ≤ length_s (GJ/h, MW)."""

    p_min_MW: float
    f0_GJ_per_h: float
    lengths_MW: tuple[float, ...]
    slopes_GJ_per_MWh: tuple[float, ...]

    @property
    def concave(self) -> bool:
        return any(b < a - 1e-12 for a, b in zip(self.slopes_GJ_per_MWh, self.slopes_GJ_per_MWh[1:], strict=False))

    def fuel_GJ_per_h(self, p_MW: float) -> float:
        """Fuel at output ``p_MW`` (0 when off)."""
        if p_MW <= 1e-9:
            return 0.0
        rest, fuel = max(p_MW - self.p_min_MW, 0.0), self.f0_GJ_per_h
        for length, slope in zip(self.lengths_MW, self.slopes_GJ_per_MWh, strict=True):
            take = min(rest, length)
            fuel += slope * take
            rest -= take
        return fuel


def fuel_curve(unit: Component, segments: int) -> FuelCurve:
    """The plant file's fuel curve of ``unit`` in ``segments`` equal pieces."""
    cap = unit["capacity_MW"]
    p_min = unit["min_stable_fraction"] * cap
    points = np.linspace(p_min, cap, segments + 1)
    fuel = [heat_rate_GJ_per_MWh(unit, p) * p for p in points]
    lengths = tuple(float(b - a) for a, b in itertools.pairwise(points))
    slopes = tuple(float((fb - fa) / max(b - a, 1e-9)) for a, b, fa, fb in
                   zip(points, points[1:], fuel, fuel[1:], strict=False))
    return FuelCurve(float(p_min), float(fuel[0]), lengths, slopes)


@dataclass(frozen=True)
class Tier:
    """The linearised tiered surcharge (module docstring): cost = max(0, k·(E_MWh − thr·M_t)) USD."""

    k_USD_per_MWh: float
    threshold_MWh_per_t: float


def tier_from(tariff: Component, reference_MWh_per_t: float, applied_share: float) -> Tier:
    """The tier's slope at a reference intensity; ``applied_share`` of the energy pays it (1 for all energy)."""
    per_kWh_per_kWh_t = tariff["tier_surcharge_CNY_per_kWh"] / tariff["tier_step_kWh_per_t"] * tariff["usd_per_cny"]
    # USD = per_kWh_per_kWh_t · (EI_kWh_t − thr) · E_kWh = per_kWh_per_kWh_t · EI_ref_kWh_t · 1e3 · (E_MWh − thr·M)
    k = per_kWh_per_kWh_t * reference_MWh_per_t * 1e3 * 1e3 * applied_share
    return Tier(k, tariff["tier_threshold_kWh_per_t"] / 1e3)


@dataclass(frozen=True)
class Costs:
    """A schedule's cost and totals on the optimiser's model (USD, MWh, t)."""

    fuel: float
    startup: float
    import_: float
    export_revenue: float
    co2: float
    tier_surcharge: float
    energy_MWh: float
    production_t: float
    coal_co2_t: float
    import_MWh: float
    renewables_MWh: float
    coal_MWh: float

    @property
    def total(self) -> float:
        return self.fuel + self.startup + self.import_ - self.export_revenue + self.co2 + self.tier_surcharge

    @property
    def kWh_per_t(self) -> float:
        return 1e3 * self.energy_MWh / max(self.production_t, 1e-12)

    def as_dict(self) -> dict[str, float]:
        return {"total": self.total, "fuel": self.fuel, "startup": self.startup, "import": self.import_,
                "export_revenue": self.export_revenue, "co2": self.co2, "tier_surcharge": self.tier_surcharge,
                "energy_MWh": self.energy_MWh, "production_t": self.production_t, "kWh_per_t": self.kWh_per_t,
                "coal_co2_t": self.coal_co2_t, "import_MWh": self.import_MWh, "renewables_MWh": self.renewables_MWh,
                "coal_MWh": self.coal_MWh}


def evaluate(*, units: Sequence[Component], curves: Sequence[FuelCurve], coal_MW: np.ndarray, startups: np.ndarray,
             startup_costs: Sequence[float], import_MW: np.ndarray, export_MW: np.ndarray, renewables_MW: np.ndarray,
             demand_MW: np.ndarray, production_t: float, tariff_per_MWh: np.ndarray, export_fraction: float,
             co2_price: float, tier: Tier, dt_h: float) -> Costs:
    """The cost of one schedule (arrays: unit × step, or per step)."""
    fuel = co2_t = fuel_cost = 0.0
    for g, (unit, curve) in enumerate(zip(units, curves, strict=True)):
        gj = sum(curve.fuel_GJ_per_h(float(p)) for p in coal_MW[g]) * dt_h
        fuel += gj
        fuel_cost += gj * unit["fuel_price_per_GJ"]
        co2_t += gj * unit["co2_t_per_TJ"] / 1000.0
    energy = float(np.sum(demand_MW) * dt_h)
    surcharge = max(0.0, tier.k_USD_per_MWh * (energy - tier.threshold_MWh_per_t * production_t))
    return Costs(
        fuel=fuel_cost,
        startup=float(sum(c * float(np.sum(s)) for c, s in zip(startup_costs, startups, strict=True))),
        import_=float(np.sum(import_MW * tariff_per_MWh) * dt_h),
        export_revenue=float(np.sum(export_MW * tariff_per_MWh) * export_fraction * dt_h),
        co2=co2_price * co2_t,
        tier_surcharge=surcharge,
        energy_MWh=energy,
        production_t=production_t,
        coal_co2_t=co2_t,
        import_MWh=float(np.sum(import_MW) * dt_h),
        renewables_MWh=float(np.sum(renewables_MW) * dt_h),
        coal_MWh=float(np.sum(coal_MW) * dt_h),
    )
