"""What-ifs from the live state: the live twin's estimates become a valid scenario (design.md user 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.scenario import run_scenario, scenario_from_text
from twin.service.live_scenario import live_scenario_toml

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _snapshot(alumina: float, temp: float, acd: float, current: float) -> dict:
    cells = {f"1-{n:03d}": {"alumina_wtpct": alumina + 0.1 * n, "temperature_degC": temp, "acd_cm": acd,
                            "line_current_kA": current, "voltage_V": 4.2} for n in range(1, 4)}
    return {"as_of": "2026-11-27T10:00:00Z", "cells": cells}


def test_live_state_becomes_the_start_of_the_what_if():
    text = live_scenario_toml(_snapshot(2.4, 958.0, 4.1, 296.0), plant="../models/plant_small.toml", horizon_h=1.0)
    scenario = scenario_from_text(text, "from-live", base_dir=SCENARIOS)
    assert scenario.overrides["alumina.dissolved_initial_wtpct"] == pytest.approx(2.6)  # mean of 2.5, 2.6, 2.7
    assert scenario.overrides["bath.temperature_initial_degC"] == pytest.approx(958.0)
    assert scenario.overrides["cell.acd_nominal_cm"] == pytest.approx(4.1)
    assert scenario.events[0].kind == "line_current"
    assert scenario.events[0].fields["value_kA"] == pytest.approx(296.0)
    results = run_scenario(scenario)
    ts = results.timeseries.to_pydict()
    assert ts["S1_current_kA"][0] == pytest.approx(296.0)


def test_out_of_range_estimates_are_clamped_to_the_schema():
    text = live_scenario_toml(_snapshot(9.0, 1200.0, 1.0, 300.0), plant="../models/plant_small.toml", horizon_h=1.0)
    scenario = scenario_from_text(text, "from-live", base_dir=SCENARIOS)
    assert scenario.overrides["alumina.dissolved_initial_wtpct"] == 6.0
    assert scenario.overrides["bath.temperature_initial_degC"] == 1010.0
    assert scenario.overrides["cell.acd_nominal_cm"] == 2.0


def test_an_empty_live_state_gives_the_plain_base_scenario():
    text = live_scenario_toml({"cells": {}}, plant="../models/plant_small.toml", horizon_h=1.0)
    scenario = scenario_from_text(text, "from-live", base_dir=SCENARIOS)
    assert scenario.overrides == {}
    assert scenario.events == ()


def test_the_provider_hands_out_one_object_per_change():
    """The API renders each view once per snapshot object (issue 9 item 10): the merged live + power
    snapshot must stay the same object until the live state or the power view changes."""
    from twin.live import LiveTwin
    from twin.params import load_technology
    from twin.service.live_scenario import LiveWithScenario

    live = LiveTwin(load_technology(SCENARIOS.parent / "models/hal275.toml"), {"potline1": 2})
    provider = LiveWithScenario(live, plant="plant_small")
    assert provider.snapshot() is live.snapshot()
    provider.set_power({"potlines": {"1": 450.0}})
    first = provider.snapshot()
    assert first["power"] == {"potlines": {"1": 450.0}}
    assert provider.snapshot() is first
    live.accept([])  # the live twin publishes a new snapshot
    second = provider.snapshot()
    assert second is not first
    assert second["power"] == {"potlines": {"1": 450.0}}
    provider.set_power({"potlines": {"1": 451.0}})
    assert provider.snapshot() is not second
