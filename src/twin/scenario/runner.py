"""Run a scenario: build the plant, schedule its events, advance it to the horizon, collect results.

The run is a pure function of the scenario and its seed (no global state, no wall clock): the same
inputs give identical results (design.md "Every run is reproducible").
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from twin.kpi import LineTotals, line_kpis, plant_kpis
from twin.kpi.plant_kpis import grid_service_kpis, net_energy_cost
from twin.plant import Plant, PotlineSim
from twin.plant.grid_events import GridLog
from twin.scenario.event_log import scenario_events
from twin.scenario.events import schedule
from twin.scenario.results import Results, table_from_rows
from twin.scenario.spec import Scenario

HOUR_S = 3600.0
#: [C] share of the bath frozen into ledge that marks a cell at freeze risk: a total outage of the HAL275
#: cells freezes 20 % of the bath in 0.5 h, 34 % in 1 h and 48 % in 2.5 h, so half the bath is reached
#: at about the industry's two-hour rule (physics.md §1.9; tests/scenario/test_outage_and_demand_response.py)
FROZEN_BATH_LIMIT = 0.5
Progress = Callable[[float, float], None]  # (simulated hours done, horizon hours)
#: [C] the longest slow-term cadence (dt_s · slow_every, s) and kernel step (s) a run takes without a warning:
#: up to them a day of cells follows the 1-s day within ~1-2 mV (p95 of 1-min means); at a 300-s cadence under
#: control and at steps above 10 s the regulator's decisions start to shift (docs/physics.md §6a)
SLOW_CADENCE_MAX_S = 120.0
STEP_MAX_S = 10.0
#: the cell rows an interval row summarises, in the order _Recorder.after_interval unpacks them
INTERVAL_ROWS = ("superheat_K", "v_cell", "q_hx_W", "temperature_degC", "bath_kg", "alumina_wtpct", "alf3_wtpct",
                 "ledge_bath_cm", "ledge_metal_cm", "r_target_ohm", "ae_count")


@dataclass
class _Recorder:
    """Collects interval rows, hourly cell snapshots and the extremes the KPIs need."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    cell_blocks: list[dict[str, np.ndarray]] = field(default_factory=list)  # one block of columns per line-hour
    line_names: list[str] = field(default_factory=list)  # the potline column's values, by code
    min_superheat: float = float("inf")
    min_bath_fraction: dict[str, np.ndarray] = field(default_factory=dict)  # per line, per cell
    min_ledge: float = float("inf")
    min_line_bath_temp: float = float("inf")  # the lowest line-mean bath temperature at an interval close
    initial_ledge: float = 0.0

    def after_interval(self, plant: Plant) -> None:
        rec = plant.records[-1]
        row: dict[str, Any] = {
            "time_h": rec.end_s / HOUR_S,
            "demand_MW": rec.demand_MW,
            "auxiliary_MW": rec.auxiliary_MW,
            "renewables_MW": rec.renewables_MW,
            "import_MW": rec.import_MW,
            "export_MW": rec.export_MW,
            "shortfall_MW": rec.shortfall_MW,
            "excess_MW": rec.excess_MW,
            "tariff_per_MWh": rec.tariff_per_MWh,
            # the supply side's money and carbon per hour of this interval (their totals are _power_totals')
            "power_cost_per_h": net_energy_cost(rec.fuel_cost, rec.import_cost, rec.export_revenue) / _hours(rec),
            "power_co2_t_per_h": (rec.coal_co2_t + _grid_co2_t(plant, rec.import_MW * _hours(rec))) / _hours(rec),
        }
        for unit, mw in zip(plant.spec.coal_units, rec.coal_MW, strict=True):
            row[f"{unit.name}_MW"] = mw
        for n, line in enumerate(plant.lines):
            pot = line.potline
            # one copy of the line's rows and one numpy call per statistic (bit for bit the per-row reductions):
            # the interval rows of a plant-year were ~35 s of its serial Python on a Zen 3 VM (issue 12)
            block = pot.rows(INTERVAL_ROWS)
            superheat, v_cell, hx, _, bath, _, _, ledge_b, ledge_m, r_target, ae_count = block
            hx /= 1e3
            self.min_ledge = min(self.min_ledge, float(np.minimum(ledge_b, ledge_m).min()))
            fraction = bath / pot.technology.number("cell.bath_mass_kg")
            previous = self.min_bath_fraction.get(line.name)
            self.min_bath_fraction[line.name] = fraction if previous is None else np.minimum(previous, fraction)
            ledge_b[:] = 0.5 * (ledge_b + ledge_m)  # that row now holds the mean ledge
            r_target[:] = pot.voltage_at_nominal(r_target)  # that row now holds the target's voltage
            (superheat_mean, v_cell_mean, hx_mean, temp_mean, bath_mean, alumina_mean, alf3_mean, ledge_mean, _,
             target_mean) = block[:10].mean(axis=1).tolist()
            superheat_min = float(superheat.min())
            self.min_superheat = min(self.min_superheat, superheat_min)
            self.min_line_bath_temp = min(self.min_line_bath_temp, temp_mean)
            prefix = line.name
            row.update(
                {
                    f"{prefix}_current_kA": rec.line_current_kA[n],
                    f"{prefix}_voltage_V": rec.line_voltage_V[n],
                    f"{prefix}_dc_MW": rec.line_dc_MW[n],
                    f"{prefix}_ac_MW": rec.line_ac_MW[n],
                    f"{prefix}_cell_voltage_mean_V": v_cell_mean,
                    f"{prefix}_cell_voltage_max_V": float(v_cell.max()),
                    f"{prefix}_alumina_mean_wtpct": alumina_mean,
                    f"{prefix}_alf3_mean_wtpct": alf3_mean,
                    f"{prefix}_superheat_mean_K": superheat_mean,
                    f"{prefix}_superheat_min_K": superheat_min,
                    f"{prefix}_bath_temp_mean_degC": temp_mean,
                    f"{prefix}_bath_mass_mean_kg": bath_mean,
                    f"{prefix}_ledge_mean_cm": ledge_mean,
                    f"{prefix}_target_voltage_mean_V": target_mean,
                    f"{prefix}_hx_duty_mean_kW": hx_mean,
                    f"{prefix}_hx_duty_max_kW": float(hx.max()),
                    f"{prefix}_anode_effects": float(ae_count.sum()),
                }
            )
        self.rows.append(row)

    def snapshot_cells(self, plant: Plant) -> None:
        """One row per cell of every line at the plant's present time, kept as columns (a plant-year of the
        reference plant is 6.2 M cell-hours: as Python dicts that was ~5 GB, as float64 columns ~0.6 GB)."""
        if not self.line_names:
            self.line_names = [line.name for line in plant.lines]
        for code, line in enumerate(plant.lines):
            pot = line.potline
            n = pot.n_cells
            self.cell_blocks.append(
                {
                    "time_h": np.full(n, plant.env.now / HOUR_S),
                    "potline": np.full(n, code, dtype=np.int32),
                    "cell": np.arange(1, n + 1, dtype=np.int64),
                    "voltage_V": pot.values("v_cell"),
                    "alumina_wtpct": pot.values("alumina_wtpct"),
                    "superheat_K": pot.values("superheat_K"),
                    "bath_temp_degC": pot.values("temperature_degC"),
                    "ledge_cm": 0.5 * (pot.values("ledge_bath_cm") + pot.values("ledge_metal_cm")),
                    "acd_cm": pot.values("acd_cm"),
                    "alf3_wtpct": pot.values("alf3_wtpct"),
                    "bath_kg": pot.values("bath_kg"),
                    "hx_duty_kW": pot.values("q_hx_W") / 1e3,
                }
            )

    def cells_table(self) -> pa.Table:
        """The hourly cell snapshots as one table, rows in snapshot order and, within one, line then cell."""
        if not self.cell_blocks:
            return pa.table({})
        columns = {name: np.concatenate([b[name] for b in self.cell_blocks]) for name in self.cell_blocks[0]}
        names = pa.DictionaryArray.from_arrays(pa.array(columns["potline"]), pa.array(self.line_names, pa.string()))
        table = {name: pa.array(values) for name, values in columns.items()}
        table["potline"] = names.cast(pa.string())
        return pa.table(table)


