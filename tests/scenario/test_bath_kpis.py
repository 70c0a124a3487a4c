"""The KPIs that show how far a what-if cools the pots: ``min_line_bath_temp_degC`` (the lowest line-mean bath
temperature at an interval close) and ``max_bath_deficit_pct`` (the largest shortfall of a pot's liquid bath
below its nominal mass). docs/validation.md's review: a curtailment that cooled the bath ~30 K showed nothing of it
in the KPI table.

Checked against what the run recorded by other paths (the hourly cell table, written at the hourly snapshots,
and the interval time series) and against the physics of a 2-h outage on the small plant (24 HAL275 cells).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.scenario.conftest import run_text, small_scenario_text

from twin.params import load_technology
from twin.scenario.compare import compare_runs

OUTAGE = '[[event]]\nkind = "outage"\nat_h = 2.0\nduration_h = 2.0\npotline = "all"\n'
HAL275 = "models/hal275.toml"


@pytest.fixture(scope="module")
def runs():
    return run_text(small_scenario_text(8.0)), run_text(small_scenario_text(8.0, OUTAGE))


def test_the_kpis_agree_with_the_hourly_cell_table(runs) -> None:
    nominal = load_technology(Path(__file__).resolve().parents[2] / HAL275).number("cell.bath_mass_kg")
    for results in runs:
        cells = results.cells.to_pydict()
        # every hourly snapshot is also an interval close, so the KPI's extreme is at least the table's
        deficit_in_table = 100.0 * (1.0 - np.min(cells["bath_kg"]) / nominal)
        assert results.kpis["max_bath_deficit_pct"] >= max(deficit_in_table, 0.0) - 1e-9
        hours = np.asarray(cells["time_h"])
        temps = np.asarray(cells["bath_temp_degC"])
        coldest_hour_mean = min(temps[hours == h].mean() for h in np.unique(hours))
        assert results.kpis["min_line_bath_temp_degC"] <= coldest_hour_mean + 1e-9
        ts = results.timeseries.to_pydict()
        assert results.kpis["min_line_bath_temp_degC"] == pytest.approx(min(ts["S1_bath_temp_mean_degC"]))


def test_an_outage_shows_in_them(runs) -> None:
    baseline, outage = runs
    # two hours without current: the bath cools tens of kelvin and freezes a large part of itself (validation
    # case 3c: 35 % of the bath frozen and −46 K on hal275 alone; Øye & Sørlie: "manageable")
    cooled = baseline.kpis["min_line_bath_temp_degC"] - outage.kpis["min_line_bath_temp_degC"]
    assert 20.0 < cooled < 80.0
    assert outage.kpis["max_bath_deficit_pct"] > baseline.kpis["max_bath_deficit_pct"] + 10.0
    assert outage.kpis["max_bath_deficit_pct"] < 100.0


def test_compare_keeps_them_out_of_per_day_figures(runs) -> None:
    baseline, outage = runs
    per_day = {d.name for d in compare_runs(baseline, outage, per_day_totals=True)[0]}
    assert "min_line_bath_temp_degC" not in per_day
    assert "max_bath_deficit_pct" not in per_day
    assert "production_t/day" in per_day  # the totals are there, per day
    same = {d.name: d for d in compare_runs(baseline, outage)[0]}
    assert same["min_line_bath_temp_degC"].delta < -20.0
