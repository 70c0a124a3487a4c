"""The cell's thermal network and ledge, advanced on the slow cadence (physics.md §1.6).

A lumped network of the Dyna/Marc class (Dupuis, GéniSim; physics.md §1.6 and §4):

* **Nodes.** The liquids (bath and metal at one temperature T, heat capacity C_liq = m_bath·c_bath +
  m_metal·c_metal), the anode-and-cover node (T_a, C_a) and the cathode-and-lining node (T_c, C_c); the two
  ledge fronts (bath level, metal level) are moving boundaries with latent heat.
* **Top (anode panel).** Q_la = s(I)·(T − T_a)/R_la from the liquids to the anode node (gas-driven circulation
  under the anodes stops with the current, hence the stirring factor s), Q_top = (T_a − T_air)/R_a,air to
  the potroom. The anode node also receives its share of the anode-effect energy.
* **Bottom (cathode panel).** Q_lc = (T − T_c)/R_lc, Q_bottom = (T_c − T_air)/R_c,air; the bottom shell
  temperature is T_air + Q_bottom/(h_bottom(T)·A_bottom), h_bottom from the bottom's own convection and
  emissivity (an output only: the bottom loss is set by the node resistances).
* **Sides** (bath level j = b, metal level j = m), each a series path from the ledge face at the liquidus
  T_liq to the potroom: ledge δ_j/(k_L·A_j), lining R_lining/A_j and the shell's outer convection plus
  radiation h_shell(T_s)·A_j (:func:`twin.cell.physics.shell_film_coefficient`, evaluated at the shell
  temperature of the previous update); an exchanger duty D_j ≥ 0 is taken from the shell
  (:func:`twin.cell.physics.shell_temperature`), split between the levels in proportion to the conductance of
  their ledge and lining at the start of the update. The liquids give the ledge face the film heat
  G_j·(T − T_liq), G_j = s(I)·h_j·A_j. The Stefan condition

      ρ_L·L_f·A_j·dδ_j/dt = q_j − G_j·(T − T_liq),   q_j = (T_liq − T_s,j)/(δ_j/(k_L A_j) + R_lining/A_j)

  freezes or melts ledge until conduction through it matches the film heat: the ledge, not the bath
  temperature, absorbs a change of heat input (physics.md §1.6). A ledge melted to its floor passes the
  liquids' heat through film, ledge, lining and shell in series with T (not T_liq) on the inner face.
* **Superheat floor.** A well-mixed bath does not stay below its liquidus: whenever an update leaves
  T < T_liq, bath freezes onto the ledge (split by area) until the released latent heat brings T back to
  the liquidus (physics.md §1.6: "a freezing front holds the bath near its liquidus"). Numerically: after each
  sub-step the liquidus of the new composition is computed and stored; if T is below it, the freeze above
  follows and the liquidus is computed again and stored. (Until 2026-12-06 it was computed only when T was
  within 1 K of the held liquidus. Evaluating it always costs one liquidus per cell and update (one per 60
  steps at slow_every 60) and takes away the dependence on a held value; no result measured since needed it:
  the 1.2-K undershoot of a frozen-out pot in ``unit_trip``, first put down to that margin, came from the
  unconverged freeze below and was gone with the margin restored and the freeze solved.)
  The frozen mass m solves T(m) = T_liq(m): the latent heat L_f·m raises T while the frozen cryolite
  enriches the liquid in AlF3 and lowers its liquidus. One step of C_liq·(T_liq − T)/L_f, the amount that
  ignores the second effect, overshoots where the liquidus is steep in the frozen mass (an AlF3-rich bath
  freezing out, a cut-out cell): it left T above the new liquidus, froze too little at the next update, and
  the freeze alternated with a growth of ≈ 1.5× per update (a cut-out HAL275 cell at 940 °C, 70-s updates).
  So the floor solves r(m) = T(m) − T_liq(m) = 0 on [0, the freezable room] by bracketed false position
  (``FLOOR_ITERATIONS`` steps, each a trial freeze that is undone), starting from that amount. Bracketed,
  because r has a kink where the liquid reaches the edge of Solheim's range (20 % AlF3, clamped): three
  unbracketed secant steps, tried first, left that ``unit_trip`` pot 1.2 K below its liquidus.
* **Ledge chemistry** (:mod:`twin.cell.chemistry`): frozen ledge is cryolite with a fraction of entrapped bath;
  every component is conserved between bath and ledge.

Energy bookkeeping: the liquids' enthalpy H = C_liq·(T − T_ref) is the integrated state; mass that freezes,
melts or is formed counts at T_ref (the kernel's convention), the ledge stores −L_f per kg, the nodes
C·T. Explicit Euler, sub-stepped to at most ``MAX_SUBSTEP_S`` so that the fastest time constant
(C_liq over the film conductances, ≈ 25 min for a 300 kA cell) is always resolved.

**Operator splitting.** The steps add the span's heat generation to H every step; the losses are computed
here, on the slow cadence. Booked only here, the losses would leave a sawtooth in H: T would rise by
G·span/C_liq over a span (≈ 5.2 K for HAL275, ≈ 590 kW to lose, C_liq ≈ 34 MJ/K, over a 300-s cadence)
and drop at the update, so the update would see the liquids at the top of the tooth while the steps, the
slow terms, the potroom's measurements and the outputs saw them at its bottom: the walls would run ≈ 5 K
hotter than every reading, the ledge thinner, and by how much would depend on the cadence. So the steps also
book, every step, the liquids' mean loss of the last update (state row ``S_LIQUIDS_LOSS_W``, a predictor);
the update adds that provisional loss back as it books the losses it computes, sub-step by sub-step, and
stores the new mean. Energy is conserved exactly whatever the predictor (it cancels), and the path of T
converges to the every-step update's as the cadence shortens (a first-order scheme in the span; Strang and
Marchuk splitting, e.g. Hundsdorfer & Verwer, *Numerical Solution of Time-Dependent
Advection-Diffusion-Reaction Equations*, Springer 2003, §IV.1: the splitting error of applying two processes
one after the other grows with the span and vanishes when each sees the other's effect).
"""

