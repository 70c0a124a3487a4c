"""Fair comparisons: runs of other plants or horizons are refused, or put per day when asked."""

from __future__ import annotations

import pyarrow as pa
import pytest

from twin.errors import ScenarioError
from twin.scenario.compare import compare_runs, per_day, sweep_summary
from twin.scenario.report import event_windows, render_report
from twin.scenario.results import Results


def _run(name: str, horizon_h: float, kpis: dict[str, float], plant: str = "small", cells: int = 24) -> Results:
    hours = [horizon_h * i / 4 for i in range(1, 5)]
    ts = pa.table(
        {
            "time_h": hours,
            "demand_MW": [100.0] * 4,
            "renewables_MW": [5.0] * 4,
            "import_MW": [20.0] * 4,
            "export_MW": [0.0] * 4,
            "tariff_per_MWh": [50.0] * 4,
            "G1_MW": [80.0] * 4,
            "S1_current_kA": [300.0] * 4,
            "S1_alumina_mean_wtpct": [2.5] * 4,
            "S1_superheat_mean_K": [9.0] * 4,
            "S1_superheat_min_K": [6.0] * 4,
            "S1_ledge_mean_cm": [8.0] * 4,
        }
    )
    meta = {"plant": plant, "cells": cells}
    return Results(name, 1, horizon_h, kpis, {}, ts, pa.table({}), pa.table({}), meta)


KPIS_48 = {"production_t": 200.0, "current_efficiency_pct": 94.0, "energy_MWh": 4800.0, "min_superheat_K": 6.0}
KPIS_36 = {"production_t": 150.0, "current_efficiency_pct": 94.0, "energy_MWh": 3600.0, "min_superheat_K": 5.0}


def test_other_horizon_is_refused_naming_both() -> None:
    with pytest.raises(ScenarioError, match=r"base ran 48 h, outage ran 36 h.*--per-day"):
        compare_runs(_run("base", 48.0, KPIS_48), _run("outage", 36.0, KPIS_36))


def test_other_plant_is_refused_even_per_day() -> None:
    with pytest.raises(ScenarioError, match="plants differ: base has small, other has reference"):
        compare_runs(_run("base", 48.0, KPIS_48), _run("other", 48.0, KPIS_48, plant="reference"), per_day_totals=True)


def test_per_day_divides_totals_keeps_intensive_drops_extremes() -> None:
    # 200 t in 2 days and 150 t in 1.5 days are both 100 t/day: no difference once put per day.
    deltas, label = compare_runs(_run("base", 48.0, KPIS_48), _run("outage", 36.0, KPIS_36), per_day_totals=True)
    by_name = {d.name: d for d in deltas}
    assert by_name["production_t/day"].a == pytest.approx(100.0)
    assert by_name["production_t/day"].delta == pytest.approx(0.0)
    assert by_name["energy_MWh/day"].b == pytest.approx(2400.0)
    assert by_name["current_efficiency_pct"].a == 94.0
    assert "min_superheat_K" not in by_name  # an extreme over 36 h is no fair match for one over 48 h
    assert "per day" in label


def test_per_day_keeps_ratios_per_cell_day() -> None:
    out = per_day({"anode_effects_per_cell_day": 0.1, "dc_specific_energy_kWh_per_kg": 13.0, "anode_effects": 4}, 48)
    assert out == {"anode_effects_per_cell_day": 0.1, "dc_specific_energy_kWh_per_kg": 13.0, "anode_effects/day": 2.0}


def test_same_horizon_compares_as_is() -> None:
    deltas, label = compare_runs(_run("base", 48.0, KPIS_48), _run("b", 48.0, KPIS_36))
    assert {d.name: d.delta for d in deltas}["production_t"] == pytest.approx(-50.0)
    assert label == "same horizon (48 h)"


def test_report_draws_the_baseline_and_the_supply() -> None:
    doc = render_report(_run("outage", 36.0, KPIS_36), _run("base", 48.0, KPIS_48), per_day=True)
    assert "baseline base (dashed in the plots); KPIs compared per day" in doc
    assert 'alt="Power supply"' in doc
    assert 'alt="Grid import cost rate"' in doc
    assert "production_t/day" in doc
    with pytest.raises(ScenarioError, match="horizons differ"):
        render_report(_run("outage", 36.0, KPIS_36), _run("base", 48.0, KPIS_48))


def test_event_windows_from_the_recorded_series() -> None:
    ts = {
        "time_h": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "S1_current_kA": [300.0, 0.0, 0.0, 300.0, 300.0, 300.0],  # out during the 2nd and 3rd hour
        "shortfall_MW": [0.0, 0.0, 0.0, 0.0, 12.0, 12.0],  # short from 4 h to the end
    }
    assert event_windows(ts) == [(1.0, 3.0, "S1 out"), (4.0, 6.0, "supply shortfall")]


def test_sweep_summary_groups_by_the_swept_choice_and_pools_seeds() -> None:
    columns = {
        "variant": [0, 1, 2, 3, 4, 5],
        "set:overrides.control.feed_strategy": ["tracking", "fixed"] * 3,
        "set:scenario.seed": [1, 1, 2, 2, 3, 3],
        "anode_effects": [12.0, 66.0, 17.0, 79.0, 14.0, 70.0],
    }
    rows = sweep_summary(columns)
    assert rows == [
        ("overrides.control.feed_strategy = tracking", "anode_effects", 3, 12.0, pytest.approx(43 / 3), 17.0),
        ("overrides.control.feed_strategy = fixed", "anode_effects", 3, 66.0, pytest.approx(215 / 3), 79.0),
    ]


def test_sampled_settings_are_pooled_not_grouped() -> None:
    columns = {"set:alumina": [float(i) for i in range(20)], "production_t": [1.0] * 20}
    assert sweep_summary(columns) == [("all", "production_t", 20, 1.0, 1.0, 1.0)]
