"""One optimisation window: the data the MILP and the merit-order baseline share.

Built from the plant file, its dispatch file and the identified reduced models; the boundary state
(units' outputs, on/off and time in that state, line currents, the reduced thermal states and any
production still owed) is what a rolling horizon carries from one window to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from twin.optimise.costs import FuelCurve, Tier, fuel_curve
from twin.optimise.inputs import Inputs
from twin.optimise.reduced import ReducedLine
from twin.plant.power import dispatch

HOUR_S = 3600.0


@dataclass(frozen=True)
class LineData:
    """One potline as a flexible load (current and exchanger duty bounds, limits and margins)."""

    name: str
    model: ReducedLine
    cells: int
    busbar_uohm: float
    efficiency: float
    I_min_kA: float
    I_max_kA: float
    ramp_kA_per_step: float
    D_min_kW: float
    D_max_kW: float
    production_fraction: float
    superheat_min_K: float
    superheat_margin_K: float
    ledge_margin_cm: float
    temp_margin_K: float
    terminal_cm: float
    ae_per_cell_day_max: float
    fan_fraction: float = 0.0  # exchanger fan power per unit of heat removed

    def fan_MW(self, duty_kW: float | np.ndarray) -> float | np.ndarray:
        """Electric power of the line's exchanger fans at ``duty_kW`` per cell (MW)."""
        return self.cells * self.fan_fraction * duty_kW / 1e3

    def dc_MW(self, current_kA: float | np.ndarray) -> float | np.ndarray:
        """DC power of the whole line (cells + busbar) at ``current_kA``."""
        return self.cells * self.model.cell_power_W(current_kA) / 1e6 + self.busbar_uohm * current_kA**2 / 1e6

    def dc_slope(self, current_kA: float) -> float:
        """d(dc_MW)/dI (MW per kA)."""
        m = self.model
        return self.cells * (m.e_V + 2 * m.r_V * current_kA) / 1e3 + 2 * self.busbar_uohm * current_kA / 1e6

    def metal_t(self, current_kA: np.ndarray, dt_h: float) -> float:
        return float(np.sum(current_kA) * dt_h * self.cells * self.model.metal_t_per_kAh())


@dataclass(frozen=True)
class UnitData:
    """One coal unit's commitment data."""

    name: str
    capacity_MW: float
    p_min_MW: float
    ramp_MW_per_step: float
    min_up_steps: int
    min_down_steps: int
    startup_cost: float
    curve: FuelCurve
    fuel_price: float
    co2_t_per_GJ: float


@dataclass(frozen=True)
class Boundary:
    """The state at a window's start."""

    coal_MW: tuple[float, ...]
    on: tuple[int, ...]
    steps_in_state: tuple[int, ...]  # steps since the unit last started (on) or stopped (off)
    current_kA: tuple[float, ...]
    x: tuple[float, ...]  # reduced ledge deviation per line (cm)
    z: tuple[float, ...]  # reduced bath-temperature deviation per line (K)
    owed_kAh: tuple[float, ...]  # line-current·hours still owed to the production target


@dataclass(frozen=True)
class Window:
    """Everything one MILP solve needs."""

    dt_h: float
    start_h: float
    steps: int
    tariff_per_MWh: np.ndarray
    export_fraction: float
    renewables_MW: np.ndarray
    import_max_MW: float
    export_max_MW: float
    auxiliary_fraction: float
    co2_price: float
    tier: Tier
    units: tuple[UnitData, ...]
    lines: tuple[LineData, ...]
    boundary: Boundary

    def demand_MW(self, currents_kA: np.ndarray, duties_kW: np.ndarray) -> np.ndarray:
        """Plant demand per step for line currents and exchanger duties (line × step): potline AC power plus
        auxiliaries, plus the exchangers' fans."""
        ac = sum(line.dc_MW(currents_kA[n]) / line.efficiency for n, line in enumerate(self.lines))
        fans = sum(line.fan_MW(duties_kW[n]) for n, line in enumerate(self.lines))
        return np.asarray(ac) * (1.0 + self.auxiliary_fraction) + fans


