"""The kernel's parameter rows are generated from the technology schema (issue 8 item 6)."""

from __future__ import annotations

import numpy as np

from twin.cell import layout as L
from twin.cell.gen_param_rows import DERIVED, render, target
from twin.cell.pack import pack_params
from twin.params import load_technology
from twin.params.schema import technology_schema


def test_generated_rows_are_current() -> None:
    """param_rows.py is what the generator makes from today's schema (run `python -m twin.cell.gen_param_rows`)."""
    assert target().read_text(encoding="utf-8") == render()


def test_every_row_is_filled_once_and_every_kernel_name_is_a_schema_parameter() -> None:
    rows = [row for _, row, _ in L.SCHEMA_ROWS]
    assert len(set(rows)) == len(rows)
    schema = technology_schema()
    assert all(key in schema for key, _, _ in L.SCHEMA_ROWS)
    derived = {getattr(L, name) for name in ("P_ANODE_AREA_CM2", "P_R_TARGET_OHM", "P_SLOW_EVERY")}
    assert not derived & set(rows)
    derived_rows = {getattr(L, name) for name, _ in DERIVED}
    assert set(rows) | derived_rows == set(range(L.N_PARAM))


def test_packed_values_follow_the_model_file_units() -> None:
    """Spot checks against the model file's own numbers and units (µΩ, kWh/kg, cm/day, MJ/K)."""
    tech = load_technology("models/hal275.toml")
    p = pack_params(tech, slow_every=60)
    assert np.all(np.isfinite(p))
    assert p[L.P_I_NOMINAL_A] == tech.number("cell.line_current_nominal_kA") * 1e3
    assert p[L.P_R_ANODE_OHM] == tech.number("cell.resistance_anode_uohm") * 1e-6
    assert p[L.P_REACTION_J_PER_KG_AL] == tech.number("energy.reaction_energy_kWh_per_kg_al") * 3.6e6
    assert abs(p[L.P_ANODE_CONSUMPTION_CM_PER_S] * 86400.0 - tech.number("anode.anode_consumption_cm_per_day")) < 1e-12
    assert p[L.P_C_ANODE_J_PER_K] == tech.number("thermal.anode_node_heat_capacity_MJ_per_K") * 1e6
    v_target = tech.number("control.target_voltage_V")
    assert abs(p[L.P_R_TARGET_OHM] * p[L.P_I_NOMINAL_A] + tech.number("anode.bemf_V") - v_target) < 1e-12
    assert p[L.P_SLOW_EVERY] == 60.0
