"""The state changes of the cells' named operations, compiled: one loop over the selected cells per operation.

:mod:`twin.cell.operations` validates a request and calls one of these; they only change state columns. The
plant applies its routine jobs one to a few cells at a time, hundreds of times a simulated day, so the
per-call cost matters more than the arithmetic: a compiled loop over the cells costs about a microsecond where
the same update as a dozen small numpy fancy-index operations cost 10-25 µs (issue 12 item 3).

Cells are updated one after the other in the order given (a cell given twice gets both changes). Each line
is the equation of the operation's docstring in :mod:`twin.cell.operations`, in the same order of floating
point operations, and no fastmath (``twin._numba``): the result is the IEEE result of that order.
"""

from __future__ import annotations

import numpy as np

from twin._numba import jit
from twin.cell import layout as L
from twin.cell.slow import refresh_slow_terms


@jit
def liquids_capacity(state: np.ndarray, p: np.ndarray, i: int) -> float:
    """C_liq = m_bath·c_bath + m_metal·c_metal (J/K) of cell ``i`` (operations module docstring)."""
    return state[L.S_BATH_KG, i] * p[L.P_CP_BATH] + state[L.S_METAL_KG, i] * p[L.P_CP_METAL]


@jit
def take_heat(state: np.ndarray, p: np.ndarray, i: int, heat_J: float, capacity_before: float) -> None:
    """T = T_ref + (C_before·(T − T_ref) − heat)/C_liq(new masses): the liquids' enthalpy less ``heat_J``."""
    enthalpy = capacity_before * (state[L.S_TEMP_DEGC, i] - L.T_REF_DEGC) - heat_J
    state[L.S_TEMP_DEGC, i] = L.T_REF_DEGC + enthalpy / liquids_capacity(state, p, i)


@jit
def move_liquid(state: np.ndarray, i: int, kg: float) -> None:
    """Add (kg > 0) or remove (kg < 0) liquid bath of cell ``i`` at its composition, dissolved alumina included."""
    liquid = state[L.S_BATH_KG, i] + state[L.S_ALUMINA_DISSOLVED_KG, i]
    share = kg / liquid
    alumina = share * state[L.S_ALUMINA_DISSOLVED_KG, i]
    state[L.S_ALF3_KG, i] += share * state[L.S_ALF3_KG, i]
    state[L.S_CAF2_KG, i] += share * state[L.S_CAF2_KG, i]
    state[L.S_ALUMINA_DISSOLVED_KG, i] += alumina
    state[L.S_BATH_KG, i] += kg - alumina


@jit
def tap_metal_cells(state: np.ndarray, idx: np.ndarray, target_kg: float, tapped: np.ndarray) -> None:
    """Metal above ``target_kg`` out of each cell; ``tapped`` gets the kg of each."""
    for k in range(idx.size):
        i = idx[k]
        kg = max(state[L.S_METAL_KG, i] - target_kg, 0.0)
        state[L.S_METAL_KG, i] -= kg
        tapped[k] = kg


@jit
def add_alf3_cells(state: np.ndarray, p: np.ndarray, idx: np.ndarray, kg: np.ndarray, heat_J_per_kg: float) -> None:
    """AlF3 into each cell: excess AlF3 and liquid bath up by ``kg``, the liquids pay ``heat_J_per_kg`` per kg."""
    for k in range(idx.size):
        i = idx[k]
        before = liquids_capacity(state, p, i)
        state[L.S_ALF3_KG, i] += kg[k]
        state[L.S_BATH_KG, i] += kg[k]
        take_heat(state, p, i, kg[k] * heat_J_per_kg, before)
        refresh_slow_terms(state, p, i)


@jit
def add_bath_cells(state: np.ndarray, p: np.ndarray, idx: np.ndarray, kg: np.ndarray) -> None:
    """Crushed bath into each cell at the liquid's composition; the liquids pay its sensible heat from the
    potroom to T_ref and the latent heat of fusion."""
    heat_per_kg = p[L.P_CP_BATH] * (L.T_REF_DEGC - p[L.P_T_AMBIENT]) + p[L.P_LEDGE_LATENT]
    for k in range(idx.size):
        i = idx[k]
        before = liquids_capacity(state, p, i)
        move_liquid(state, i, kg[k])
        take_heat(state, p, i, kg[k] * heat_per_kg, before)
        refresh_slow_terms(state, p, i)


@jit
def tap_bath_cells(state: np.ndarray, p: np.ndarray, idx: np.ndarray, kg: np.ndarray) -> None:
    """Liquid bath out of each cell, at its composition and temperature, never below a quarter of the nominal
    bath; ``kg`` becomes the kg removed."""
    floor = 0.25 * p[L.P_BATH_NOMINAL_KG]
    for k in range(idx.size):
        i = idx[k]
        kg[k] = min(kg[k], max(state[L.S_BATH_KG, i] - floor, 0.0))
        move_liquid(state, i, -kg[k])
        refresh_slow_terms(state, p, i)


@jit
def change_anode_cells(state: np.ndarray, p: np.ndarray, idx: np.ndarray, noise_gain: float, anodes: float) -> None:
    """A new anode in each cell: T_a −= C_new·(T_a − T_air)/C_a, noise gain at least ``noise_gain``, anode age
    × (n − 1)/n."""
    renewal = (anodes - 1.0) / anodes
    for k in range(idx.size):
        i = idx[k]
        t_a = state[L.S_ANODE_TEMP_DEGC, i]
        cooling = p[L.P_NEW_ANODE_J_PER_K] * (t_a - p[L.P_T_AMBIENT]) / p[L.P_C_ANODE_J_PER_K]
        state[L.S_ANODE_TEMP_DEGC, i] = t_a - cooling
        state[L.S_NOISE_GAIN, i] = max(state[L.S_NOISE_GAIN, i], noise_gain)
        state[L.S_ANODE_AGE_S, i] *= renewal
