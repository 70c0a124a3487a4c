"""Turn a validated :class:`~twin.params.Technology` into the kernel's parameter vector and initial state.

Unit conversions happen here, once, so the kernel works in consistent SI units: each schema parameter
with a kernel row is multiplied by its ``to_kernel`` factor (µΩ → Ω, kWh/kg → J/kg, cm/day → cm/s, ...;
``schema/technology.csv``), and the rows that combine several values are computed below.
"""

from __future__ import annotations

import numpy as np

from twin.cell import layout as L
from twin.cell.slow import refresh_slow_terms_of
from twin.cell.thermal import ledge_mass_kg
from twin.params import Technology

SHELL_START_DEGC = 300.0  # [R] side shell in normal operation 250-350 °C (physics.md §1.6)
BOTTOM_SHELL_START_DEGC = 120.0  # [R] bottom shell ~100-150 °C


def pack_params(tech: Technology, slow_every: int = 1) -> np.ndarray:
    """The kernel's parameter vector for ``tech``; ``slow_every`` sets the slow-term refresh cadence."""
    n = tech.number
    p = np.zeros(L.N_PARAM)
    for key, row, factor in L.SCHEMA_ROWS:  # one row per schema parameter with a kernel name
        p[row] = n(key) * factor
    # rows that combine several schema values (twin.cell.gen_param_rows.DERIVED)
    i_nom = p[L.P_I_NOMINAL_A]
    single = n("cell.anode_length_cm") * n("cell.anode_width_cm")
    p[L.P_ANODE_AREA_CM2] = single * n("cell.anode_count")
    p[L.P_SINGLE_ANODE_AREA_CM2] = single
    p[L.P_SLOPE_THRESHOLD_OHM_PER_S] = n("control.slope_threshold_mV_per_min") * 1e-3 / 60.0 / i_nom
    p[L.P_DEADBAND_OHM] = n("control.deadband_mV") * 1e-3 / i_nom
    p[L.P_R_TARGET_OHM] = (n("control.target_voltage_V") - n("anode.bemf_V")) / i_nom
    p[L.P_NEW_ANODE_J_PER_K] = n("anode.anode_mass_kg") * n("energy.carbon_heat_capacity_J_per_kgK")
    p[L.P_SLOW_EVERY] = float(slow_every)
    return p


def initial_state(tech: Technology, params: np.ndarray, n_cells: int) -> np.ndarray:
    """Every cell at the technology's start-up values; slow terms evaluated; filters at target."""
    n = tech.number
    s = np.zeros((L.N_STATE, n_cells))
    bath = n("cell.bath_mass_kg")
    s[L.S_ALUMINA_DISSOLVED_KG] = n("alumina.dissolved_initial_wtpct") / 100.0 * bath
    s[L.S_ALUMINA_UNDISSOLVED_KG] = n("alumina.undissolved_initial_kg")
    s[L.S_TEMP_DEGC] = n("bath.temperature_initial_degC")
    s[L.S_LEDGE_BATH_CM] = n("thermal.ledge_bath_initial_cm")
    s[L.S_LEDGE_METAL_CM] = n("thermal.ledge_metal_initial_cm")
    s[L.S_BATH_KG] = bath
    s[L.S_ALF3_KG] = n("bath.alf3_excess_wtpct") / 100.0 * bath
    s[L.S_CAF2_KG] = n("bath.caf2_wtpct") / 100.0 * bath
    s[L.S_ANODE_TEMP_DEGC] = n("thermal.anode_node_initial_degC")
    s[L.S_CATHODE_TEMP_DEGC] = n("thermal.cathode_node_initial_degC")
    # shells start at a typical running temperature; they are massless and settle at the first update
    s[L.S_SHELL_BATH_DEGC] = s[L.S_SHELL_METAL_DEGC] = SHELL_START_DEGC
    s[L.S_SHELL_BOTTOM_DEGC] = BOTTOM_SHELL_START_DEGC
    # slowly grown ledge: cryolite with the entrapped share of bath at the start composition
    ledge_kg = ledge_mass_kg(s[L.S_LEDGE_BATH_CM], s[L.S_LEDGE_METAL_CM], params)
    entrapped = n("thermal.ledge_entrapped_bath_fraction") * ledge_kg / (bath + s[L.S_ALUMINA_DISSOLVED_KG])
    s[L.S_LEDGE_ALF3_KG] = entrapped * s[L.S_ALF3_KG]
    s[L.S_LEDGE_CAF2_KG] = entrapped * s[L.S_CAF2_KG]
    s[L.S_LEDGE_ALUMINA_KG] = entrapped * s[L.S_ALUMINA_DISSOLVED_KG]
    s[L.S_METAL_KG] = n("cell.metal_mass_kg")
    s[L.S_ACD_CM] = n("cell.acd_nominal_cm")
    s[L.S_R_FAST_OHM] = params[L.P_R_TARGET_OHM]
    s[L.S_R_SLOW_OHM] = params[L.P_R_TARGET_OHM]
    s[L.S_R_TARGET_OHM] = params[L.P_R_TARGET_OHM]
    s[L.S_NOISE_GAIN] = 1.0
    s[L.S_FEED_STRATEGY] = L.FEED_STRATEGIES[str(tech["control.feed_strategy"])]
    s[L.S_FEED_EFFICIENCY] = 1.0
    s[L.S_IN_LINE] = 1.0
    # anode ages spread evenly over the anode cycle, as in a line at steady state
    s[L.S_ANODE_AGE_S] = (np.arange(n_cells) % 30) / 30.0 * n("anode.anode_cycle_h") * 3600.0
    refresh_slow_terms_of(s, params, np.arange(n_cells, dtype=np.int64))
    return s


def seed_generators(seed: int, n_cells: int) -> np.ndarray:
    """Per-cell xorshift64 states derived from one seed (SplitMix64 expansion via numpy's SeedSequence)."""
    words = np.random.SeedSequence(seed).generate_state(n_cells, dtype=np.uint64)
    return np.where(words == 0, np.uint64(0x9E3779B97F4A7C15), words).astype(np.uint64)