def line_data(inputs: Inputs, models: dict[str, ReducedLine], dt_h: float,
              margins: dict[str, dict[str, float]] | None = None) -> tuple[LineData, ...]:
    """The potlines as flexible loads; ``margins`` (per line) overrides the dispatch file's margins and current
    band (``current_min_fraction``, ``current_max_fraction``: the replay loop's tightened bounds)."""
    out = []
    for spec, disp in zip(inputs.plant.potlines, inputs.dispatch.potlines, strict=True):
        model = models[spec.name]
        nominal = model.I_nom_kA
        cells = spec["cells"]
        extra = (margins or {}).get(spec.name, {})
        lo_frac = extra.get("current_min_fraction", disp["current_min_fraction"])
        hi_frac = extra.get("current_max_fraction", disp["current_max_fraction"])
        rect = spec["rectifier_units"] * spec["rectifier_unit_current_kA"]
        # the rectifiers' voltage ceiling: cells·(e + r·I) + R_bus·I ≤ V_max
        v_limit = (spec["rectifier_voltage_max_V"] - cells * model.e_V) / (cells * model.r_V * 1e-3 * 1e3
                                                                           + spec["busbar_resistance_uohm"] * 1e-3)
        i_max = min(hi_frac * nominal, rect, v_limit)
        i_min = min(lo_frac * nominal, i_max)
        cap = spec["heat_exchanger_capacity_kW"]
        d_lo, d_hi = (0.0, cap) if cap > 0 else (model.D_nom_kW, model.D_nom_kW)
        # the replay loop's tightened duty band: halved toward the design duty once per step asked for
        d_lo = model.D_nom_kW - (model.D_nom_kW - d_lo) * 0.5 ** extra.get("duty_min_step", 0)
        d_hi = model.D_nom_kW + (d_hi - model.D_nom_kW) * 0.5 ** extra.get("duty_max_step", 0)
        out.append(LineData(
            name=spec.name, model=model, cells=cells, busbar_uohm=spec["busbar_resistance_uohm"],
            efficiency=spec["rectifier_efficiency"], I_min_kA=i_min, I_max_kA=i_max,
            ramp_kA_per_step=disp["ramp_fraction_per_h"] * nominal * dt_h, D_min_kW=d_lo, D_max_kW=d_hi,
            production_fraction=disp["production_fraction"], superheat_min_K=disp["superheat_min_K"],
            superheat_margin_K=extra.get("superheat_margin_K", disp["superheat_margin_K"]),
            ledge_margin_cm=extra.get("ledge_margin_cm", disp["ledge_margin_cm"]),
            temp_margin_K=extra.get("temp_margin_K", disp["bath_temp_margin_K"]),
            terminal_cm=disp["terminal_ledge_cm"], ae_per_cell_day_max=disp["ae_per_cell_day_max"],
            fan_fraction=disp["exchanger_fan_fraction"] if cap > 0 else 0.0,
        ))
    return tuple(out)


def unit_data(inputs: Inputs, dt_h: float) -> tuple[UnitData, ...]:
    out = []
    for unit, disp in zip(inputs.plant.coal_units, inputs.dispatch.coal_units, strict=True):
        out.append(UnitData(
            name=unit.name, capacity_MW=unit["capacity_MW"], p_min_MW=unit["min_stable_fraction"] * unit["capacity_MW"],
            ramp_MW_per_step=unit["ramp_MW_per_min"] * 60 * dt_h,
            min_up_steps=int(np.ceil(disp["min_up_h"] / dt_h - 1e-9)),
            min_down_steps=int(np.ceil(disp["min_down_h"] / dt_h - 1e-9)),
            startup_cost=disp["startup_cost"], curve=fuel_curve(unit, disp["heat_rate_segments"]),
            fuel_price=unit["fuel_price_per_GJ"], co2_t_per_GJ=unit["co2_t_per_TJ"] / 1000.0,
        ))
    return tuple(out)


def hourly(values: tuple[float, ...] | np.ndarray, start_h: float, steps: int, dt_h: float) -> np.ndarray:
    """An hour-of-day profile sampled at each step's start."""
    hours = ((start_h + np.arange(steps) * dt_h) // 1).astype(int) % 24
    return np.asarray(values, dtype=float)[hours]


def initial_boundary(inputs: Inputs, lines: tuple[LineData, ...], units: tuple[UnitData, ...], dt_h: float
                     ) -> Boundary:
    """Lines at nominal, units as the plant starts them (Plant.build's first merit-order dispatch)."""
    on = tuple(int(d["initial_on"]) for d in inputs.dispatch.coal_units)
    currents = np.array([[line.model.I_nom_kA] for line in lines])
    demand = float(np.sum([line.dc_MW(c[0]) / line.efficiency for line, c in zip(lines, currents, strict=True)]))
    demand *= 1.0 + inputs.plant.plant["auxiliary_fraction"]
    demand += float(sum(line.fan_MW(line.model.D_nom_kW) for line in lines))
    d = dispatch(demand, inputs.plant.coal_units, [u.capacity_MW if o else 0.0 for u, o in zip(units, on, strict=True)],
                 [bool(o) for o in on], dt_h * HOUR_S,
                 inputs.plant.renewables["capacity_MW"] * inputs.plant.renewables["profile"][0], inputs.plant.grid,
                 inputs.dispatch.tariff["time_of_use_per_MWh"][0])
    big = 10**6
    return Boundary(tuple(float(p) for p in d.coal_MW), on, tuple(big for _ in units),
                    tuple(float(line.model.I_nom_kA) for line in lines), tuple(0.0 for _ in lines),
                    tuple(0.0 for _ in lines), tuple(0.0 for _ in lines))


def window(inputs: Inputs, lines: tuple[LineData, ...], units: tuple[UnitData, ...], tier: Tier, boundary: Boundary,
           start_h: float, steps: int, dt_h: float) -> Window:
    plant = inputs.plant
    return Window(
        dt_h=dt_h, start_h=start_h, steps=steps,
        tariff_per_MWh=hourly(inputs.dispatch.tariff["time_of_use_per_MWh"], start_h, steps, dt_h),
        export_fraction=inputs.dispatch.tariff["export_price_fraction"],
        renewables_MW=plant.renewables["capacity_MW"] * hourly(plant.renewables["profile"], start_h, steps, dt_h),
        import_max_MW=plant.grid["import_max_MW"], export_max_MW=plant.grid["export_max_MW"],
        auxiliary_fraction=plant.plant["auxiliary_fraction"], co2_price=plant.economics["co2_price_per_t"],
        tier=tier, units=units, lines=lines, boundary=boundary,
    )


def with_boundary(w: Window, boundary: Boundary) -> Window:
    return replace(w, boundary=boundary)