from __future__ import annotations

import math

import numpy as np

from twin._numba import jit
from twin.cell import layout as L
from twin.cell import physics as ph
from twin.cell.chemistry import freezable_kg, freeze_bath, liquid_liquidus, melt_ledge

LEDGE_FLOOR_CM = 0.05  # a ledge never melts below this (numerical floor; LEDGE_THIN fires long before)
MAX_SUBSTEP_S = 300.0
MIN_LIQUID_BATH_FRACTION = 0.02  # the superheat floor never freezes the last 2 % of the nominal bath
FLOOR_ITERATIONS = 6  # false-position steps of the floor's frozen mass (module docstring; r is nearly linear in m)


@jit
def ledge_mass_kg(ledge_b_cm: float, ledge_m_cm: float, p: np.ndarray) -> float:
    """Frozen ledge of both levels (kg): ρ_L·(A_b·δ_b + A_m·δ_m)."""
    areas = p[L.P_LEDGE_AREA_BATH_M2] * ledge_b_cm + p[L.P_LEDGE_AREA_METAL_M2] * ledge_m_cm
    return p[L.P_LEDGE_DENSITY] * areas / 100.0


@jit
def liquids_heat_capacity(m_bath: float, m_metal: float, p: np.ndarray) -> float:
    """C_liq = m_bath·c_bath + m_metal·c_metal (J/K)."""
    return m_bath * p[L.P_CP_BATH] + m_metal * p[L.P_CP_METAL]


