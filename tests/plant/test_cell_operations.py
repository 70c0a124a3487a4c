"""The Potline's named operations (twin.cell.operations): each changes the cells as documented, and only so.

Physical expectations (sources in the operations' docstrings): a tap leaves the metal at its target with
the ACD unchanged; AlF3 raises the excess AlF3 and cools the liquids by its heat content; crushed bath
keeps the composition and cools by sensible + latent heat; bath tapping changes neither composition nor
temperature; a new anode cools the anode node by C_new·(T_a − T_air)/C_a; a cut-out cell carries no current;
exchanger duties are never negative; feed-loss causes and dissolution factors compose as products.
"""

from __future__ import annotations

import numpy as np
import pytest

from twin.cell import Potline
from twin.cell.operations import ALF3_HEAT_J_PER_KG
from twin.errors import SimulationError
from twin.params import load_technology

MODELS = "models/hal275.toml"


@pytest.fixture(scope="module")
def technology():
    return load_technology(MODELS)


@pytest.fixture
def line(technology):
    pot = Potline(technology, n_cells=3, seed=1, slow_every=60, stop_on=())
    pot.advance(600, 300.0)
    return pot


def _liquids_capacity(pot: Potline) -> np.ndarray:
    return pot.values("bath_kg") * pot.parameter("cp_bath") + pot.values("metal_kg") * pot.parameter("cp_metal")


def test_tap_metal_leaves_the_target_and_keeps_the_acd(line):
    line.advance(3600, 300.0)
    metal, acd = line.values("metal_kg"), line.values("acd_cm")
    target = float(metal.min()) - 100.0
    tapped = line.tap_metal(None, target)
    assert tapped == pytest.approx(float((metal - target).sum()))
    assert line.values("metal_kg") == pytest.approx(target)
    assert line.values("acd_cm") == pytest.approx(acd)


def test_add_alf3_raises_excess_alf3_and_cools_the_liquids(line):
    before = {n: line.values(n) for n in ("alf3_kg", "bath_kg", "temperature_degC", "liquidus_degC")}
    c_before = _liquids_capacity(line)
    line.add_alf3(0, 50.0)
    assert line.values("alf3_kg")[0] == pytest.approx(before["alf3_kg"][0] + 50.0)
    assert line.values("bath_kg")[0] == pytest.approx(before["bath_kg"][0] + 50.0)
    # H = C (T - T_ref) less the addition's heat content, at the new masses
    t_ref = 950.0
    expected = t_ref + (c_before[0] * (before["temperature_degC"][0] - t_ref) - 50.0 * ALF3_HEAT_J_PER_KG) / (
        _liquids_capacity(line)[0]
    )
    assert line.values("temperature_degC")[0] == pytest.approx(expected)
    assert line.values("temperature_degC")[0] < before["temperature_degC"][0]
    assert line.values("liquidus_degC")[0] < before["liquidus_degC"][0]  # more acidic bath freezes lower
    assert line.values("alf3_kg")[1:] == pytest.approx(before["alf3_kg"][1:])  # other cells untouched


def test_add_bath_keeps_the_composition_and_pays_sensible_and_latent_heat(line):
    def shares(pot):
        liquid = pot.values("bath_kg") + pot.values("alumina_dissolved_kg")
        return [pot.values(n) / liquid for n in ("alf3_kg", "caf2_kg", "alumina_dissolved_kg")]

    before = shares(line)
    bath, diss, temp = line.values("bath_kg"), line.values("alumina_dissolved_kg"), line.values("temperature_degC")
    added = line.add_bath(1, 200.0)
    assert added == pytest.approx(200.0)
    liquid_gain = line.values("bath_kg")[1] + line.values("alumina_dissolved_kg")[1] - bath[1] - diss[1]
    assert liquid_gain == pytest.approx(200.0)
    for after, prior in zip(shares(line), before, strict=True):
        assert after[1] == pytest.approx(prior[1])
    drop = temp[1] - line.values("temperature_degC")[1]
    heat = 200.0 * (line.parameter("cp_bath") * (950.0 - line.parameter("t_ambient")) + line.parameter("ledge_latent"))
    assert drop == pytest.approx(heat / _liquids_capacity(line)[1], rel=0.05)