def build_plant(scenario: Scenario, *, threads: int = 1) -> Plant:
    """The plant of a scenario, with overrides applied and its events scheduled (not yet run).

    ``threads`` > 1 shares the potlines' kernel calls between that many threads at each plant sync (a kernel
    team, :meth:`twin.plant.plant.Plant.sync`); the results are the same."""
    technologies = {
        line.name: line.technology.with_overrides(scenario.overrides, f"{scenario.origin} [overrides]")
        for line in scenario.plant.potlines
    }
    plant = Plant.build(
        scenario.plant,
        seed=scenario.seed,
        dt_s=scenario.dt_s,
        slow_every=scenario.slow_every,
        interval_s=scenario.interval_s,
        technologies=technologies,
        controls=scenario.controls,
        threads=threads,
    )
    for event in scenario.events:
        schedule(plant, event)
    return plant


def run_scenario(scenario: Scenario, progress: Progress | None = None, *, threads: int = 1) -> Results:
    """Run ``scenario`` to its horizon and return its results (``threads``: see :func:`build_plant`)."""
    plant = build_plant(scenario, threads=threads)
    recorder = _Recorder()
    recorder.initial_ledge = _mean_ledge(plant)
    plant.hooks.append(recorder.after_interval)
    plant.env.process(_hourly(plant, recorder, progress, scenario.horizon_h))
    horizon_s = scenario.horizon_h * HOUR_S
    try:
        plant.env.run(until=horizon_s)
        plant.close_interval()
        recorder.snapshot_cells(plant)  # the cells at the horizon (the hourly process stops just before it)
    finally:
        plant.close()
    return _results(scenario, plant, recorder)