@jit
def _side_level(
    T: float, t_liq: float, ledge_cm: float, area: float, h_film: float, shell_degC: float, duty_W: float,
    span: float, p: np.ndarray,
) -> tuple[float, float, float, float, float]:
    """One side level over ``span`` s.

    Returns (kg frozen (< 0 melted), heat from the liquids J, to the air J, to the exchanger J, shell °C).
    """
    t_air = p[L.P_T_AMBIENT]
    latent = p[L.P_LEDGE_LATENT]
    film = h_film * area
    r_ledge_lining = ledge_cm / (100.0 * p[L.P_LEDGE_K] * area) + p[L.P_R_LINING_SIDE] / area
    g_out = ph.shell_film_coefficient(shell_degC, t_air, p[L.P_H_SHELL_CONVECTION], p[L.P_SHELL_EMISSIVITY]) * area
    shell, duty = ph.shell_temperature(t_liq, r_ledge_lining, g_out, t_air, duty_W)
    q_ledge = (t_liq - shell) / r_ledge_lining
    q_film = film * (T - t_liq)
    frozen = span * (q_ledge - q_film) / latent
    floor = (LEDGE_FLOOR_CM - ledge_cm) * p[L.P_LEDGE_DENSITY] * area / 100.0  # kg (<= 0): the most that can melt
    if frozen < floor:
        frozen = floor
        r_inner = 1.0 / film + r_ledge_lining
        shell, duty = ph.shell_temperature(T, r_inner, g_out, t_air, duty_W)
        q_film = (T - shell) / r_inner
        to_air = g_out * (shell - t_air)
        # the liquids also pay the latent heat of what melted down to the floor
        return frozen, q_film * span - latent * frozen, to_air * span, duty * span, shell
    to_air = g_out * (shell - t_air)
    return frozen, q_film * span, to_air * span, duty * span, shell