def test_tap_bath_changes_neither_composition_nor_temperature(line):
    alf3 = line.values("alf3_kg") / line.values("bath_kg")
    bath, temp = line.values("bath_kg"), line.values("temperature_degC")
    removed = line.tap_bath(2, 150.0)
    assert removed == pytest.approx(150.0)
    assert line.values("bath_kg")[2] < bath[2] - 140.0
    assert (line.values("alf3_kg") / line.values("bath_kg"))[2] == pytest.approx(alf3[2], rel=1e-3)
    assert line.values("temperature_degC")[2] == pytest.approx(temp[2])


def test_a_new_anode_cools_the_anode_node_and_raises_noise(line, technology):
    t_a, age = line.values("anode_temp_degC"), line.values("anode_age_s")
    line.change_anode(0, 3.0)
    c_new, c_a = line.parameter("new_anode_j_per_k"), line.parameter("c_anode_j_per_k")
    expected = t_a[0] - c_new * (t_a[0] - line.parameter("t_ambient")) / c_a
    assert line.values("anode_temp_degC")[0] == pytest.approx(expected)
    assert line.values("noise_gain")[0] >= 3.0
    anodes = technology.number("cell.anode_count")
    assert line.values("anode_age_s")[0] == pytest.approx(age[0] * (anodes - 1) / anodes)
    assert line.values("anode_temp_degC")[1:] == pytest.approx(t_a[1:])


def test_beam_raising_noise_decays_back(line):
    line.raise_noise(1, 2.0)
    assert line.values("noise_gain")[1] >= 2.0
    line.advance(6 * 3600, 300.0)
    assert line.values("noise_gain")[1] < 1.5


def test_a_cut_out_cell_carries_no_current_and_cools(line):
    temp = line.values("temperature_degC")
    line.cut_out([0])
    line.advance(3600, 300.0)
    assert line.values("cell_current_A")[0] == 0.0
    assert line.values("cell_current_A")[1] == pytest.approx(300e3)
    cooled = temp - line.values("temperature_degC")
    assert cooled[0] > cooled[1] + 2.0
    line.cut_in([0])
    line.advance(60, 300.0)
    assert line.values("cell_current_A")[0] == pytest.approx(300e3)


def test_exchanger_duty_is_never_negative(line):
    with pytest.raises(SimulationError, match=r"duty_W = -1000\.0 is invalid"):
        line.set_hx_duty(None, -1000.0)
    line.set_hx_duty(None, 50e3)
    line.advance(900, 300.0)
    assert line.values("q_hx_W") == pytest.approx(50e3, rel=0.02)
    assert line.values("heat_extracted_J").min() > 0.0


def test_feed_loss_causes_compose_and_clear(line):
    line.set_feed_loss([0, 1], "blockage", 0.5)
    line.set_feed_loss(None, "shortfall", 0.1)
    assert line.values("feed_efficiency") == pytest.approx([0.45, 0.45, 0.9])
    line.set_feed_loss(None, "shortfall", 0.0)
    assert line.values("feed_efficiency") == pytest.approx([0.5, 0.5, 1.0])
    line.set_feed_loss([0, 1], "blockage", 0.0)
    assert line.values("feed_efficiency") == pytest.approx(1.0)
    with pytest.raises(SimulationError, match=r"fraction \(blockage\) = 1.5 is invalid; expected a number in \[0, 1\]"):
        line.set_feed_loss(0, "blockage", 1.5)


def test_dissolution_factors_compose_on_the_line(line):
    base = line.parameter("k_diss")
    line.set_dissolution_factor("quality", 0.5)
    line.set_dissolution_factor("cold", 0.5)
    assert line.parameter("k_diss") == pytest.approx(0.25 * base)
    line.set_dissolution_factor("quality", 1.0)
    assert line.parameter("k_diss") == pytest.approx(0.5 * base)
    with pytest.raises(SimulationError, match="factor"):
        line.set_dissolution_factor("quality", 0.0)


def test_resistance_target_and_its_voltage(line):
    ohm = line.resistance_for_voltage(4.3)
    assert line.voltage_at_nominal(ohm) == pytest.approx(4.3)
    line.set_resistance_target(None, ohm)
    assert line.values("r_target_ohm") == pytest.approx(ohm)
    with pytest.raises(SimulationError, match="set_resistance_target: ohm"):
        line.set_resistance_target(None, -1.0)