def _hourly(
    plant: Plant, recorder: _Recorder, progress: Progress | None, horizon_h: float
) -> Generator[Any, Any, None]:
    """The cells at the end of every whole hour before the horizon. None at the start: the outputs (cell
    voltage, wt %, superheat) exist only after the kernel's first step, and a row of zeros is no measurement."""
    while True:
        yield plant.env.timeout(HOUR_S)
        plant.sync()
        recorder.snapshot_cells(plant)
        if progress is not None:
            progress(plant.env.now / HOUR_S, horizon_h)


def _mean_ledge(plant: Plant) -> float:
    ledges = [
        0.5 * (line.potline.values("ledge_bath_cm") + line.potline.values("ledge_metal_cm")) for line in plant.lines
    ]
    return float(np.concatenate(ledges).mean())


def step_warnings(scenario: Scenario) -> list[str]:
    """A line for a kernel step or slow-term cadence beyond what docs/physics.md §6a measured as safe: a scenario
    may set them (``dt_s`` up to 60 s, ``slow_every`` up to 3600 steps), but its results then carry the scheme's
    own error, which the user should know of (``dt_s = 10`` with the default ``slow_every = 60`` holds the slow
    terms for 600 s)."""
    warnings = []
    cadence_s = scenario.dt_s * scenario.slow_every
    if cadence_s > SLOW_CADENCE_MAX_S + 1e-9:
        keep = max(round(60.0 / scenario.dt_s), 1)
        warnings.append(
            f"{scenario.origin}: scenario.slow_every = {scenario.slow_every} at dt_s = {scenario.dt_s:g} holds the "
            f"slow terms (thermal network, liquidus, CE) for {cadence_s:g} s; beyond {SLOW_CADENCE_MAX_S:g} s the "
            "regulator's decisions shift with the cadence, and 1-min cell voltages differ from a 60-s cadence's by "
            f"a beam move (~25 mV) for minutes at a time (docs/physics.md §6a); slow_every = {keep} keeps it near "
            "60 s"
        )
    if scenario.dt_s > STEP_MAX_S + 1e-9:
        warnings.append(
            f"{scenario.origin}: scenario.dt_s = {scenario.dt_s:g} s is coarser than {STEP_MAX_S:g} s; the "
            "regulator's decisions start to fall a check later (docs/physics.md §6a)"
        )
    return warnings


def range_warnings(plant: Plant) -> list[str]:
    """One line per potline whose cells left the fitted range of the bath correlations (the kernel's
    ``liquidus_out_of_range`` event, twin.cell.chemistry): the results then rest on the range's edge values."""
    warnings = []
    for line in plant.lines:
        out = [e for e in line.events if e.kind == "liquidus_out_of_range"]
        if out:
            first = min(out, key=lambda e: e.time_s)
            warnings.append(
                f"{line.name}: {len({e.cell for e in out})} cells left the fitted range of Solheim's liquidus "
                f"(AlF3, CaF2 <= 20 wt %, alumina up to saturation), first cell {first.cell + 1} at "
                f"{first.time_s / HOUR_S:.1f} h ({first.value:.1f} wt %); their liquidus and bath properties are "
                "held at the range's edge there, not extrapolated"
            )
    return warnings


def _line_totals(line: PotlineSim, plant: Plant, recorder: _Recorder) -> LineTotals:
    """Totals of one line. A cell is at freeze risk when more than FROZEN_BATH_LIMIT of its bath froze or
    its line was without current longer than the plant's ``freeze_risk_hours`` (industry rule, physics.md
    §1.9); a cell is undercooled when its kernel raised freeze_risk (frozen_bath_max_fraction)."""
    tech = line.potline.technology
    ac_mwh = sum((r.end_s - r.start_s) / HOUR_S * r.line_ac_MW[plant.lines.index(line)] for r in plant.records)
    undercooled = {e.cell for e in line.events if e.kind == "freeze_risk"}
    fraction = recorder.min_bath_fraction.get(line.name, np.ones(line.potline.n_cells))
    freeze_cells = set(np.flatnonzero(fraction < 1.0 - FROZEN_BATH_LIMIT).tolist())
    if any(hours >= plant.spec.plant["freeze_risk_hours"] for hours in line.outages_h):
        freeze_cells = set(range(line.potline.n_cells))
    return LineTotals(
        line.name,
        line.potline.n_cells,
        line.potline.snapshot().totals,
        ac_mwh,
        line.energy_busbar_J,
        line.alf3_added_kg,
        line.metal_tapped_kg,
        line.taps,
        line.anode_changes,
        tech.number("emissions.cf4_slope_kg_per_t_per_aemin"),
        tech.number("emissions.c2f6_to_cf4_ratio"),
        str(tech["emissions.gwp_set"]),
        tuple(line.outages_h),
        len(freeze_cells),
        len(undercooled),
        line.hx_max_kW,
        line.bath_added_kg,
        line.bath_tapped_kg,
        line.protective_actions,
    )


