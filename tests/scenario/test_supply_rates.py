"""The supply side's cost and CO2 per hour in the time series (issue 11 item 2: report plots include supply, cost
and CO2), checked against the run's own totals, which the runner sums from the plant's interval records by
another path: integrated over the run, the rates must give the KPIs' cost and CO2."""

from __future__ import annotations

import numpy as np
from tests.scenario.conftest import run_text, small_scenario_text

from twin.scenario.report import render_report

# a unit trip for 2 h moves the supply from coal to imports, so both rates change within the run
EVENTS = '[[event]]\nkind = "unit_trip"\nat_h = 2.0\nduration_h = 2.0\nunit = "{unit}"\n'


def test_rates_integrate_to_the_runs_cost_and_co2_totals() -> None:
    import tomllib
    from pathlib import Path

    plant = tomllib.loads((Path(__file__).resolve().parents[2] / "models" / "plant_small.toml").read_text())
    units = plant.get("coal_unit") or plant.get("coal_units") or []
    events = EVENTS.format(unit=units[0]["name"]) if units else ""
    results = run_text(small_scenario_text(6.0, events))
    ts = results.timeseries.to_pydict()
    t = np.asarray(ts["time_h"])
    hours = np.diff(np.concatenate([[0.0], t]))
    k = results.kpis
    cost = float(np.sum(np.asarray(ts["power_cost_per_h"]) * hours))
    co2 = float(np.sum(np.asarray(ts["power_co2_t_per_h"]) * hours))
    assert np.isclose(cost, k["energy_cost"], rtol=1e-9, atol=1e-6)
    assert np.isclose(co2, k["coal_co2_t"] + k["grid_co2_t"], rtol=1e-9, atol=1e-9)
    assert co2 > 0.0
    doc = render_report(results)
    assert "Power-side CO2 rate" in doc
    assert "Power cost rate" in doc
