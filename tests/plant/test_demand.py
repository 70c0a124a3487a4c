"""A line's draw at a share of its current, and the share that fits a power (twin.plant.demand).

Checked against the lumped cell voltage written out here (V = E + I·R with R held, Haupin 1998 eq. A1 lumped;
physics.md §1.1), against power_sensitivity's closed form (dP/P ≈ 1.6 dI/I at 4.2 V), and by putting the share
found back into the draws.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.plant.demand import LineDraw, line_draw, share_for_power
from twin.plant.grid_services import power_at_share, power_sensitivity

HAL275 = {"n_cells": 352, "bemf_V": 1.65, "efficiency": 0.975}  # models/hal275.toml anode.bemf_V; plant_reference.toml


def test_a_line_at_its_own_voltage_draws_i_times_v_over_the_rectifier_efficiency() -> None:
    d = line_draw(current_A=300e3, cell_voltage_V=4.2, busbar_ohm=0.0, **HAL275)
    assert d.at(1.0) == pytest.approx(300e3 * 4.2 * 352 / 0.975 / 1e6, rel=1e-12)


@pytest.mark.parametrize("share", [0.3, 0.62, 0.8, 1.0, 1.25])
@pytest.mark.parametrize("cell_V", [3.4, 4.2, 5.1])
def test_the_draw_at_a_share_is_the_lumped_models(share: float, cell_V: float) -> None:
    current, e, busbar = 280e3, HAL275["bemf_V"], 12e-6
    d = line_draw(current_A=current, cell_voltage_V=cell_V, busbar_ohm=busbar, **HAL275)
    resistance = (cell_V - e) / current  # held
    amps = share * current
    expected_W = (amps * HAL275["n_cells"] * (e + amps * resistance) + amps * amps * busbar) / HAL275["efficiency"]
    assert d.at(share) == pytest.approx(expected_W / 1e6, rel=1e-12)
    assert power_at_share(share, e, cell_V) == pytest.approx(amps * (e + amps * resistance) / (current * cell_V))


@pytest.mark.parametrize("power_share", [0.2, 0.55, 0.8, 0.97, 1.0, 1.1])
def test_the_share_found_draws_the_power_asked_for_on_several_lines(power_share: float) -> None:
    rng = np.random.default_rng(7)
    draws = [
        line_draw(current_A=float(rng.uniform(150e3, 320e3)), cell_voltage_V=float(rng.uniform(3.6, 4.8)),
                  busbar_ohm=float(rng.uniform(0.0, 20e-6)), **HAL275)
        for _ in range(3)
    ]
    c = share_for_power(draws, power_share)
    assert sum(d.at(c) for d in draws) == pytest.approx(power_share * sum(d.at(1.0) for d in draws), rel=1e-12)


def test_power_falls_faster_than_current_so_a_shed_cuts_less_current_than_power() -> None:
    d = line_draw(current_A=300e3, cell_voltage_V=4.2, busbar_ohm=0.0, **HAL275)
    c = share_for_power([d], 0.8)  # 20 % less power
    assert 0.8 < c < 0.9  # dP/P ≈ 1.6 dI/I at 4.2 V: ~12.5 % less current
    assert 1.0 - c == pytest.approx(0.2 / power_sensitivity(1.65, 4.2), rel=0.1)


def test_edge_cases() -> None:
    assert share_for_power([], 0.5) == 1.0
    assert share_for_power([LineDraw(0.0, 0.0)], 0.5) == 1.0
    assert share_for_power([LineDraw(100.0, 50.0)], 0.0) == 0.0
    assert share_for_power([LineDraw(100.0, 0.0)], 0.4) == pytest.approx(0.4)
    assert line_draw(current_A=0.0, cell_voltage_V=4.2, busbar_ohm=1e-5, **HAL275) == LineDraw(0.0, 0.0)
    below_emf = line_draw(current_A=1e3, cell_voltage_V=1.0, busbar_ohm=0.0, **HAL275)  # a cell not yet running
    assert below_emf.ohmic_MW == 0.0


def test_a_line_is_priced_at_its_measured_resistance_and_at_its_rise() -> None:
    """PotlineSim.draw: the pots at the resistance an interval measured, V_cell = E + I·R with R held; with the
    interval before, a rise of R is taken to go on for one more interval, a fall is not."""
    from twin.params import load_plant
    from twin.plant import Plant

    plant = Plant.build(load_plant("models/plant_single400.toml"), seed=1, slow_every=60, routine_operations=False)
    line = plant.lines[0]
    n, e = line.potline.n_cells, line.potline.technology.number("anode.bemf_V")
    busbar = line.spec["busbar_resistance_uohm"] * 1e-6
    eff = line.spec["rectifier_efficiency"]

    def line_volts(kA: float, cell_V: float) -> float:
        return n * cell_V + kA * 1e3 * busbar

    def expected_MW(amps: float, r_cell: float) -> float:
        return (amps * n * (e + amps * r_cell) + amps * amps * busbar) / eff / 1e6

    r_now = (4.3 - e) / 250e3
    now = (250.0, line_volts(250.0, 4.3))
    assert line.draw(280e3, now).at(1.0) == pytest.approx(expected_MW(280e3, r_now), rel=1e-12)
    r_before = (4.0 - e) / 240e3
    rising = line.draw(280e3, now, (240.0, line_volts(240.0, 4.0)))
    assert r_before < r_now
    assert rising.at(1.0) == pytest.approx(expected_MW(280e3, r_now + (r_now - r_before)), rel=1e-12)
    falling = line.draw(280e3, now, (240.0, line_volts(240.0, 4.5)))
    assert falling.at(1.0) == pytest.approx(expected_MW(280e3, r_now), rel=1e-12)
    target = line.potline.technology.number("control.target_voltage_V")
    assert line.draw(280e3, None).at(1.0) == pytest.approx(expected_MW(280e3, (target - e) / 280e3), rel=1e-12)
    assert line.draw(280e3, (0.0, 0.0)).at(1.0) == pytest.approx(line.draw(280e3, None).at(1.0), rel=1e-12)
