"""The opening of a step, lane by lane: what the cell step does only on the slow cadence or after a change of
current (scalar code; transcendental calls).

On the cadence (a global multiple of ``slow_every`` steps) the thermal network takes the steps since its last
update (:func:`twin.cell.thermal.thermal_update`) and the slow terms are recomputed
(:func:`twin.cell.slow.slow_terms`); after a change of a lane's current its current densities and bubble layer
are; on either, the latched limit flags are checked (:mod:`twin.cell.events`) and the logarithmic
electrochemical terms of the voltage are refreshed (Haupin's breakdown, :mod:`twin.cell.physics`).

Without current (an outage, a cell cut out) the anode reaction and cathode overvoltages are zero, as an
overvoltage is by definition (the electrodes at equilibrium): Haupin's correlations are fits over operating current
densities, and at the kernel's 1-A floor their logarithms gave a cell −0.4 V through an outage (docs/validation.md;
2026-12-08). The anode concentration overvoltage already tends to zero with the current, so a cell without current
reads its reversible voltage, ≈ 1.2 V, near the back EMF a pot shows after its current is cut.

The parts of those terms that move with a lane's current only (the Tafel and cathode current logarithms, the CE's
loss factor, the thermal update's stirring factor) and the anode-area factor are kept until the current changes:
the same operations in the same order on the same values, so the results are bit for bit those of evaluating
every term at every opening, with four of its sixteen transcendental calls (pow, log) gone (issue 12).
"""

from __future__ import annotations

import numpy as np

from twin._numba import jit
from twin.cell import lane_rows as R
from twin.cell import layout as L
from twin.cell import physics as ph
from twin.cell.events import limit_flags, record_limit_crossings
from twin.cell.lane_step import ALUMINA_FLOOR_WTPCT
from twin.cell.slow import slow_terms
from twin.cell.thermal import thermal_update

ACTIVITY_FLOOR = 1e-4  # Haupin's activity polynomial turns negative below r ≈ 0.016 (a very hot, depleted bath)


@jit
def flush_thermal(
    b: np.ndarray, j: int, state: np.ndarray, i: int, p: np.ndarray, pending: int, dt: float, out: np.ndarray
) -> None:
    """Apply the heat losses and ledge of the ``pending`` steps since lane ``j``'s (cell ``i``'s) last update."""
    state[L.S_ALUMINA_DISSOLVED_KG, i] = b[R.M_DISS + j]
    state[L.S_BATH_KG, i] = b[R.M_BATH + j]
    state[L.S_ALF3_KG, i] = b[R.M_ALF3 + j]
    state[L.S_CAF2_KG, i] = b[R.M_CAF2 + j]
    state[L.S_METAL_KG, i] = b[R.M_METAL + j]
    state[L.S_LIQUIDUS_DEGC, i] = b[R.T_LIQ + j]
    current_A = b[R.I_THERMAL + j] / pending  # the span's mean current
    if current_A != b[R.STIR_I + j]:  # the stirring factor moves with the current only: kept until it changes
        b[R.STIR + j] = ph.stirring_factor(current_A, p[L.P_I_NOMINAL_A], p[L.P_STIR_STILL_FRACTION],
                                           p[L.P_STIR_EXPONENT])
        b[R.STIR_I + j] = current_A
    enthalpy, e_top, e_side_b, e_side_m, e_bottom, e_hx = thermal_update(
        state, i, p, b[R.ENTHALPY + j], b[R.STIR + j], pending * dt, b[R.AE_ANODE + j], out
    )
    b[R.ENTHALPY + j] = enthalpy
    b[R.T + j] = state[L.S_TEMP_DEGC, i]
    b[R.LOSS_W + j] = state[L.S_LIQUIDS_LOSS_W, i]
    b[R.M_DISS + j] = state[L.S_ALUMINA_DISSOLVED_KG, i]
    b[R.M_BATH + j] = state[L.S_BATH_KG, i]
    b[R.M_ALF3 + j] = state[L.S_ALF3_KG, i]
    b[R.M_CAF2 + j] = state[L.S_CAF2_KG, i]
    b[R.A_TOP + j] += e_top
    b[R.A_BOTTOM + j] += e_bottom
    b[R.A_SIDE_B + j] += e_side_b
    b[R.A_SIDE_M + j] += e_side_m
    b[R.A_HX + j] += e_hx
    b[R.AE_ANODE + j] = 0.0
    b[R.I_THERMAL + j] = 0.0


