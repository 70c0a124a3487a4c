"""A behavioural test for every scenario event kind on the small plant (24 HAL275 cells, a few hours).

Each test asserts the physical effect of its event, against the same plant without it where that is
clearer than an absolute value. Expectations: a new setpoint is what the rectifiers deliver; a creep
without the potroom's compensation heats the cells more than with it (physics.md §1.10: beyond ±5 % the
voltage must follow); a curtailment cools; a rectifier trip limits the line to the units left; a unit trip
moves the supply to the grid; an alumina shortfall feeds less; slower dissolution leaves more alumina
undissolved; a cell without feed runs into anode effects; a cut-out cell carries no current and cools;
a resistance target moves the cell voltage.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from tests.scenario.conftest import DATA, run_text, small_scenario_text

from twin.scenario import scenario_from_text
from twin.scenario.runner import build_plant

HOUR_S = 3600.0


def _event(kind: str, at_h: float, **fields) -> str:
    body = "".join(f"{k} = {v!r}\n".replace("'", '"').replace("True", "true").replace("False", "false")
                   for k, v in fields.items())
    return f'[[event]]\nkind = "{kind}"\nat_h = {at_h}\n{body}'


def _series(results, name):
    ts = results.timeseries.to_pydict()
    return np.array(ts["time_h"]), np.array(ts[name])


def _plant(horizon_h: float, events: str, extra: str = ""):
    text = small_scenario_text(horizon_h, events, extra=extra)
    return build_plant(scenario_from_text(text, "test.toml", base_dir=DATA))


def _run_to(plant, hours: float):
    plant.env.run(until=hours * HOUR_S)
    plant.sync()
    return plant.lines[0].potline


@pytest.fixture(scope="module")
def baseline():
    return run_text(small_scenario_text(4.0))


def test_line_current_sets_what_the_rectifiers_deliver(baseline):
    results = run_text(small_scenario_text(4.0, _event("line_current", 1.0, potline="all", value_kA=270.0)))
    t, current = _series(results, "S1_current_kA")
    assert current[t <= 1.0] == pytest.approx(300.0)
    assert current[t > 1.1] == pytest.approx(270.0)
    _, power = _series(results, "S1_dc_MW")
    _, power_base = _series(baseline, "S1_dc_MW")
    assert power[-1] < 0.9 * power_base[-1]


@pytest.fixture(scope="module")
def creep():
    def run(compensation: bool):
        event = _event("amperage_creep", 0.0, potline="all", rate_kA_per_week=42.0, compensation=compensation)
        return run_text(small_scenario_text(30.0, event + "until_h = 23.5\n"))

    return run(True), run(False)


def test_amperage_creep_raises_the_setpoint_every_hour(creep):
    compensated, _ = creep
    t, current = _series(compensated, "S1_current_kA")
    step = 42.0 / 168.0
    assert current[t > 24.1] == pytest.approx(300.0 + 24 * step)  # 24 hourly steps, the first at 0 h
    assert current[(t > 10.1) & (t < 10.95)] == pytest.approx(300.0 + 11 * step)


def test_creep_without_the_potrooms_compensation_heats_the_cells_more(creep):
    compensated, uncompensated = creep
    _, target_c = _series(compensated, "S1_target_voltage_mean_V")
    _, target_u = _series(uncompensated, "S1_target_voltage_mean_V")
    assert target_c[-1] < target_u[-1] - 0.05  # the compensation lowers the voltage target
    _, ledge_c = _series(compensated, "S1_ledge_mean_cm")
    _, ledge_u = _series(uncompensated, "S1_ledge_mean_cm")
    assert ledge_u[-1] < ledge_c[-1] - 0.2  # the extra heat melts ledge


def test_curtailment_cuts_the_current_for_its_duration_and_cools_the_cells(baseline):
    """Without the potroom's compensation the resistance targets stay, the heat released falls with the
    current and the cells cool toward their liquidus."""
    event = _event("curtailment", 1.0, potline="all", fraction=0.2, duration_h=2.0, compensation=False)
    results = run_text(small_scenario_text(4.0, event))
    t, current = _series(results, "S1_current_kA")
    assert current[(t > 1.1) & (t <= 3.0)] == pytest.approx(240.0)
    assert current[t > 3.5] == pytest.approx(300.0)
    t_b, sh_b = _series(baseline, "S1_superheat_mean_K")
    _, sh = _series(results, "S1_superheat_mean_K")
    during = (t > 2.5) & (t <= 3.0)
    assert sh[during].mean() < np.interp(t, t_b, sh_b)[during].mean() - 1.0


def test_curtailment_with_the_potrooms_compensation_raises_the_voltage_and_holds_the_heat(baseline):
    """physics.md §1.10: beyond ~±5 % the heat balance must be offset by the voltage. With compensation (the
    default) the resistance targets rise for the curtailment and come back after it; the bath stays closer to its
    operating point than without, and the frozen-out bath is smaller."""
    runs = {
        flag: run_text(small_scenario_text(
            4.0, _event("curtailment", 1.0, potline="all", fraction=0.2, duration_h=2.0, compensation=flag)))
        for flag in (True, False)
    }
    t, target_c = _series(runs[True], "S1_target_voltage_mean_V")
    _, target_u = _series(runs[False], "S1_target_voltage_mean_V")
    during = (t > 1.5) & (t <= 3.0)
    assert target_c[during].mean() > target_u[during].mean() + 0.2
    assert target_c[t > 3.5].mean() == pytest.approx(target_u[t > 3.5].mean(), abs=0.02)  # restored
    _, bath_c = _series(runs[True], "S1_bath_mass_mean_kg")
    _, bath_u = _series(runs[False], "S1_bath_mass_mean_kg")
    assert bath_c[during].mean() > bath_u[during].mean() + 50.0
    t_b, sh_b = _series(baseline, "S1_superheat_mean_K")
    _, sh_c = _series(runs[True], "S1_superheat_mean_K")
    _, sh_u = _series(runs[False], "S1_superheat_mean_K")
    ref = np.interp(t, t_b, sh_b)[during].mean()
    assert abs(sh_c[during].mean() - ref) < abs(sh_u[during].mean() - ref)


def _plant_file(name: str) -> dict:
    return tomllib.loads((Path(__file__).resolve().parents[2] / "models" / name).read_text())


def test_rectifier_trip_limits_the_current_to_the_units_left():
    results = run_text(small_scenario_text(3.0, _event("rectifier_trip", 1.0, potline="all", units=3, duration_h=1.0)))
    t, current = _series(results, "S1_current_kA")
    assert current[(t > 1.1) & (t <= 2.0)].max() == pytest.approx(2 * 80.0)  # 2 units x 80 kA
    assert current[t > 2.75] == pytest.approx(300.0)  # after the supply has taken the load back


def test_unit_trip_takes_the_coal_unit_off_and_the_grid_carries_the_load():
    results = run_text(small_scenario_text(3.0, _event("unit_trip", 1.0, unit="G1", duration_h=1.0)))
    t, coal = _series(results, "G1_MW")
    _, grid = _series(results, "import_MW")
    during = (t > 1.1) & (t <= 2.0)
    assert coal[during] == pytest.approx(0.0)
    limit = _plant_file("plant_small.toml")["grid"]["import_max_MW"]["value"]
    # the tie takes what the unit gave, up to its limit (12 MW against 7 MW before), and the line is shed to what
    # it carries: within one dispatch interval's lag of the limit, never far past it (until 2026-12-07 taking
    # current back from a deep shed overshot: 18.8 MW drawn through the 12-MW tie, then 12.5 MW on average)
    assert grid[during].mean() > grid[t <= 1.0].mean() + 0.8 * (limit - grid[t <= 1.0].mean())
    assert grid[during].max() < limit + 0.2
    assert coal[-1] > 0.0  # back on at its ramp rate


def test_alumina_shortfall_feeds_less_for_its_duration():
    plant = _plant(4.0, _event("alumina_shortfall", 1.0, potline="all", fraction=0.3, duration_h=1.0))
    pot = _run_to(plant, 1.5)
    assert pot.values("feed_efficiency") == pytest.approx(0.7)
    pot = _run_to(plant, 2.5)
    assert pot.values("feed_efficiency") == pytest.approx(1.0)


def test_alumina_quality_slows_dissolution():
    event = _event("alumina_quality", 0.5, potline="all", dissolution_factor=0.1, duration_h=2.0)
    plant, reference = _plant(3.0, event), _plant(3.0, "")
    pot, ref = _run_to(plant, 2.0), _run_to(reference, 2.0)
    assert pot.parameter("k_diss") == pytest.approx(0.1 * ref.parameter("k_diss"))
    assert pot.values("alumina_undissolved_kg").mean() > 3.0 * ref.values("alumina_undissolved_kg").mean()
    pot = _run_to(plant, 3.0)
    assert pot.parameter("k_diss") == pytest.approx(ref.parameter("k_diss"))


def test_feed_strategy_none_starves_the_chosen_cells_into_anode_effects():
    plant = _plant(3.0, _event("feed_strategy", 0.5, potline="all", strategy="none", cells=[1, 2]))
    shots_then = _run_to(plant, 0.55).values("feed_shots")
    pot = _run_to(plant, 3.0)
    alumina = pot.values("alumina_wtpct")
    assert alumina[:2].max() < alumina[2:].min()
    assert pot.values("ae_count")[:2].min() >= 1.0
    shots = pot.values("feed_shots") - shots_then
    assert shots[:2].max() == pytest.approx(0.0)  # not one shot since the feed was stopped
    assert shots[2:].min() > 0.0


def test_cell_cut_out_carries_no_current_cools_and_comes_back():
    plant = _plant(4.0, _event("cell_cut_out", 1.0, potline="all", cells=[5], duration_h=1.5))
    pot = _run_to(plant, 1.0)
    temp0 = pot.values("temperature_degC")
    pot = _run_to(plant, 2.4)
    assert pot.values("cell_current_A")[4] == 0.0
    assert pot.values("cell_current_A")[0] > 250e3
    cooling = temp0 - pot.values("temperature_degC")
    assert cooling[4] > np.delete(cooling, 4).max() + 3.0
    pot = _run_to(plant, 3.0)
    assert pot.values("cell_current_A")[4] > 250e3


def test_resistance_target_sets_the_voltage_of_the_line():
    up = _event("resistance_target", 1.0, potline="all", voltage_V=4.40)
    delta = _event("resistance_target", 1.0, potline="all", delta_mV=-100.0, cells=[1, 2, 3])
    results = run_text(small_scenario_text(3.0, up, extra="[potroom]\nresistance = false\nprotection = false\n"))
    t, target = _series(results, "S1_target_voltage_mean_V")
    assert target[t > 1.1] == pytest.approx(4.40)
    _, volts = _series(results, "S1_cell_voltage_mean_V")
    assert volts[t > 2.5].mean() > volts[t <= 1.0].mean() + 0.1  # the regulator moved the beams
    plant = _plant(2.0, delta, extra="[potroom]\nresistance = false\nprotection = false\n")
    pot = _run_to(plant, 0.9)
    before = pot.voltage_at_nominal(pot.values("r_target_ohm"))
    pot = _run_to(plant, 1.5)
    after = pot.voltage_at_nominal(pot.values("r_target_ohm"))
    assert after[:3] == pytest.approx(before[:3] - 0.1)
    assert after[3:] == pytest.approx(before[3:])