def _hours(rec: Any) -> float:
    return max((rec.end_s - rec.start_s) / HOUR_S, 1e-12)


def _grid_co2_t(plant: Plant, import_MWh: float) -> float:
    """CO2 of imported electricity (t): energy × the grid's emission factor from the plant file."""
    return import_MWh * plant.spec.grid["co2_t_per_MWh"]


def _power_totals(plant: Plant) -> dict[str, float]:
    recs = plant.records
    hours = [(r.end_s - r.start_s) / HOUR_S for r in recs]
    total_h = max(sum(hours), 1e-9)
    return {
        "potline_energy_MWh": sum(h * r.demand_MW for h, r in zip(hours, recs, strict=True)),
        "mean_power_MW": sum(h * r.demand_MW for h, r in zip(hours, recs, strict=True)) / total_h,
        "max_power_MW": max((r.demand_MW for r in recs), default=0.0),
        "coal_co2_t": sum(r.coal_co2_t for r in recs),
        "grid_co2_t": _grid_co2_t(plant, sum(h * r.import_MW for h, r in zip(hours, recs, strict=True))),
        "coal_t": sum(r.coal_t for r in recs),
        "import_MWh": sum(h * r.import_MW for h, r in zip(hours, recs, strict=True)),
        "export_MWh": sum(h * r.export_MW for h, r in zip(hours, recs, strict=True)),
        "shortfall_MWh": sum(h * r.shortfall_MW for h, r in zip(hours, recs, strict=True)),
        "excess_MWh": sum(h * r.excess_MW for h, r in zip(hours, recs, strict=True)),
        "fuel_cost": sum(r.fuel_cost for r in recs),
        "import_cost": sum(r.import_cost for r in recs),
        "export_revenue": sum(r.export_revenue for r in recs),
    }


def _results(scenario: Scenario, plant: Plant, recorder: _Recorder) -> Results:
    days = scenario.horizon_h / 24.0
    per_line = {line.name: line_kpis(_line_totals(line, plant, recorder), days) for line in plant.lines}
    liquid = [fraction.min() for fraction in recorder.min_bath_fraction.values()]
    extremes = {
        "min_superheat_K": recorder.min_superheat,
        "min_ledge_cm": recorder.min_ledge,
        "ledge_change_cm": _mean_ledge(plant) - recorder.initial_ledge,
        "min_line_bath_temp_degC": recorder.min_line_bath_temp,
        # the largest shortfall of a pot's liquid bath below its nominal mass, in % (frozen into ledge, tapped or not
        # yet made up; the freeze-risk rule reads 50 %), at any interval close; 0 while every pot is above nominal
        "max_bath_deficit_pct": 100.0 * max(1.0 - float(min(liquid)), 0.0) if liquid else 0.0,
    }
    kpis = plant_kpis(per_line, _power_totals(plant), plant.spec.economics.values, extremes)
    grid_log = GridLog.find(plant)  # grid services (twin.plant.grid_events), when the scenario had any
    if grid_log is not None:
        kpis.update(grid_service_kpis(*grid_log.summary()))
    events = [
        {"time_h": e.time_s / HOUR_S, "potline": line.name, "cell": e.cell + 1, "kind": e.kind, "value": e.value}
        for line in plant.lines
        for e in line.events
    ]
    meta = {
        "warnings": range_warnings(plant) + step_warnings(scenario),
        "plant": scenario.plant.name,
        "cells": sum(line.potline.n_cells for line in plant.lines),
        "dt_s": scenario.dt_s,
        "slow_every": scenario.slow_every,
        "events": [e.kind for e in scenario.events],
        "scenario_events": scenario_events(scenario),  # kind, window, target (twin.scenario.event_log)
    }
    return Results(
        scenario.name,
        scenario.seed,
        scenario.horizon_h,
        kpis,
        per_line,
        table_from_rows(recorder.rows),
        recorder.cells_table(),
        table_from_rows(events),
        meta,
    )
