"""Slow terms of a cell and its thermal update: the parts of the step that run on the slow cadence.

* :func:`slow_terms` — bath conductivity, liquidus, alumina saturation, bath ratio and current efficiency
  from the temperature and the bath composition (equations and sources in :mod:`twin.cell.physics`);
* :func:`thermal_update` — heat losses and the two Stefan ledge conditions over a span of steps (the energy
  balance of :mod:`twin.cell.kernel`'s module docstring);
* :func:`refresh_slow_terms` — the same slow terms written into a state column (after plant operations).

Energy (Haupin/Entner, physics.md §1.6): the heat released inside the cell is I·V − I²·R_ext; reaction
enthalpy ṁ_Al·e_rx and the heating of alumina are taken out; top and bottom losses are (T − T_amb)/R; side
losses pass through the ledge at bath and metal level. Bath and metal share one temperature, and the state is
updated through the enthalpy H = (m_bath·c_bath + m_metal·c_metal)·(T − T_ref), T_ref = 950 °C: metal forms
and ledge freezes at T_ref (an error below 0.1 % of the reaction enthalpy), so the balance closes to
round-off. Ledge, per level (shen-y21 form, physics.md §1.6):
ρ_L·L_f·A·dδ/dt = (T_liq − T_amb)/(δ/(k_L·A) + R_shell) − (T − T_liq)/R_interface; frozen ledge leaves the
bath (pure cryolite, so excess AlF3 concentrates). A ledge melted to its floor passes the bath's heat through
film, remaining ledge and shell in series.
"""

from __future__ import annotations

import numpy as np

from twin._numba import jit
from twin.cell import layout as L
from twin.cell import physics as ph

LEDGE_FLOOR_CM = 0.05  # a ledge never melts below this (numerical floor; LEDGE_THIN fires long before)


@jit
def slow_terms(
    t_c: float, m_bath: float, m_diss: float, m_alf3: float, params: np.ndarray
) -> tuple[float, float, float, float, float]:
    """(κ, T_liq, C_sat, bath ratio, CE) of a cell from its temperature and bath composition."""
    al2o3 = 100.0 * m_diss / m_bath
    alf3 = 100.0 * m_alf3 / m_bath
    caf2 = params[L.P_CAF2_WTPCT]
    mgf2 = params[L.P_MGF2_WTPCT]
    lif = params[L.P_LIF_WTPCT]
    t_liq = ph.liquidus_temperature(alf3, al2o3, caf2, lif, mgf2)
    return (
        ph.bath_conductivity(t_c, alf3, al2o3, caf2, lif, mgf2),
        t_liq,
        ph.alumina_saturation(t_c, alf3, caf2, lif, mgf2),
        ph.bath_ratio(alf3, al2o3, caf2, lif, mgf2),
        ph.current_efficiency(t_c - t_liq, alf3, lif, params[L.P_DEWING_CONSTANT]),
    )


@jit
def refresh_slow_terms(state: np.ndarray, params: np.ndarray, i: int) -> None:
    """Recompute the cached slow terms of cell ``i`` from its state (used after plant operations)."""
    kappa, t_liq, c_sat, ratio, ce = slow_terms(
        state[L.S_TEMP_DEGC, i],
        state[L.S_BATH_KG, i],
        state[L.S_ALUMINA_DISSOLVED_KG, i],
        state[L.S_ALF3_KG, i],
        params,
    )
    state[L.S_KAPPA_S_PER_CM, i] = kappa
    state[L.S_LIQUIDUS_DEGC, i] = t_liq
    state[L.S_ALUMINA_SAT_WTPCT, i] = c_sat
    state[L.S_BATH_RATIO, i] = ratio
    state[L.S_CE, i] = ce


@jit
def thermal_update(
    enthalpy: float,
    T: float,
    t_liq: float,
    m_bath: float,
    m_metal: float,
    ledge_b: float,
    ledge_m: float,
    span: float,
    p: np.ndarray,
) -> tuple[float, float, float, float, float, float, float, float]:
    """Apply heat losses and ledge freeze/melt over ``span`` seconds from the held temperature ``T``.

    Explicit Euler on the lumped energy balance and the two Stefan conditions (module docstring).
    Returns (enthalpy, T, m_bath, ledge_b, ledge_m, top J, bottom J, side J).
    """
    t_amb = p[L.P_T_AMBIENT]
    latent = p[L.P_LEDGE_LATENT]
    area_b = p[L.P_LEDGE_AREA_BATH_M2]
    area_m = p[L.P_LEDGE_AREA_METAL_M2]
    cm_per_kg_b = 100.0 / (p[L.P_LEDGE_DENSITY] * area_b)
    cm_per_kg_m = 100.0 / (p[L.P_LEDGE_DENSITY] * area_m)
    q_top = (T - t_amb) / p[L.P_R_TOP]
    q_bottom = (T - t_amb) / p[L.P_R_BOTTOM]
    q_out_b = (t_liq - t_amb) / (ledge_b / (100.0 * p[L.P_LEDGE_K] * area_b) + p[L.P_R_SHELL_BATH])
    q_out_m = (t_liq - t_amb) / (ledge_m / (100.0 * p[L.P_LEDGE_K] * area_m) + p[L.P_R_SHELL_METAL])
    frozen_b = span * (q_out_b - (T - t_liq) / p[L.P_R_BATH_LEDGE]) / latent
    frozen_m = span * (q_out_m - (T - t_liq) / p[L.P_R_METAL_LEDGE]) / latent
    # A ledge melted down to its floor can melt no further: the bath then loses heat straight through
    # the side wall, film + remaining ledge + shell in series, with the bath (not the liquidus) on the
    # inner face.
    floor_b = (LEDGE_FLOOR_CM - ledge_b) / cm_per_kg_b
    floor_m = (LEDGE_FLOOR_CM - ledge_m) / cm_per_kg_m
    if frozen_b < floor_b:
        frozen_b = floor_b
        q_out_b = (T - t_amb) / (
            p[L.P_R_BATH_LEDGE] + ledge_b / (100.0 * p[L.P_LEDGE_K] * area_b) + p[L.P_R_SHELL_BATH]
        )
    if frozen_m < floor_m:
        frozen_m = floor_m
        q_out_m = (T - t_amb) / (
            p[L.P_R_METAL_LEDGE] + ledge_m / (100.0 * p[L.P_LEDGE_K] * area_m) + p[L.P_R_SHELL_METAL]
        )
    enthalpy += latent * (frozen_b + frozen_m) - (q_top + q_bottom + q_out_b + q_out_m) * span
    m_bath = m_bath - frozen_b - frozen_m
    T = L.T_REF_DEGC + enthalpy / (m_bath * p[L.P_CP_BATH] + m_metal * p[L.P_CP_METAL])
    return (
        enthalpy,
        T,
        m_bath,
        ledge_b + frozen_b * cm_per_kg_b,
        ledge_m + frozen_m * cm_per_kg_m,
        q_top * span,
        q_bottom * span,
        (q_out_b + q_out_m) * span,
    )