@jit
def open_step(
    b: np.ndarray, state: np.ndarray, p: np.ndarray, out: np.ndarray, events: np.ndarray, n_events: int,
    start: int, nb: int, k: int, line_A: float, cadence: bool, pending: int, dt: float, gain_decay: float,
    stop_mask: int, record: bool,
) -> tuple[int, int]:
    """Open step ``k`` for lanes ``0 … nb−1`` (cells ``start + j``); return (n_events, the lane whose stopping
    limit crossing ends the block before this step, or −1). Lanes after that lane are left unopened."""
    conduct_area = p[L.P_FANNING] * p[L.P_ANODE_AREA_CM2]
    area_factor = ph.anode_area_factor(p[L.P_SINGLE_ANODE_AREA_CM2])
    cathode_area = p[L.P_CATHODE_AREA_CM2]
    bath_nominal = p[L.P_BATH_NOMINAL_KG]
    for j in range(nb):
        i = start + j
        I = line_A * b[R.IN_LINE + j]
        refresh = cadence
        if cadence:
            if pending > 0:
                flush_thermal(b, j, state, i, p, pending, dt, out)
            kappa, t_liq, c_sat, ratio, ce = slow_terms(
                b[R.T + j], b[R.M_BATH + j], b[R.M_DISS + j], b[R.M_ALF3 + j], b[R.M_CAF2 + j], p
            )
            b[R.KAPPA + j] = kappa
            b[R.T_LIQ + j] = t_liq
            b[R.C_SAT + j] = c_sat
            b[R.RATIO + j] = ratio
            b[R.CE + j] = ce
        if b[R.I_LAST + j] != I:
            i_a = max(I, 1.0) / conduct_area
            b[R.I_A + j] = i_a
            b[R.I_C + j] = max(I, 1.0) / cathode_area
            b[R.D_B + j] = ph.bubble_thickness(i_a)
            b[R.INV_I + j] = 1.0 / max(I, 1.0)
            b[R.TAFEL_I + j] = ph.tafel_current_term(i_a)
            b[R.CATHODE_I + j] = ph.cathode_current_term(b[R.I_C + j])
            b[R.CE_LOSS_I + j] = ph.ce_loss_factor(
                I, p[L.P_I_NOMINAL_A], p[L.P_STIR_STILL_FRACTION], p[L.P_STIR_EXPONENT]
            )
            b[R.I_LAST + j] = I
            refresh = True
        if not refresh:
            continue
        T = b[R.T + j]
        m_bath = b[R.M_BATH + j]
        m_diss = b[R.M_DISS + j]
        c_sat = b[R.C_SAT + j]
        pct_per_kg = 100.0 / m_bath  # bath mass moves by a few kg per hour: refreshed with the slow terms
        b[R.PCT + j] = pct_per_kg
        # --- limit events on the slow cadence, latched until the condition clears ---
        ledge_b = state[L.S_LEDGE_BATH_CM, i]
        ledge_m = state[L.S_LEDGE_METAL_CM, i]
        frozen_fraction = 1.0 - m_bath / bath_nominal
        alf3_pct = b[R.M_ALF3 + j] * pct_per_kg
        caf2_pct = b[R.M_CAF2 + j] * pct_per_kg
        al2o3_pct = m_diss * pct_per_kg
        flags = int(b[R.FLAGS + j])
        new_flags = limit_flags(T, frozen_fraction, ledge_b, ledge_m, alf3_pct, caf2_pct, al2o3_pct, c_sat, p)
        rising = new_flags & ~flags
        b[R.FLAGS + j] = new_flags
        if rising != 0:
            before = n_events
            n_events, limit_stop = record_limit_crossings(
                events, n_events, rising, k, i, T, frozen_fraction, ledge_b, ledge_m, alf3_pct, caf2_pct, al2o3_pct,
                stop_mask, record,
            )
            b[R.EV_COUNT + j] += n_events - before
            if limit_stop:
                return n_events, j  # the crossing happened at the end of the previous step: stop before this one
        if cadence:  # the decay factor is per slow_every steps: not on refreshes forced by a current change
            b[R.GAIN + j] = 1.0 + (b[R.GAIN + j] - 1.0) * gain_decay
        c_eval = max(al2o3_pct, ALUMINA_FLOOR_WTPCT)
        # --- the log terms of the voltage move with T and alumina, both slow ---
        i_a = b[R.I_A + j]
        ratio = b[R.RATIO + j]
        activity = max(ph.alumina_activity(min(c_eval / c_sat, 1.0)), ACTIVITY_FLOOR)
        t_ec = max(T, ph.MOLTEN_BATH_MIN_DEGC)  # a frozen-out cell's restart (physics.py)
        b[R.E_REV + j] = ph.reversible_voltage(t_ec, activity)
        i_crit = ph.critical_current_density_of(t_ec, c_eval, area_factor)
        b[R.ETA_CONC + j] = ph.anode_concentration_overvoltage(t_ec, i_a, i_crit)
        if I > 0.0:
            b[R.ETA_SURF + j] = ph.anode_surface_overvoltage_of(t_ec, b[R.TAFEL_I + j], c_eval)
            b[R.ETA_CATH + j] = ph.cathode_overvoltage_of(t_ec, b[R.CATHODE_I + j], ratio)
        else:  # no current, no overvoltage: Haupin's fits at the 1-A floor gave a cell -0.4 V (module docstring)
            b[R.ETA_SURF + j] = 0.0
            b[R.ETA_CATH + j] = 0.0
        b[R.G + j] = 1.0 / (b[R.KAPPA + j] * conduct_area)
        b[R.PHI_BASE + j] = ph.bubble_coverage_base(i_a, ratio)
        ce_at_current = ph.current_efficiency_of(b[R.CE + j], b[R.CE_LOSS_I + j])  # CE moves on the slow cadence,
        # its loss factor with the current only
        b[R.CE_I + j] = ce_at_current
        b[R.E_PROC + j] = ph.process_energy_per_kg_al(
            ce_at_current, p[L.P_REACTION_J_PER_KG_AL], p[L.P_BACK_REACTION_J_PER_KG_AL]
        )
        b[R.E_CARBON + j] = ph.carbon_heating_per_kg_al(ce_at_current, T, state[L.S_ANODE_TEMP_DEGC, i])
    return n_events, -1
