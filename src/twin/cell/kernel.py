"""The cell step kernel: N cells in series advanced k explicit-Euler steps of ``dt``, pot control inside.

A dumb loop over structure-of-arrays (style.md practice 5): it takes arrays and scalars, writes into
them, and returns how far it got. No SimPy, no I/O, no logging. ``twin.cell.potline`` is its driver.

Model (each piece cites its source; equations in ``twin.cell.physics``):

* **Voltage** — Haupin's breakdown [Haupin98 eq. A1]: E_rev + η_a,conc + η_a,surf + η_c + I·(R_bath +
  R_bubble + R_anode + R_cathode + R_ext + R_calibration) + noise, with the anode current density on the
  fanned area I/(f·A) (reproduces the worked table of physics.md §1.1 to 1 mV). During an anode effect
  the cell voltage is the technology's AE voltage (CellModel clamps the AE to ≈30 V; physics.md §1.5).
* **Alumina** — Yao et al. 2017 three-state model (AIChE J 63:2806): consumption M_Al2O3·I·CE/(6F),
  a fraction r of each shot undissolved, first-order dissolution k_diss·m_undissolved.
* **Metal** — Faraday's law: ṁ_Al = M_Al·I·CE/(3F).
* **CE** — Dewing 1991 (Metall. Trans. B 22) with a per-technology constant.
* **Energy** — Haupin/Entner balance (physics.md §1.6): heat released inside the cell I·V − I²·R_ext, less the
  process energy e_proc(CE) per kg Al (back reaction counted once) and the alumina heating, with the
  anode-effect energy split between liquids, anode node and off-gas, integrated as the liquids' enthalpy
  H = (m_bath·c_bath + m_metal·c_metal)·(T − 950 °C) so the balance closes to round-off. The losses, the
  three-node network, the two ledge fronts and the superheat floor are :mod:`twin.cell.thermal`; the bath and
  ledge chemistry (entrapment, Na2O) :mod:`twin.cell.chemistry`.
* **ACD** — anode consumption (scaled with current) minus metal-pad rise (Yao 2017; physics.md §1.7).
* **Pot control** — tracking feed control: underfeed until the slope of the pseudo-resistance
  (V − BEMF)/I, estimated as the difference of two first-order filters, exceeds a threshold, then
  overfeed for a fixed time (GéniSim "In Situ" feed control, CIM 2011, physics.md §1.5; Leroy,
  US 4,654,129); resistance regulation by beam moves with a deadband and a move limit; anode-effect
  detection (V above the detect voltage, Wong et al. ICSOBA 2019) and an automatic kill that feeds a
  dose after the kill time.
* **Noise** — band-limited resistance noise: first-order filtered uniform white noise with a given RMS
  and correlation time (physics.md §1.7), from per-cell generators (:mod:`twin.cell.noise`).

Cells are independent within one call (the line current is an input, held by the rectifiers), so the
loop runs cell-outer, step-inner with the cell's whole state in local variables (no memory traffic per
step). A stop event at step k in one cell truncates every cell to k + 1 steps: cells that ran further are
restored from a copy and re-run, so the result is the same as a step-outer loop that stops after step k.

Slow terms (conductivity, liquidus, saturation, bath ratio, CE, and the logarithmic electrochemical
terms, which move with temperature and alumina on minute scales) are refreshed every ``P_SLOW_EVERY``
steps on the global step count; with 1 they are exact every step.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from twin._numba import JIT_OPTIONS, jit
from twin.cell import layout as L
from twin.cell import physics as ph
from twin.cell.chemistry import sodium_oxide_reaction
from twin.cell.events import limit_flags, record_limit_crossings
from twin.cell.events import record as record_event
from twin.cell.noise import symmetric_uniform, xorshift
from twin.cell.slow import slow_terms
from twin.cell.thermal import thermal_update

AL_KG_PER_COULOMB = ph.M_AL / (3.0 * ph.FARADAY)
ALUMINA_KG_PER_COULOMB = ph.M_AL2O3 / (6.0 * ph.FARADAY)
NOISE_GAIN_DECAY_S = 4.0 * 3600.0  # extra noise after an anode change decays with this time constant
REGULATION_MIN_CURRENT = 0.5  # regulation is blocked below half the nominal current (outages, restart ramps);
# potlines are regulated through power modulation down to -30 % (TRIMET, EnPot; physics.md §1.10)
ALUMINA_FLOOR_WTPCT = 0.3  # the alumina terms of the voltage are evaluated no lower than this
ACTIVITY_FLOOR = 1e-4  # Haupin's activity polynomial turns negative below r ≈ 0.016 (a very hot, depleted bath)
EVENTS_PER_CELL_STEP = 6  # at most one AE event and five limit events per cell and step
RAN_OUT, STOPPED_AFTER, STOPPED_BEFORE = 0, 1, 2  # how a cell's run ended (_run_cell)


# inlined into advance (numba IR): a call per cell and call passed its six arrays with a reference-count
# increment and decrement each, ~13 µs of every kernel call on 400 cells (benchmarks/README.md, Plant)
@numba.njit(**JIT_OPTIONS, inline="always")
def _run_cell(
    state: np.ndarray,
    rng: np.ndarray,
    p: np.ndarray,
    line_current_A: np.ndarray,
    dt: float,
    step0: int,
    stop_mask: int,
    events: np.ndarray,
    n_events: int,
    acc: np.ndarray,
    out: np.ndarray,
    i: int,
    limit: int,
    record: bool,
    noise_a: float,
    noise_b: float,
    gain_decay: float,
) -> tuple[int, int, int]:
    """Advance cell ``i`` up to ``limit`` steps; return (steps done, events recorded so far, how it stopped).

    How it stopped: ``RAN_OUT`` (all ``limit`` steps), ``STOPPED_AFTER`` (after a step with a stopping anode-effect
    event, or with its share of the event buffer full) or ``STOPPED_BEFORE`` (a stopping limit crossing found at
    the check opening the next step, which is latched in the state). ``noise_a``, ``noise_b`` and ``gain_decay``
    are the per-call noise constants of :func:`noise_constants`, the same for every cell.
    """
    # parameters and per-call constants
    conduct_area = p[L.P_FANNING] * p[L.P_ANODE_AREA_CM2]
    single_area = p[L.P_SINGLE_ANODE_AREA_CM2]
    cathode_area = p[L.P_CATHODE_AREA_CM2]
    r_ext = p[L.P_R_EXTERNAL_OHM]
    r_ohmic = p[L.P_R_ANODE_OHM] + p[L.P_R_CATHODE_OHM] + r_ext + p[L.P_R_CALIBRATION_OHM]
    i_nominal = p[L.P_I_NOMINAL_A]
    c_ae = p[L.P_ALUMINA_AE_WTPCT]
    shot = p[L.P_SHOT_KG]
    r_undiss = p[L.P_UNDISSOLVED_FRACTION]
    diss_step = min(p[L.P_K_DISS] * dt, 1.0)
    e_rx = p[L.P_REACTION_J_PER_KG_AL]
    e_back = p[L.P_BACK_REACTION_J_PER_KG_AL]
    e_feed = p[L.P_ALUMINA_HEAT_J_PER_KG]
    na2o_share = p[L.P_NA2O_KG_PER_KG_ALUMINA]
    ae_to_gas = 1.0 - p[L.P_AE_HEAT_BATH_FRACTION] - p[L.P_AE_HEAT_ANODE_FRACTION]
    ae_to_anode = p[L.P_AE_HEAT_ANODE_FRACTION]
    cp_b = p[L.P_CP_BATH]
    cp_m = p[L.P_CP_METAL]
    bath_nominal = p[L.P_BATH_NOMINAL_KG]
    metal_cm_per_kg = 100.0 / (p[L.P_METAL_DENSITY] * p[L.P_CAVITY_AREA_M2])
    slow_every = max(int(p[L.P_SLOW_EVERY]), 1)
    alpha_fast = min(dt / p[L.P_SLOPE_FAST_S], 1.0)
    alpha_slow = min(dt / p[L.P_SLOPE_SLOW_S], 1.0)
    slope_span = p[L.P_SLOPE_SLOW_S] - p[L.P_SLOPE_FAST_S]
    slope_threshold = p[L.P_SLOPE_THRESHOLD_OHM_PER_S]
    bemf = p[L.P_BEMF_V]
    v_ae_set = p[L.P_AE_VOLTAGE]
    ae_detect_v = p[L.P_AE_DETECT_V]
    consumption_per_A = p[L.P_ANODE_CONSUMPTION_CM_PER_S] / i_nominal
    alf3_loss = p[L.P_ALF3_LOSS_KG_PER_KG_AL]
    carbon_per_al = p[L.P_CARBON_KG_PER_KG_AL]

    # cell state into locals
    m_diss = state[L.S_ALUMINA_DISSOLVED_KG, i]
    m_undiss = state[L.S_ALUMINA_UNDISSOLVED_KG, i]
    T = state[L.S_TEMP_DEGC, i]
    m_bath = state[L.S_BATH_KG, i]
    m_alf3 = state[L.S_ALF3_KG, i]
    m_metal = state[L.S_METAL_KG, i]
    acd = state[L.S_ACD_CM, i]
    anode_age = state[L.S_ANODE_AGE_S, i]
    ae = state[L.S_AE_ACTIVE, i]
    ae_time = state[L.S_AE_TIME_S, i]
    kill_timer = state[L.S_AE_KILL_TIMER_S, i]
    mode = state[L.S_FEED_MODE, i]
    mode_time = state[L.S_FEED_MODE_TIME_S, i]
    demand = state[L.S_FEED_DEMAND_KG, i]
    r_fast = state[L.S_R_FAST_OHM, i]
    r_slow = state[L.S_R_SLOW_OHM, i]
    reg_timer = state[L.S_REG_TIMER_S, i]
    noise = state[L.S_NOISE_OHM, i]
    gain = state[L.S_NOISE_GAIN, i]
    strategy = state[L.S_FEED_STRATEGY, i]
    feed_eff = state[L.S_FEED_EFFICIENCY, i]
    flags = int(state[L.S_LIMIT_FLAGS, i])
    r_target = state[L.S_R_TARGET_OHM, i]
    in_line = state[L.S_IN_LINE, i]
    kappa = state[L.S_KAPPA_S_PER_CM, i]
    t_liq = state[L.S_LIQUIDUS_DEGC, i]
    c_sat = state[L.S_ALUMINA_SAT_WTPCT, i]
    ratio = state[L.S_BATH_RATIO, i]
    ce = state[L.S_CE, i]
    x = rng[i]
    enthalpy = (m_bath * cp_b + m_metal * cp_m) * (T - L.T_REF_DEGC)  # J, relative to T_REF_DEGC
    pending = 0  # steps whose heat losses are not yet applied

    # accumulators into locals
    a_charge = 0.0
    a_e_in = 0.0
    a_e_ext = 0.0
    a_e_rx = 0.0
    a_e_feed = 0.0
    a_top = 0.0
    a_bottom = 0.0
    a_side_b = 0.0
    a_side_m = 0.0
    a_hx = 0.0
    a_gas = 0.0
    a_na2o_alf3 = 0.0
    a_na2o_cryolite = 0.0
    ae_anode = 0.0  # anode-effect energy for the anode node, not yet applied
    a_al = 0.0
    a_fed = 0.0
    a_consumed = 0.0
    a_deficit = 0.0
    a_ae_count = 0.0
    a_ae_s = 0.0
    a_shots = 0.0
    a_moves = 0.0
    a_alf3 = 0.0
    a_vs = 0.0

    # values of the last step, for the outputs
    e_rev = eta_conc = eta_surf = eta_cath = v_bath = v_bubble = v_noise = v_ae = v_cell = 0.0
    r_pseudo = 0.0
    I = 0.0
    I_done = 0.0  # current of the last step done (a limit stop breaks after I of the next step is read)
    I_last = -1.0
    i_a = i_c = d_b = g = pct_per_kg = phi_base = e_proc = 0.0
    I_thermal = 0.0  # current over the steps since the last thermal update (their mean)
    # each cell may fill only its share of the event buffer: a later cell then still has room for the steps
    # up to an earlier cell's stop, and every cell completes at least one step (the driver sizes the buffer
    # at >= EVENTS_PER_CELL_STEP rows per cell)
    first_event = n_events
    capacity = events.shape[0] // state.shape[1] - EVENTS_PER_CELL_STEP
    countdown = (slow_every - step0 % slow_every) % slow_every  # steps until the next global multiple
    inv_shot = 1.0 / shot
    inv_span = 1.0 / slope_span
    inv_I = 1.0
    how = RAN_OUT
    k = 0
    while k < limit:
        I = line_current_A[k] * in_line
        cadence = countdown == 0  # a global multiple of slow_every (refresh can also be forced below)
        refresh = cadence
        countdown = slow_every - 1 if cadence else countdown - 1
        if cadence:
            if pending > 0:
                state[L.S_ALUMINA_DISSOLVED_KG, i] = m_diss
                state[L.S_BATH_KG, i] = m_bath
                state[L.S_ALF3_KG, i] = m_alf3
                state[L.S_METAL_KG, i] = m_metal
                state[L.S_LIQUIDUS_DEGC, i] = t_liq
                enthalpy, e_top, e_side_b, e_side_m, e_bottom, e_hx = thermal_update(
                    state, i, p, enthalpy, I_thermal / pending, pending * dt, ae_anode, out
                )
                T = state[L.S_TEMP_DEGC, i]
                m_diss = state[L.S_ALUMINA_DISSOLVED_KG, i]
                m_bath = state[L.S_BATH_KG, i]
                m_alf3 = state[L.S_ALF3_KG, i]
                a_top += e_top
                a_bottom += e_bottom
                a_side_b += e_side_b
                a_side_m += e_side_m
                a_hx += e_hx
                ae_anode = 0.0
                I_thermal = 0.0
                pending = 0
            kappa, t_liq, c_sat, ratio, ce = slow_terms(T, m_bath, m_diss, m_alf3, state[L.S_CAF2_KG, i], p)
        if I_last != I:
            i_a = max(I, 1.0) / conduct_area
            i_c = max(I, 1.0) / cathode_area
            d_b = ph.bubble_thickness(i_a)
            inv_I = 1.0 / max(I, 1.0)
            I_last = I
            refresh = True
        if refresh:
            pct_per_kg = 100.0 / m_bath  # bath mass moves by a few kg per hour: refreshed with the slow terms
        # --- limit events on the slow cadence, latched until the condition clears ---
        if refresh:
            ledge_b = state[L.S_LEDGE_BATH_CM, i]
            ledge_m = state[L.S_LEDGE_METAL_CM, i]
            frozen_fraction = 1.0 - m_bath / bath_nominal
            alf3_pct = m_alf3 * pct_per_kg
            caf2_pct = state[L.S_CAF2_KG, i] * pct_per_kg
            al2o3_pct = m_diss * pct_per_kg
            new_flags = limit_flags(T, frozen_fraction, ledge_b, ledge_m, alf3_pct, caf2_pct, al2o3_pct, c_sat, p)
            rising = new_flags & ~flags
            flags = new_flags
            if rising != 0:
                n_events, limit_stop = record_limit_crossings(
                    events,
                    n_events,
                    rising,
                    k,
                    i,
                    T,
                    frozen_fraction,
                    ledge_b,
                    ledge_m,
                    alf3_pct,
                    caf2_pct,
                    al2o3_pct,
                    stop_mask,
                    record,
                )
                if limit_stop:
                    how = STOPPED_BEFORE
                    break  # the crossing happened at the end of the previous step: stop before this one
            if cadence:  # the decay factor is per slow_every steps: not on refreshes forced by a current change
                gain = 1.0 + (gain - 1.0) * gain_decay
        al2o3 = m_diss * pct_per_kg
        c_eval = max(al2o3, ALUMINA_FLOOR_WTPCT)

        # --- voltage (Haupin breakdown, physics.py); the log terms move with T and alumina, both slow ---
        if refresh:
            activity = max(ph.alumina_activity(min(c_eval / c_sat, 1.0)), ACTIVITY_FLOOR)
            t_ec = max(T, ph.MOLTEN_BATH_MIN_DEGC)  # a frozen-out cell's restart (physics.py)
            e_rev = ph.reversible_voltage(t_ec, activity)
            i_crit = ph.critical_current_density(t_ec, c_eval, single_area)
            eta_conc = ph.anode_concentration_overvoltage(t_ec, i_a, i_crit)
            eta_surf = ph.anode_surface_overvoltage(t_ec, i_a, c_eval)
            eta_cath = ph.cathode_overvoltage(t_ec, i_c, ratio)
            g = 1.0 / (kappa * conduct_area)
            phi_base = ph.bubble_coverage_base(i_a, ratio)
            e_proc = ph.process_energy_per_kg_al(ce, e_rx, e_back)  # CE moves on the slow cadence only
        phi = phi_base + ph.bubble_coverage_alumina(c_eval, c_ae)
        v_bath = I * (acd - d_b) * g
        v_bubble = I * d_b * phi / (1.0 - phi) * g
        x = xorshift(x)
        noise = noise_a * noise + noise_b * symmetric_uniform(x)
        v_noise = I * noise * gain
        v_normal = e_rev + eta_conc + eta_surf + eta_cath + v_bath + v_bubble + I * r_ohmic + v_noise
        v_ae = ae * (v_ae_set - v_normal)
        v_cell = v_normal + v_ae

        # --- Faraday and the alumina mass balance (Yao 2017) ---
        charge = I * dt
        al_made = ce * charge * AL_KG_PER_COULOMB
        consumed = ce * charge * ALUMINA_KG_PER_COULOMB
        deficit = max(consumed - m_diss, 0.0)
        dissolved_now = diss_step * m_undiss
        m_diss = m_diss - consumed + deficit + dissolved_now
        m_undiss -= dissolved_now

        # --- pot control: tracking feed control on the pseudo-resistance slope ---
        mode_time += dt
        r_pseudo = (v_cell - bemf) * inv_I
        if ae == 0.0 and I > 0.0:
            r_fast += alpha_fast * (r_pseudo - r_fast)
            r_slow += alpha_slow * (r_pseudo - r_slow)
        slope = (r_fast - r_slow) * inv_span
        nominal_rate = ce * I * ALUMINA_KG_PER_COULOMB
        rate = 0.0
        if strategy == L.FEED_TRACKING:
            if mode == 0.0:
                rate = p[L.P_UNDERFEED] * nominal_rate
                if (mode_time >= p[L.P_UNDERFEED_MIN_S] and slope > slope_threshold) or (
                    mode_time >= p[L.P_UNDERFEED_MAX_S]
                ):
                    mode = 1.0
                    mode_time = 0.0
            else:
                rate = p[L.P_OVERFEED] * nominal_rate
                if mode_time >= p[L.P_OVERFEED_S]:
                    mode = 0.0
                    mode_time = 0.0
        elif strategy == L.FEED_FIXED:
            rate = nominal_rate
        demand += rate * dt * (1.0 - ae)
        shots = math.floor(demand * inv_shot)
        demand -= shots * shot
        fed_shots = shots * shot * feed_eff
        fed = fed_shots
        if fed_shots > 0.0:
            # the Na2O of the alumina neutralises excess AlF3 as it dissolves (twin.cell.chemistry)
            alf3_used, cryolite, alumina_formed = sodium_oxide_reaction(na2o_share * fed_shots, m_alf3)
            m_alf3 -= alf3_used
            m_bath += cryolite - alf3_used
            a_na2o_alf3 += alf3_used
            a_na2o_cryolite += cryolite
            alumina_in = fed_shots * (1.0 - na2o_share) + alumina_formed
            m_diss += (1.0 - r_undiss) * alumina_in
            m_undiss += r_undiss * alumina_in

        # --- anode effect: onset, automatic kill, end ---
        stop = False
        if ae == 0.0 and al2o3 < c_ae and I > 0.0:
            ae = 1.0
            ae_time = 0.0
            kill_timer = 0.0
            a_ae_count += 1.0
            if record:
                n_events = record_event(events, n_events, k + 1, L.EV_AE_ONSET, i, al2o3)
            stop = (stop_mask >> L.EV_AE_ONSET) & 1 == 1
        elif ae == 1.0:
            ae_time += dt
            if v_cell > ae_detect_v:  # the controller sees the effect: kill sequence and AE-minutes run
                kill_timer += dt
                a_ae_s += dt
            if kill_timer >= p[L.P_AE_KILL_TIME_S]:
                dose = p[L.P_AE_KILL_DOSE_KG]
                fed += dose
                m_diss += dose
                kill_timer = 0.0
                if m_diss * pct_per_kg >= c_ae or I <= 0.0:
                    ae = 0.0
                    mode = 1.0
                    mode_time = 0.0
                    if record:
                        n_events = record_event(events, n_events, k + 1, L.EV_AE_END, i, ae_time)
                    stop = (stop_mask >> L.EV_AE_END) & 1 == 1

        # --- resistance regulation: beam moves with deadband and move limit ---
        reg_timer += dt
        if reg_timer >= p[L.P_REG_INTERVAL_S]:
            reg_timer = 0.0
            if ae == 0.0 and mode == 0.0 and REGULATION_MIN_CURRENT * i_nominal <= I:
                error = r_target - r_slow
                if abs(error) > p[L.P_DEADBAND_OHM]:
                    move = min(max(error * kappa * conduct_area, -p[L.P_BEAM_MOVE_MAX_CM]), p[L.P_BEAM_MOVE_MAX_CM])
                    new_acd = min(max(acd + move, p[L.P_ACD_MIN_CM]), p[L.P_ACD_MAX_CM])
                    if new_acd != acd:
                        r_slow += (new_acd - acd) * g
                        r_fast += (new_acd - acd) * g
                        acd = new_acd
                        a_moves += 1.0

        # --- energy in this step; losses and ledge are applied on the thermal cadence (twin.cell.thermal) ---
        p_in = I * v_cell
        p_ext = I * I * r_ext
        e_reaction = al_made * e_proc
        p_ae = I * v_ae  # anode-effect energy, split between liquids, anode node and off-gas
        enthalpy += (p_in - p_ext - (ae_to_gas + ae_to_anode) * p_ae) * dt - e_reaction - fed * e_feed
        ae_anode += ae_to_anode * p_ae * dt
        a_gas += ae_to_gas * p_ae * dt
        I_thermal += I
        alf3_lost = min(alf3_loss * al_made, m_alf3)
        m_bath -= alf3_lost  # leaves (and metal forms) at T_ref: the enthalpy is unchanged
        m_alf3 -= alf3_lost
        m_metal += al_made
        acd += (consumption_per_A * I * dt) - al_made * metal_cm_per_kg
        anode_age += dt
        pending += 1

        # --- accumulators ---
        a_charge += charge
        a_e_in += p_in * dt
        a_e_ext += p_ext * dt
        a_e_rx += e_reaction
        a_e_feed += fed * e_feed
        a_al += al_made
        a_fed += fed
        a_consumed += consumed - deficit
        a_deficit += deficit
        a_shots += shots
        a_alf3 += alf3_lost
        a_vs += v_cell * dt

        I_done = I
        k += 1
        if stop or (record and n_events - first_event > capacity):
            how = STOPPED_AFTER
            break

    # write back the state
    state[L.S_ALUMINA_DISSOLVED_KG, i] = m_diss
    state[L.S_BATH_KG, i] = m_bath
    state[L.S_ALF3_KG, i] = m_alf3
    state[L.S_METAL_KG, i] = m_metal
    state[L.S_LIQUIDUS_DEGC, i] = t_liq
    if pending > 0:
        enthalpy, e_top, e_side_b, e_side_m, e_bottom, e_hx = thermal_update(
            state, i, p, enthalpy, I_thermal / pending, pending * dt, ae_anode, out
        )
        a_top += e_top
        a_bottom += e_bottom
        a_side_b += e_side_b
        a_side_m += e_side_m
        a_hx += e_hx
        m_diss = state[L.S_ALUMINA_DISSOLVED_KG, i]
        m_bath = state[L.S_BATH_KG, i]
        m_alf3 = state[L.S_ALF3_KG, i]
        t_liq = state[L.S_LIQUIDUS_DEGC, i]
    state[L.S_ALUMINA_UNDISSOLVED_KG, i] = m_undiss
    state[L.S_ACD_CM, i] = acd
    state[L.S_ANODE_AGE_S, i] = anode_age
    state[L.S_AE_ACTIVE, i] = ae
    state[L.S_AE_TIME_S, i] = ae_time
    state[L.S_AE_KILL_TIMER_S, i] = kill_timer
    state[L.S_FEED_MODE, i] = mode
    state[L.S_FEED_MODE_TIME_S, i] = mode_time
    state[L.S_FEED_DEMAND_KG, i] = demand
    state[L.S_R_FAST_OHM, i] = r_fast
    state[L.S_R_SLOW_OHM, i] = r_slow
    state[L.S_REG_TIMER_S, i] = reg_timer
    state[L.S_NOISE_OHM, i] = noise
    state[L.S_NOISE_GAIN, i] = gain
    state[L.S_LIMIT_FLAGS, i] = flags
    state[L.S_KAPPA_S_PER_CM, i] = kappa
    state[L.S_ALUMINA_SAT_WTPCT, i] = c_sat
    state[L.S_BATH_RATIO, i] = ratio
    state[L.S_CE, i] = ce
    rng[i] = x

    acc[L.A_CHARGE_C, i] += a_charge
    acc[L.A_ENERGY_IN_J, i] += a_e_in
    acc[L.A_ENERGY_EXTERNAL_J, i] += a_e_ext
    acc[L.A_ENERGY_REACTION_J, i] += a_e_rx
    acc[L.A_ENERGY_FEED_J, i] += a_e_feed
    acc[L.A_LOSS_TOP_J, i] += a_top
    acc[L.A_LOSS_BOTTOM_J, i] += a_bottom
    acc[L.A_LOSS_SIDE_BATH_J, i] += a_side_b
    acc[L.A_LOSS_SIDE_METAL_J, i] += a_side_m
    acc[L.A_LOSS_OFFGAS_J, i] += a_gas
    acc[L.A_ALF3_NA2O_KG, i] += a_na2o_alf3
    acc[L.A_CRYOLITE_NA2O_KG, i] += a_na2o_cryolite
    acc[L.A_HEAT_EXTRACTED_J, i] += a_hx
    acc[L.A_AL_PRODUCED_KG, i] += a_al
    acc[L.A_ALUMINA_FED_KG, i] += a_fed
    acc[L.A_ALUMINA_CONSUMED_KG, i] += a_consumed
    acc[L.A_ALUMINA_DEFICIT_KG, i] += a_deficit
    acc[L.A_AE_COUNT, i] += a_ae_count
    acc[L.A_AE_SECONDS, i] += a_ae_s
    acc[L.A_FEED_SHOTS, i] += a_shots
    acc[L.A_BEAM_MOVES, i] += a_moves
    acc[L.A_CARBON_KG, i] += carbon_per_al * a_al
    acc[L.A_ALF3_LOST_KG, i] += a_alf3
    acc[L.A_VOLTAGE_SECONDS, i] += a_vs

    if k > 0:
        I = I_done
        out[L.O_V_CELL, i] = v_cell
        out[L.O_E_REV, i] = e_rev
        out[L.O_ETA_ANODE_CONC, i] = eta_conc
        out[L.O_ETA_ANODE_SURF, i] = eta_surf
        out[L.O_ETA_CATHODE, i] = eta_cath
        out[L.O_V_BATH, i] = v_bath
        out[L.O_V_BUBBLE, i] = v_bubble
        out[L.O_V_ANODE, i] = I * p[L.P_R_ANODE_OHM]
        out[L.O_V_CATHODE, i] = I * p[L.P_R_CATHODE_OHM]
        out[L.O_V_EXTERNAL, i] = I * r_ext
        out[L.O_V_CALIBRATION, i] = I * p[L.P_R_CALIBRATION_OHM]
        out[L.O_V_NOISE, i] = v_noise
        out[L.O_V_ANODE_EFFECT, i] = v_ae
        out[L.O_R_PSEUDO_OHM, i] = r_pseudo
        out[L.O_LINE_CURRENT_A, i] = I
    out[L.O_SUPERHEAT_K, i] = state[L.S_TEMP_DEGC, i] - t_liq
    out[L.O_ALUMINA_WTPCT, i] = 100.0 * m_diss / m_bath
    out[L.O_ALF3_WTPCT, i] = 100.0 * m_alf3 / m_bath
    out[L.O_CAF2_WTPCT, i] = 100.0 * state[L.S_CAF2_KG, i] / m_bath
    out[L.O_METAL_CM, i] = m_metal * metal_cm_per_kg
    return k, n_events, how


@jit
def noise_constants(p: np.ndarray, dt: float) -> tuple[float, float, float]:
    """(a, b, gain decay) of the band-limited noise (physics.md §1.7): the first-order filter
    n ← a·n + b·u with a = exp(−dt/τ) and b = σ·sqrt(3·(1 − a²)) for u uniform in [−1, 1] (variance 1/3, so the
    filtered noise has RMS σ), and the decay exp(−dt·slow_every/τ_gain) of the extra noise gain after an anode
    change per slow-term cadence. Computed once per kernel call, not per cell."""
    slow_every = max(int(p[L.P_SLOW_EVERY]), 1)
    noise_a = math.exp(-dt / p[L.P_NOISE_TAU_S])
    noise_b = p[L.P_NOISE_OHM] * math.sqrt(3.0 * (1.0 - noise_a * noise_a))
    gain_decay = math.exp(-dt * slow_every / NOISE_GAIN_DECAY_S)
    return noise_a, noise_b, gain_decay


@jit
def advance(
    state: np.ndarray,
    rng: np.ndarray,
    params: np.ndarray,
    line_current_A: np.ndarray,
    dt: float,
    step0: int,
    stop_mask: int,
    events: np.ndarray,
    acc: np.ndarray,
    out: np.ndarray,
) -> tuple[int, int]:
    """Advance every cell ``len(line_current_A)`` steps of ``dt`` seconds.

    Returns ``(steps_done, n_events)``. Stops after the complete step in which an event whose bit
    ``1 << code`` is in ``stop_mask`` occurred, or before the event buffer could overflow. Event rows are
    (step within this call, 1-based; code; cell; value), in cell order.
    """
    ncell = state.shape[1]
    limit = line_current_A.shape[0]
    saved_state = state.copy()
    saved_rng = rng.copy()
    saved_acc = acc.copy()
    saved_out = out.copy()
    ran = np.zeros(ncell, dtype=np.int64)
    how = np.zeros(ncell, dtype=np.int64)
    n_events = 0
    noise_a, noise_b, gain_decay = noise_constants(params, dt)
    for i in range(ncell):
        done, n_events, ended = _run_cell(
            state,
            rng,
            params,
            line_current_A,
            dt,
            step0,
            stop_mask,
            events,
            n_events,
            acc,
            out,
            i,
            limit,
            True,
            noise_a,
            noise_b,
            gain_decay,
        )
        ran[i] = done
        how[i] = ended
        limit = min(limit, done)
    # Which check opening step `limit` stands, as in a step-outer loop: none if some cell stopped after step
    # limit - 1 (the loop never reaches the next opening); otherwise only the lowest-index cell's stopping
    # crossing (the loop checks cells in order and stops at the first).
    stopped_after = False
    for i in range(ncell):
        stopped_after = stopped_after or (ran[i] == limit and how[i] == STOPPED_AFTER)
    keeper = -1
    if not stopped_after:
        for i in range(ncell):
            if ran[i] == limit and how[i] == STOPPED_BEFORE:
                keeper = i
                break
    rerun = np.zeros(ncell, dtype=np.bool_)
    for i in range(ncell):
        rerun[i] = ran[i] > limit or (ran[i] == limit and how[i] == STOPPED_BEFORE and i != keeper)
        if rerun[i]:  # redo it up to the stop, without the opening check of step `limit`
            state[:, i] = saved_state[:, i]
            rng[i] = saved_rng[i]
            acc[:, i] = saved_acc[:, i]
            out[:, i] = saved_out[:, i]  # a re-run to 0 steps must not leave the discarded run's outputs
            _run_cell(
                state,
                rng,
                params,
                line_current_A,
                dt,
                step0,
                0,
                events,
                0,
                acc,
                out,
                i,
                limit,
                False,
                noise_a,
                noise_b,
                gain_decay,
            )
    kept = 0
    for e in range(n_events):
        # a limit crossing found at the check opening step `limit` by a cell that was re-run to `limit` steps
        # is not latched in its state: it is found (and reported) again by the next call, so drop it here
        rerun_limit_check = events[e, 0] == limit and events[e, 1] >= L.EV_FREEZE_RISK and rerun[int(events[e, 2])]
        if events[e, 0] <= limit and not rerun_limit_check:
            events[kept, :] = events[e, :]
            kept += 1
    return limit, kept
