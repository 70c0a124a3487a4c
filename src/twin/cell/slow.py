"""Slow terms of a cell: the parts of the step that move with temperature and composition on minute scales.

* :func:`slow_terms` — bath conductivity, liquidus, alumina saturation, bath ratio and current efficiency
  from the temperature and the bath composition (equations and sources in :mod:`twin.cell.physics`; the
  liquidus through :func:`twin.cell.chemistry.liquidus_of`, which keeps it inside its fitted range);
* :func:`refresh_slow_terms` — the same slow terms written into a state column (after plant operations);
  :func:`refresh_slow_terms_of` does it for a list of cells in one call (the live twin's ensemble after each
  analysis: 11 264 columns a line, one call instead of one each).

The heat balance that runs on the same cadence is :mod:`twin.cell.thermal`.
"""

from __future__ import annotations

import numpy as np

from twin._numba import jit
from twin.cell import layout as L
from twin.cell import physics as ph
from twin.cell.chemistry import liquidus_of, saturation_of


@jit
def slow_terms(
    t_c: float, m_bath: float, m_diss: float, m_alf3: float, m_caf2: float, params: np.ndarray
) -> tuple[float, float, float, float, float]:
    """(κ, T_liq, C_sat, bath ratio, CE) of a cell from its temperature and bath composition.

    Like the liquidus, the bath properties are taken no further out than the fitted range: composition clamped
    to it and temperature no lower than ``physics.MOLTEN_BATH_MIN_DEGC`` (a cell frozen out by a long outage;
    in operation neither clamp acts).
    """
    pct = 100.0 / m_bath
    al2o3 = m_diss * pct
    alf3 = min(max(m_alf3 * pct, 0.0), ph.LIQUIDUS_ALF3_MAX)
    caf2 = min(max(m_caf2 * pct, 0.0), ph.LIQUIDUS_CAF2_MAX)
    mgf2 = params[L.P_MGF2_WTPCT]
    lif = params[L.P_LIF_WTPCT]
    t_bath = max(t_c, ph.MOLTEN_BATH_MIN_DEGC)
    c_sat = saturation_of(t_bath, alf3, caf2, params)
    t_liq = liquidus_of(alf3, caf2, al2o3, c_sat, params)
    return (
        ph.bath_conductivity(t_bath, alf3, al2o3, caf2, lif, mgf2),
        t_liq,
        c_sat,
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
        state[L.S_CAF2_KG, i],
        params,
    )
    state[L.S_KAPPA_S_PER_CM, i] = kappa
    state[L.S_LIQUIDUS_DEGC, i] = t_liq
    state[L.S_ALUMINA_SAT_WTPCT, i] = c_sat
    state[L.S_BATH_RATIO, i] = ratio
    state[L.S_CE, i] = ce


@jit
def refresh_slow_terms_of(state: np.ndarray, params: np.ndarray, cells: np.ndarray) -> None:
    """:func:`refresh_slow_terms` for every cell index in ``cells`` (int64), in their order."""
    for k in range(cells.shape[0]):
        refresh_slow_terms(state, params, cells[k])