def test_unknown_names_and_bad_cells_are_refused(line):
    with pytest.raises(SimulationError, match="unknown cell value 'nope'"):
        line.values("nope")
    with pytest.raises(SimulationError, match="unknown kernel parameter"):
        line.parameter("nope")
    with pytest.raises(SimulationError, match=r"cells = \[5\] is invalid; expected indices in \[0, 2\]"):
        line.add_alf3([5], 1.0)
    with pytest.raises(SimulationError, match="strategy = 'sometimes'"):
        line.set_feed_strategy(None, "sometimes")


def test_every_cell_value_has_one_name():
    """Potline.values reads state, outputs and totals by name: no name may be in two tables."""
    from twin.cell import layout as L
    from twin.cell.potline import ROWS

    assert len(ROWS) == len(L.STATE_NAMES) + len(L.OUT_NAMES) + len(L.ACC_NAMES)


def test_value_reads_one_cell_of_every_named_row(line):
    """Potline.value (the potroom's per-pot read) is the cell's entry of Potline.values, for every name."""
    from twin.cell.potline import ROWS

    line.advance(120, 300.0)  # outputs and totals non-zero
    for name in ROWS:
        for cell in range(line.n_cells):
            assert line.value(name, cell) == line.values(name)[cell], name
    with pytest.raises(SimulationError, match="unknown cell value 'nope'"):
        line.value("nope", 0)
    for bad in (3, -1, 1.0, True):
        with pytest.raises(SimulationError, match=r"cell = .* is invalid; expected an integer in \[0, 2\]"):
            line.value("bath_kg", bad)


def _apply_everything(pot: Potline, cells, alf3, bath, tapped_bath) -> None:
    pot.add_alf3(cells, alf3)
    pot.add_bath(cells, bath)
    pot.tap_bath(cells, tapped_bath)
    pot.change_anode(cells, 2.5)
    pot.tap_metal(cells, 8000.0)


def test_an_operation_on_several_cells_is_the_operation_on_each_in_turn(technology):
    """The compiled operations (twin.cell.op_kernels) on a batch of cells change each cell exactly as the same
    operation on that cell alone, and leave the other cells untouched; a cell given twice gets both changes."""
    lines = [Potline(technology, n_cells=3, seed=1, slow_every=60, stop_on=()) for _ in range(3)]
    for pot in lines:
        pot.advance(3600, 300.0)
    batch, alone, twice = lines
    untouched = batch.state[:, 1].copy()
    _apply_everything(batch, [0, 2], np.array([30.0, 45.0]), np.array([120.0, 80.0]), np.array([60.0, 90.0]))
    for cell, alf3, bath, tapped in ((0, 30.0, 120.0, 60.0), (2, 45.0, 80.0, 90.0)):
        _apply_everything(alone, cell, alf3, bath, tapped)
    np.testing.assert_array_equal(batch.state, alone.state)
    np.testing.assert_array_equal(batch.state[:, 1], untouched)
    reference = Potline(technology, n_cells=3, seed=1, slow_every=60, stop_on=())
    reference.advance(3600, 300.0)
    twice.add_alf3([1, 1], np.array([20.0, 30.0]))
    reference.add_alf3(1, 20.0)
    reference.add_alf3(1, 30.0)
    np.testing.assert_array_equal(twice.state, reference.state)
    assert twice.values("alf3_kg")[1] > batch.values("alf3_kg")[1] + 49.0


def test_rows_stacks_copies_of_named_rows(line):
    """Potline.rows (the recorder's one read of a line per interval) is Potline.values of each name, stacked, and
    a copy: writing to it leaves the cells alone."""
    from twin.cell.potline import ROWS

    line.advance(120, 300.0)
    names = tuple(ROWS)
    block = line.rows(names)
    assert block.shape == (len(names), line.n_cells)
    for k, name in enumerate(names):
        np.testing.assert_array_equal(block[k], line.values(name), err_msg=name)
    before = line.values("bath_kg")
    block[names.index("bath_kg")] = -1.0
    np.testing.assert_array_equal(line.values("bath_kg"), before)
    with pytest.raises(SimulationError, match="unknown cell value 'nope'"):
        line.rows(("bath_kg", "nope"))
