"""Replay a schedule in the full twin: the plant (SimPy, potroom control loops, routine operations, the
numba cells) runs with each potline's current and exchanger duty imposed step by step, and the twin's own
measurements decide whether the schedule holds.

Imposing the schedule uses the plant's named state changes (:meth:`twin.plant.Plant.change` closes the
running interval, then the line setpoint and :meth:`twin.cell.Potline.set_hx_duty` are applied). With duties
scheduled, the plant's own exchanger controller is switched off so it does not fight the schedule.

A line's cells can be fewer in the replay than in the plant (``cells``): every cell of a potline carries the
same current, so a few cells show what all do; powers, energy and metal are scaled back to the full line
(busbar and rectifier ceiling scaled with the cell count). The units follow their scheduled outputs and the
grid tie takes what the cells actually drew (the same slack rule as the plant).

Limits checked per dispatch interval: the cells' mean superheat against the schedule's minimum (cell-to-cell
noise is the pot control's job), each cell's ledge against the technology's ledge_min/ledge_max, each cell's
bath temperature against bath_temp_max, and each line's anode-effect rate over the run.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from twin.optimise.costs import Costs, Tier, evaluate
from twin.optimise.inputs import Inputs
from twin.optimise.milp import Schedule
from twin.optimise.problem import HOUR_S, LineData, UnitData
from twin.params import PlantSpec
from twin.plant import Plant
from twin.plant.control import Controls


@dataclass(frozen=True)
class Violation:
    """One limit the replay crossed (the worst value on that line)."""

    line: str
    limit: str  # superheat, ledge_min, ledge_max, bath_temp, ae_rate
    value: float
    bound: float
    time_h: float

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "limit": self.limit, "value": self.value, "bound": self.bound,
                "time_h": self.time_h}


@dataclass
class _Track:
    times_h: list[float] = field(default_factory=list)
    superheat_mean: list[list[float]] = field(default_factory=list)
    superheat_min: list[list[float]] = field(default_factory=list)
    ledge_min: list[list[float]] = field(default_factory=list)
    ledge_max: list[list[float]] = field(default_factory=list)
    temp_max: list[list[float]] = field(default_factory=list)
    duty_kW: list[list[float]] = field(default_factory=list)
    ledge_mean: list[list[float]] = field(default_factory=list)
    temp_mean: list[list[float]] = field(default_factory=list)

    def hook(self, plant: Plant) -> None:
        self.times_h.append(plant.env.now / HOUR_S)
        rows: tuple[list[float], ...] = ([], [], [], [], [], [], [], [])
        for line in plant.lines:
            pot = line.potline
            sh = pot.values("superheat_K")
            lb, lm = pot.values("ledge_bath_cm"), pot.values("ledge_metal_cm")
            rows[0].append(float(sh.mean()))
            rows[1].append(float(sh.min()))
            rows[2].append(float(np.minimum(lb, lm).min()))
            rows[3].append(float(np.maximum(lb, lm).max()))
            rows[4].append(float(pot.values("temperature_degC").max()))
            rows[5].append(float(pot.values("q_hx_W").mean()) / 1e3)
            rows[6].append(float((0.5 * (lb + lm)).mean()))
            rows[7].append(float(pot.values("temperature_degC").mean()))
        for store, row in zip((self.superheat_mean, self.superheat_min, self.ledge_min, self.ledge_max,
                               self.temp_max, self.duty_kW, self.ledge_mean, self.temp_mean), rows, strict=True):
            store.append(row)


@dataclass(frozen=True)
class Replay:
    """What the twin did under a schedule."""

    demand_MW: np.ndarray
    superheat_mean_K: np.ndarray  # line × interval
    ledge_min_cm: np.ndarray
    ledge_max_cm: np.ndarray
    temp_max_degC: np.ndarray
    ledge_mean_cm: np.ndarray  # line × interval, the mean of the bath and metal levels over the cells
    temp_mean_degC: np.ndarray
    production_t: float
    ae_per_cell_day: tuple[float, ...]
    ae_minutes: tuple[float, ...]  # mean AE duration per line (min)
    violations: tuple[Violation, ...]
    margins: Any  # per line: distance to each limit at its worst (positive = inside)
    costs: Costs
    shortfall_MWh: float
    run_s: float


def small_plant(plant: PlantSpec, cells: int) -> tuple[PlantSpec, tuple[float, ...]]:
    """The plant with at most ``cells`` cells per line, and each line's scale back to its full size."""
    lines, scales = [], []
    for line in plant.potlines:
        n = min(cells, line["cells"])
        scale = line["cells"] / n
        values = dict(line.values)
        values["cells"] = n
        values["busbar_resistance_uohm"] = line["busbar_resistance_uohm"] / scale
        values["rectifier_voltage_max_V"] = line["rectifier_voltage_max_V"] / scale
        lines.append(replace(line, values=MappingProxyType(values)))
        scales.append(scale)
    return replace(plant, potlines=tuple(lines)), tuple(scales)