@jit
def thermal_update(
    state: np.ndarray, i: int, p: np.ndarray, enthalpy: float, stir: float, span: float, ae_anode_J: float,
    out: np.ndarray,
) -> tuple[float, float, float, float, float, float]:
    """Advance the thermal network of cell ``i`` by ``span`` seconds (module docstring).

    ``enthalpy`` is the liquids' H = C_liq·(T − T_ref) after the span's heat generation and process energy and
    after the provisional loss the steps booked (``S_LIQUIDS_LOSS_W`` × ``span``, module docstring);
    ``stir`` is the stirring factor of the span's mean current (:func:`twin.cell.physics.stirring_factor`;
    the lanes keep it between changes of current); ``ae_anode_J`` is the anode node's share of the span's
    anode-effect energy. Updates the state column
    (T, node and shell temperatures, ledges, bath composition, the liquids' mean loss) and the heat-flux
    outputs. Returns (H, top J, bath-side J, metal-side J, bottom J, exchanger J).
    """
    t_air = p[L.P_T_AMBIENT]
    latent = p[L.P_LEDGE_LATENT]
    area_b = p[L.P_LEDGE_AREA_BATH_M2]
    area_m = p[L.P_LEDGE_AREA_METAL_M2]
    h_b = stir * p[L.P_H_BATH_LEDGE]
    h_m = stir * p[L.P_H_METAL_LEDGE]
    duty = max(state[L.S_HX_DUTY_W, i], 0.0)
    # the exchanger panels cover both levels; the duty goes where the wall passes heat most easily (the inner
    # conductance through ledge and lining at the start of the span), which is also where the ledge is thinnest
    g_b = 1.0 / (state[L.S_LEDGE_BATH_CM, i] / (100.0 * p[L.P_LEDGE_K] * area_b) + p[L.P_R_LINING_SIDE] / area_b)
    g_m = 1.0 / (state[L.S_LEDGE_METAL_CM, i] / (100.0 * p[L.P_LEDGE_K] * area_m) + p[L.P_R_LINING_SIDE] / area_m)
    duty_b = duty * g_b / (g_b + g_m)
    duty_m = duty - duty_b
    n_sub = max(math.ceil(span / MAX_SUBSTEP_S), 1)
    dt = span / n_sub
    e_top = e_side_b = e_side_m = e_bottom = e_hx = 0.0
    booked = state[L.S_LIQUIDS_LOSS_W, i] * dt  # the provisional loss the steps booked, per sub-step
    from_liquids = 0.0
    T = state[L.S_TEMP_DEGC, i]
    for _ in range(n_sub):
        T = L.T_REF_DEGC + enthalpy / liquids_heat_capacity(state[L.S_BATH_KG, i], state[L.S_METAL_KG, i], p)
        t_liq = state[L.S_LIQUIDUS_DEGC, i]
        t_a = state[L.S_ANODE_TEMP_DEGC, i]
        t_c = state[L.S_CATHODE_TEMP_DEGC, i]
        q_la = stir * (T - t_a) / p[L.P_R_LIQ_ANODE]
        q_top = (t_a - t_air) / p[L.P_R_ANODE_AIR]
        q_lc = (T - t_c) / p[L.P_R_LIQ_CATHODE]
        q_bottom = (t_c - t_air) / p[L.P_R_CATHODE_AIR]
        frozen_b, from_liq_b, air_b, hx_b, shell_b = _side_level(
            T, t_liq, state[L.S_LEDGE_BATH_CM, i], area_b, h_b, state[L.S_SHELL_BATH_DEGC, i], duty_b, dt, p
        )
        frozen_m, from_liq_m, air_m, hx_m, shell_m = _side_level(
            T, t_liq, state[L.S_LEDGE_METAL_CM, i], area_m, h_m, state[L.S_SHELL_METAL_DEGC, i], duty_m, dt, p
        )
        # the ledge can grow only while the liquid still holds cryolite: what cannot freeze, the liquids pay
        freezing = max(frozen_b, 0.0) + max(frozen_m, 0.0)
        can_freeze = freezable_kg(state, i, p)
        if freezing > can_freeze:
            scale = can_freeze / freezing
            if frozen_b > 0.0:
                from_liq_b += latent * frozen_b * (1.0 - scale)
                frozen_b *= scale
            if frozen_m > 0.0:
                from_liq_m += latent * frozen_m * (1.0 - scale)
                frozen_m *= scale
        lost = (q_la + q_lc) * dt + from_liq_b + from_liq_m
        enthalpy += booked - lost
        from_liquids += lost
        state[L.S_ANODE_TEMP_DEGC, i] = t_a + ((q_la - q_top) * dt + ae_anode_J / n_sub) / p[L.P_C_ANODE_J_PER_K]
        state[L.S_CATHODE_TEMP_DEGC, i] = t_c + (q_lc - q_bottom) * dt / p[L.P_C_CATHODE_J_PER_K]
        state[L.S_SHELL_BATH_DEGC, i] = shell_b
        state[L.S_SHELL_METAL_DEGC, i] = shell_m
        _move_ledge(state, i, p, frozen_b, frozen_m)
        # superheat floor: freeze until the latent heat released holds the liquids at the liquidus of the
        # composition the sub-step left (module docstring)
        c_liq = liquids_heat_capacity(state[L.S_BATH_KG, i], state[L.S_METAL_KG, i], p)
        T = L.T_REF_DEGC + enthalpy / c_liq
        t_liq = liquid_liquidus(state, i, p)
        if t_liq > T:
            room = max(min(state[L.S_BATH_KG, i] - MIN_LIQUID_BATH_FRACTION * p[L.P_BATH_NOMINAL_KG],
                           freezable_kg(state, i, p)), 0.0)
            frozen = _floor_freeze_kg(state, i, p, enthalpy, T - t_liq, min(c_liq * (t_liq - T) / latent, room), room)
            _move_ledge(state, i, p, frozen * area_b / (area_b + area_m), frozen * area_m / (area_b + area_m))
            enthalpy += latent * frozen
            t_liq = liquid_liquidus(state, i, p)
        state[L.S_LIQUIDUS_DEGC, i] = t_liq
        e_top += q_top * dt
        e_bottom += q_bottom * dt
        e_side_b += air_b
        e_side_m += air_m
        e_hx += hx_b + hx_m
        g_bottom = ph.shell_film_coefficient(
            state[L.S_SHELL_BOTTOM_DEGC, i], t_air, p[L.P_H_BOTTOM_CONVECTION], p[L.P_BOTTOM_EMISSIVITY]
        )
        state[L.S_SHELL_BOTTOM_DEGC, i] = t_air + q_bottom / (g_bottom * p[L.P_BOTTOM_SHELL_AREA_M2])
    T = L.T_REF_DEGC + enthalpy / liquids_heat_capacity(state[L.S_BATH_KG, i], state[L.S_METAL_KG, i], p)
    state[L.S_TEMP_DEGC, i] = T
    state[L.S_LIQUIDS_LOSS_W, i] = from_liquids / span
    out[L.O_Q_TOP_W, i] = e_top / span
    out[L.O_Q_SIDE_BATH_W, i] = e_side_b / span
    out[L.O_Q_SIDE_METAL_W, i] = e_side_m / span
    out[L.O_Q_BOTTOM_W, i] = e_bottom / span
    out[L.O_Q_HX_W, i] = e_hx / span
    return enthalpy, e_top, e_side_b, e_side_m, e_bottom, e_hx