def replay(inputs: Inputs, schedule: Schedule, lines: tuple[LineData, ...], units: tuple[UnitData, ...], tier: Tier,
           *, cells: int = 4, seed: int = 1, impose_duty: bool = True, slow_every: int = 30,
           ae_floor: tuple[float, ...] | None = None) -> Replay:
    """Run ``schedule`` in the twin (module docstring) and measure it. ``ae_floor`` (per line, AE/cell-day) raises
    each line's AE-rate limit to that rate: the merit order's own rate on the same seed."""
    t0 = time.perf_counter()
    spec, scales = small_plant(inputs.plant, cells)
    dt_s = schedule.dt_h * HOUR_S
    steps = schedule.steps
    plant = Plant.build(spec, seed=seed, dt_s=1.0, slow_every=slow_every, interval_s=dt_s,
                        controls=Controls(heat_exchangers=not impose_duty))
    track = _Track()
    plant.hooks.append(track.hook)

    def impose() -> Generator[Any, Any, None]:
        for k in range(steps):
            yield plant.env.timeout(max(k * dt_s - plant.env.now, 0.0))

            def apply(k: int = k) -> None:
                for n, line in enumerate(plant.lines):
                    line.setpoint_kA = float(schedule.current_kA[n, k])
                    if impose_duty:
                        line.potline.set_hx_duty(None, float(schedule.duty_kW[n, k]) * 1e3)

            plant.change(apply)

    plant.env.process(impose())
    plant.env.run(until=steps * dt_s)
    plant.close_interval()
    records = plant.records
    demand = np.zeros(steps)
    aux = inputs.plant.plant["auxiliary_fraction"]
    for rec in records:
        k = min(int(rec.start_s // dt_s), steps - 1)
        ac = sum(a * s for a, s in zip(rec.line_ac_MW, scales, strict=True))
        demand[k] += ac * (1.0 + aux) * (rec.end_s - rec.start_s) / dt_s
    production = sum(float(line.potline.values("al_produced_kg").sum()) * s / 1e3
                     for line, s in zip(plant.lines, scales, strict=True))
    days = steps * schedule.dt_h / 24.0
    ae_rate, ae_min = [], []
    for line in plant.lines:
        onsets = [e for e in line.events if e.kind == "anode_effect_onset"]
        ends = [e for e in line.events if e.kind == "anode_effect_end"]
        ae_rate.append(len(onsets) / (line.potline.n_cells * days))
        ae_min.append(float(np.mean([e.value for e in ends]) / 60.0) if ends else 0.0)
    arr = {name: np.array(getattr(track, name)).T for name in
           ("superheat_mean", "superheat_min", "ledge_min", "ledge_max", "temp_max", "duty_kW", "ledge_mean",
            "temp_mean")}
    times = np.array(track.times_h)
    # the exchangers' fans (an auxiliary load outside the cells), at the duty each interval ran with
    for k_rec, t_h in enumerate(times):
        k = min(round(t_h / schedule.dt_h) - 1, steps - 1)
        if k >= 0:
            demand[k] += sum(float(line.fan_MW(arr["duty_kW"][n][k_rec])) for n, line in enumerate(lines))
    violations, margins = [], {}
    for n, (line, data) in enumerate(zip(plant.lines, lines, strict=True)):
        tech = line.potline.technology
        checks = (
            ("superheat", arr["superheat_mean"][n], data.superheat_min_K, -1),
            ("ledge_min", arr["ledge_min"][n], tech.number("thermal.ledge_min_cm"), -1),
            ("ledge_max", arr["ledge_max"][n], tech.number("thermal.ledge_max_cm"), 1),
            ("bath_temp", arr["temp_max"][n], tech.number("thermal.bath_temp_max_degC"), 1),
        )
        line_margins = {}
        for name, values, bound, sign in checks:
            worst = int(np.argmin(values) if sign < 0 else np.argmax(values))
            value = float(values[worst])
            line_margins[name] = (value - bound) * -sign
            if (sign < 0 and value < bound) or (sign > 0 and value > bound):
                violations.append(Violation(line.name, name, value, bound, float(times[worst])))
        ae_limit = max(data.ae_per_cell_day_max, ae_floor[n] if ae_floor else 0.0)
        line_margins["ae_rate"] = ae_limit - ae_rate[n]
        if ae_rate[n] > ae_limit:
            violations.append(Violation(line.name, "ae_rate", ae_rate[n], ae_limit, steps * schedule.dt_h))
        margins[line.name] = MappingProxyType(line_margins)
    coal = schedule.coal_MW
    net = demand - coal.sum(axis=0) - schedule.renewables_MW
    imp = np.clip(net, 0.0, inputs.plant.grid["import_max_MW"])
    shortfall = float(np.sum(np.maximum(net - imp, 0.0)) * schedule.dt_h)
    exp = np.clip(-net, 0.0, inputs.plant.grid["export_max_MW"])
    curtailed = np.maximum(-net - exp, 0.0)
    costs = evaluate(units=[{"fuel_price_per_GJ": u.fuel_price, "co2_t_per_TJ": u.co2_t_per_GJ * 1000.0}
                            for u in units], curves=[u.curve for u in units], coal_MW=coal,
                     startups=schedule.startups, startup_costs=[u.startup_cost for u in units], import_MW=imp,
                     export_MW=exp, renewables_MW=schedule.renewables_MW - curtailed, demand_MW=demand,
                     production_t=production, tariff_per_MWh=_tariff(inputs, schedule),
                     export_fraction=inputs.dispatch.tariff["export_price_fraction"],
                     co2_price=inputs.plant.economics["co2_price_per_t"], tier=tier, dt_h=schedule.dt_h)
    return Replay(demand, arr["superheat_mean"], arr["ledge_min"], arr["ledge_max"], arr["temp_max"],
                  arr["ledge_mean"], arr["temp_mean"], production,
                  tuple(ae_rate), tuple(ae_min), tuple(violations), MappingProxyType(margins), costs, shortfall,
                  time.perf_counter() - t0)


def _tariff(inputs: Inputs, schedule: Schedule) -> np.ndarray:
    from twin.optimise.problem import hourly

    return hourly(inputs.dispatch.tariff["time_of_use_per_MWh"], schedule.start_h, schedule.steps, schedule.dt_h)