@jit
def _floor_residual(state: np.ndarray, i: int, p: np.ndarray, enthalpy: float, kg: float) -> float:
    """T − T_liq (K) of the liquids if ``kg`` froze onto the ledge (split by area) and released its latent heat;
    the trial freeze is undone."""
    area_b = p[L.P_LEDGE_AREA_BATH_M2]
    area_m = p[L.P_LEDGE_AREA_METAL_M2]
    saved = state[:, i].copy()
    _move_ledge(state, i, p, kg * area_b / (area_b + area_m), kg * area_m / (area_b + area_m))
    t = L.T_REF_DEGC + (enthalpy + p[L.P_LEDGE_LATENT] * kg) / liquids_heat_capacity(
        state[L.S_BATH_KG, i], state[L.S_METAL_KG, i], p
    )
    residual = t - liquid_liquidus(state, i, p)
    state[:, i] = saved
    return residual


@jit
def _floor_freeze_kg(
    state: np.ndarray, i: int, p: np.ndarray, enthalpy: float, r0: float, guess: float, room: float
) -> float:
    """The mass (kg, in [0, ``room``]) whose freezing brings the liquids to their liquidus: the root of
    r(m) = T(m) − T_liq(m), r(0) = ``r0`` < 0, by ``FLOOR_ITERATIONS`` steps of the Illinois false-position
    method (Dowell & Jarratt, BIT 11, 1971, 168-174) from the bracket [0, ``guess``] (widened to ``room`` if r
    is still negative there). Bracketed, it converges also where the liquidus has a kink (the edge of
    Solheim's range, clamped); if r < 0 up to ``room``, all of the room freezes."""
    lo, r_lo = 0.0, r0
    hi = guess
    r_hi = _floor_residual(state, i, p, enthalpy, hi)
    if r_hi < 0.0 and hi < room:
        hi = room
        r_hi = _floor_residual(state, i, p, enthalpy, hi)
    if r_hi <= 0.0:
        return hi
    side = 0
    for _ in range(FLOOR_ITERATIONS):
        m = (lo * r_hi - hi * r_lo) / (r_hi - r_lo)
        r = _floor_residual(state, i, p, enthalpy, m)
        if r == 0.0:
            return m
        if r < 0.0:
            lo, r_lo = m, r
            if side < 0:
                r_hi *= 0.5
            side = -1
        else:
            hi, r_hi = m, r
            if side > 0:
                r_lo *= 0.5
            side = 1
    return (lo * r_hi - hi * r_lo) / (r_hi - r_lo)


@jit
def _move_ledge(state: np.ndarray, i: int, p: np.ndarray, frozen_b: float, frozen_m: float) -> None:
    """Freeze (kg > 0) or melt (kg < 0) ledge at each level, moving the bath components with it."""
    scale = 100.0 / p[L.P_LEDGE_DENSITY]
    _transfer(state, i, p, frozen_b)
    state[L.S_LEDGE_BATH_CM, i] += frozen_b * scale / p[L.P_LEDGE_AREA_BATH_M2]
    _transfer(state, i, p, frozen_m)
    state[L.S_LEDGE_METAL_CM, i] += frozen_m * scale / p[L.P_LEDGE_AREA_METAL_M2]


@jit
def _transfer(state: np.ndarray, i: int, p: np.ndarray, frozen: float) -> None:
    if frozen > 0.0:
        freeze_bath(state, i, p, frozen)
    elif frozen < 0.0:
        melt_ledge(state, i, p, -frozen, ledge_mass_kg(state[L.S_LEDGE_BATH_CM, i], state[L.S_LEDGE_METAL_CM, i], p))
