"""One explicit-Euler step of every lane of a block: the fast part of the cell step, branch-free.

Everything here runs every step: the voltage from the held slow terms, Faraday and the alumina mass balance
(Yao 2017), the noise, the tracking feed control, the anode-effect onset and automatic kill, the resistance
regulation and the energy of the step (model and sources in :mod:`twin.cell.kernel`; equations in
:mod:`twin.cell.physics` and :mod:`twin.cell.chemistry`). The control logic is written as selects on masks
(``x = new if cond else x``) on the same arithmetic as the branches it replaces, so that LLVM vectorises the
lane loop (AVX-512 on this project's machines, ``<8 x double>``) and each lane's result is bit-identical to the
branchy scalar step. An anode-effect onset or end is only flagged (``EV_CODE``, ``EV_VALUE``): the block
records the events after the loop (:mod:`twin.cell.block`).
"""

from __future__ import annotations

import math

import numpy as np

from twin._numba import jit
from twin.cell import lane_rows as R
from twin.cell import layout as L
from twin.cell import physics as ph
from twin.cell.chemistry import calcium_oxide_reaction, sodium_oxide_reaction
from twin.cell.noise import symmetric_uniform, xorshift

AL_KG_PER_COULOMB = ph.M_AL / (3.0 * ph.FARADAY)
ALUMINA_KG_PER_COULOMB = ph.M_AL2O3 / (6.0 * ph.FARADAY)
REGULATION_MIN_CURRENT = 0.5  # regulation is blocked below half the nominal current (outages, restart ramps);
# potlines are regulated through power modulation down to -30 % (TRIMET, EnPot; physics.md §1.10)
ALUMINA_FLOOR_WTPCT = 0.3  # the alumina terms of the voltage are evaluated no lower than this


@jit
def lane_step(
    b: np.ndarray, xs: np.ndarray, p: np.ndarray, nb: int, line_A: float, dt: float, noise_a: float, noise_b: float
) -> int:
    """Advance lanes ``0 … nb−1`` of the block buffer ``b`` (rows of :mod:`twin.cell.lane_rows`) one step at the
    line current ``line_A``; ``xs`` holds the lanes' noise generators. Returns how many lanes flagged an
    anode-effect event."""
    conduct_area = p[L.P_FANNING] * p[L.P_ANODE_AREA_CM2]
    r_ext = p[L.P_R_EXTERNAL_OHM]
    r_ohmic = p[L.P_R_ANODE_OHM] + p[L.P_R_CATHODE_OHM] + r_ext + p[L.P_R_CALIBRATION_OHM]
    i_nominal = p[L.P_I_NOMINAL_A]
    c_ae = p[L.P_ALUMINA_AE_WTPCT]
    shot = p[L.P_SHOT_KG]
    r_undiss = p[L.P_UNDISSOLVED_FRACTION]
    diss_step = min(p[L.P_K_DISS] * dt, 1.0)
    e_feed = p[L.P_ALUMINA_HEAT_J_PER_KG]
    na2o_share = p[L.P_NA2O_KG_PER_KG_ALUMINA]
    cao_share = p[L.P_CAO_KG_PER_KG_ALUMINA]
    ae_to_gas = 1.0 - p[L.P_AE_HEAT_BATH_FRACTION] - p[L.P_AE_HEAT_ANODE_FRACTION]
    ae_to_anode = p[L.P_AE_HEAT_ANODE_FRACTION]
    metal_cm_per_kg = 100.0 / (p[L.P_METAL_DENSITY] * p[L.P_CAVITY_AREA_M2])
    alpha_fast = min(dt / p[L.P_SLOPE_FAST_S], 1.0)
    alpha_slow = min(dt / p[L.P_SLOPE_SLOW_S], 1.0)
    inv_span = 1.0 / (p[L.P_SLOPE_SLOW_S] - p[L.P_SLOPE_FAST_S])
    slope_threshold = p[L.P_SLOPE_THRESHOLD_OHM_PER_S]
    bemf = p[L.P_BEMF_V]
    v_ae_set = p[L.P_AE_VOLTAGE]
    ae_detect_v = p[L.P_AE_DETECT_V]
    consumption_per_A = p[L.P_ANODE_CONSUMPTION_CM_PER_S] / i_nominal
    alf3_loss = p[L.P_ALF3_LOSS_KG_PER_KG_AL]
    underfeed = p[L.P_UNDERFEED]
    overfeed = p[L.P_OVERFEED]
    underfeed_min = p[L.P_UNDERFEED_MIN_S]
    underfeed_max = p[L.P_UNDERFEED_MAX_S]
    overfeed_s = p[L.P_OVERFEED_S]
    kill_time = p[L.P_AE_KILL_TIME_S]
    kill_dose = p[L.P_AE_KILL_DOSE_KG]
    reg_interval = p[L.P_REG_INTERVAL_S]
    reg_min_A = REGULATION_MIN_CURRENT * i_nominal
    deadband = p[L.P_DEADBAND_OHM]
    move_max = p[L.P_BEAM_MOVE_MAX_CM]
    acd_min = p[L.P_ACD_MIN_CM]
    acd_max = p[L.P_ACD_MAX_CM]
    inv_shot = 1.0 / shot
    flagged = 0
    for j in range(nb):
        I = line_A * b[R.IN_LINE + j]
        m_diss = b[R.M_DISS + j]
        m_undiss = b[R.M_UNDISS + j]
        m_bath = b[R.M_BATH + j]
        m_alf3 = b[R.M_ALF3 + j]
        acd = b[R.ACD + j]
        ae = b[R.AE + j]
        mode = b[R.MODE + j]
        r_fast = b[R.R_FAST + j]
        r_slow = b[R.R_SLOW + j]
        pct_per_kg = b[R.PCT + j]
        g = b[R.G + j]
        d_b = b[R.D_B + j]
        ce = b[R.CE_I + j]  # at the lane's current (lane_open)
        al2o3 = m_diss * pct_per_kg
        c_eval = max(al2o3, ALUMINA_FLOOR_WTPCT)

        # --- voltage (Haupin breakdown) on the held log terms ---
        phi = b[R.PHI_BASE + j] + ph.bubble_coverage_alumina(c_eval, c_ae)
        v_bath = I * (acd - d_b) * g
        v_bubble = I * d_b * phi / (1.0 - phi) * g
        x = xorshift(xs[j])
        xs[j] = x
        noise = noise_a * b[R.NOISE + j] + noise_b * symmetric_uniform(x)
        b[R.NOISE + j] = noise
        v_noise = I * noise * b[R.GAIN + j]
        v_normal = (
            b[R.E_REV + j] + b[R.ETA_CONC + j] + b[R.ETA_SURF + j] + b[R.ETA_CATH + j] + v_bath + v_bubble
            + I * r_ohmic + v_noise
        )
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
        mode_time = b[R.MODE_TIME + j] + dt
        r_pseudo = (v_cell - bemf) * b[R.INV_I + j]
        filtering = ae == 0.0 and I > 0.0
        r_fast = r_fast + alpha_fast * (r_pseudo - r_fast) if filtering else r_fast
        r_slow = r_slow + alpha_slow * (r_pseudo - r_slow) if filtering else r_slow
        slope = (r_fast - r_slow) * inv_span
        nominal_rate = ce * I * ALUMINA_KG_PER_COULOMB
        strategy = b[R.STRATEGY + j]
        tracking = strategy == L.FEED_TRACKING
        under = mode == 0.0
        to_over = under and ((mode_time >= underfeed_min and slope > slope_threshold) or mode_time >= underfeed_max)
        to_under = (not under) and mode_time >= overfeed_s
        switch = tracking and (to_over or to_under)
        track_rate = underfeed * nominal_rate if under else overfeed * nominal_rate
        rate = track_rate if tracking else (nominal_rate if strategy == L.FEED_FIXED else 0.0)
        # the overfeed mode belongs to tracking control: any other strategy feeds (or not) at one rate, so its
        # regulation is never blocked for an overfeed (a pot switched from tracking mid-overfeed included)
        mode = ((1.0 if under else 0.0) if switch else mode) if tracking else 0.0
        mode_time = 0.0 if switch else mode_time
        demand = b[R.DEMAND + j] + rate * dt * (1.0 - ae)
        shots = math.floor(demand * inv_shot)
        b[R.DEMAND + j] = demand - shots * shot
        fed_shots = shots * shot * b[R.FEED_EFF + j]
        # the Na2O of the alumina neutralises excess AlF3 as it dissolves (twin.cell.chemistry)
        alf3_used, cryolite, alumina_formed = sodium_oxide_reaction(na2o_share * fed_shots, m_alf3)
        # and its CaO forms CaF2 with excess AlF3 (twin.cell.chemistry): the bath's CaF2 source
        alf3_to_caf2, caf2_formed, alumina_from_cao, cao_left = calcium_oxide_reaction(
            cao_share * fed_shots, m_alf3 - alf3_used
        )
        feeding = fed_shots > 0.0
        m_alf3 = m_alf3 - alf3_used - alf3_to_caf2 if feeding else m_alf3
        m_bath = m_bath + (cryolite - alf3_used) + (caf2_formed + cao_left - alf3_to_caf2) if feeding else m_bath
        b[R.M_CAF2 + j] = b[R.M_CAF2 + j] + caf2_formed if feeding else b[R.M_CAF2 + j]
        b[R.A_NA2O_ALF3 + j] = b[R.A_NA2O_ALF3 + j] + alf3_used if feeding else b[R.A_NA2O_ALF3 + j]
        b[R.A_NA2O_CRYO + j] = b[R.A_NA2O_CRYO + j] + cryolite if feeding else b[R.A_NA2O_CRYO + j]
        b[R.A_CAO_ALF3 + j] = b[R.A_CAO_ALF3 + j] + alf3_to_caf2 if feeding else b[R.A_CAO_ALF3 + j]
        b[R.A_CAO_CAF2 + j] = b[R.A_CAO_CAF2 + j] + caf2_formed if feeding else b[R.A_CAO_CAF2 + j]
        alumina_in = fed_shots * (1.0 - na2o_share - cao_share) + alumina_formed + alumina_from_cao
        m_diss = m_diss + (1.0 - r_undiss) * alumina_in if feeding else m_diss
        m_undiss = m_undiss + r_undiss * alumina_in if feeding else m_undiss
        fed = fed_shots

        # --- anode effect: onset, automatic kill, end (flagged; the block records the events) ---
        ae_time = b[R.AE_TIME + j]
        kill_timer = b[R.KILL + j]
        onset = ae == 0.0 and al2o3 < c_ae and I > 0.0
        in_ae = ae == 1.0
        ae_time = ae_time + dt if in_ae else ae_time
        seen = in_ae and v_cell > ae_detect_v  # the controller sees the effect: kill sequence and AE-minutes run
        kill_timer = kill_timer + dt if seen else kill_timer
        b[R.A_AE_S + j] = b[R.A_AE_S + j] + dt if seen else b[R.A_AE_S + j]
        kill = in_ae and kill_timer >= kill_time
        fed = fed + kill_dose if kill else fed
        m_diss = m_diss + kill_dose if kill else m_diss
        kill_timer = 0.0 if kill else kill_timer
        ends = kill and (m_diss * pct_per_kg >= c_ae or I <= 0.0)
        b[R.EV_CODE + j] = 1.0 if onset else (2.0 if ends else 0.0)
        flagged += 1 if (onset or ends) else 0
        b[R.EV_VALUE + j] = al2o3 if onset else ae_time
        ae = 1.0 if onset else (0.0 if ends else ae)
        mode = 1.0 if ends and tracking else mode  # tracking control overfeeds after a kill
        mode_time = 0.0 if ends else mode_time
        ae_time = 0.0 if onset else ae_time
        kill_timer = 0.0 if onset else kill_timer
        b[R.A_AE_COUNT + j] = b[R.A_AE_COUNT + j] + 1.0 if onset else b[R.A_AE_COUNT + j]
        b[R.AE_TIME + j] = ae_time
        b[R.KILL + j] = kill_timer

        # --- resistance regulation: beam moves with deadband and move limit ---
        reg_timer = b[R.REG_TIMER + j] + dt
        due = reg_timer >= reg_interval
        b[R.REG_TIMER + j] = 0.0 if due else reg_timer
        error = b[R.R_TARGET + j] - r_slow
        move = min(max(error * b[R.KAPPA + j] * conduct_area, -move_max), move_max)
        new_acd = min(max(acd + move, acd_min), acd_max)
        moves = due and ae == 0.0 and mode == 0.0 and reg_min_A <= I and abs(error) > deadband and new_acd != acd
        r_slow = r_slow + (new_acd - acd) * g if moves else r_slow
        r_fast = r_fast + (new_acd - acd) * g if moves else r_fast
        acd = new_acd if moves else acd
        b[R.A_MOVES + j] = b[R.A_MOVES + j] + 1.0 if moves else b[R.A_MOVES + j]

        # --- energy in this step; the losses are booked at the last update's rate and settled, with the ledge,
        # on the thermal cadence (twin.cell.thermal: operator splitting) ---
        p_in = I * v_cell
        p_ext = I * I * r_ext
        e_reaction = al_made * b[R.E_PROC + j]
        e_carbon = al_made * b[R.E_CARBON + j]
        p_ae = I * v_ae  # anode-effect energy, split between liquids, anode node and off-gas
        b[R.ENTHALPY + j] += (
            (p_in - p_ext - (ae_to_gas + ae_to_anode) * p_ae - b[R.LOSS_W + j]) * dt - e_reaction - e_carbon
            - fed * e_feed
        )
        b[R.AE_ANODE + j] += ae_to_anode * p_ae * dt
        b[R.A_GAS + j] += ae_to_gas * p_ae * dt
        b[R.I_THERMAL + j] += I
        alf3_lost = min(alf3_loss * al_made, m_alf3)
        b[R.M_BATH + j] = m_bath - alf3_lost  # leaves (and metal forms) at T_ref: the enthalpy is unchanged
        b[R.M_ALF3 + j] = m_alf3 - alf3_lost
        b[R.M_METAL + j] += al_made
        b[R.ACD + j] = acd + ((consumption_per_A * I * dt) - al_made * metal_cm_per_kg)
        b[R.AGE + j] += dt
        b[R.M_DISS + j] = m_diss
        b[R.M_UNDISS + j] = m_undiss
        b[R.AE + j] = ae
        b[R.MODE + j] = mode
        b[R.MODE_TIME + j] = mode_time
        b[R.R_FAST + j] = r_fast
        b[R.R_SLOW + j] = r_slow

        # --- accumulators and the values of the last step ---
        b[R.A_CHARGE + j] += charge
        b[R.A_E_IN + j] += p_in * dt
        b[R.A_E_EXT + j] += p_ext * dt
        b[R.A_E_RX + j] += e_reaction
        b[R.A_E_FEED + j] += fed * e_feed
        b[R.A_E_C + j] += e_carbon
        b[R.A_AL + j] += al_made
        b[R.A_FED + j] += fed
        b[R.A_CONSUMED + j] += consumed - deficit
        b[R.A_DEFICIT + j] += deficit
        b[R.A_SHOTS + j] += shots
        b[R.A_ALF3 + j] += alf3_lost
        b[R.A_VS + j] += v_cell * dt
        b[R.V_BATH + j] = v_bath
        b[R.V_BUBBLE + j] = v_bubble
        b[R.V_NOISE + j] = v_noise
        b[R.V_AE + j] = v_ae
        b[R.V_CELL + j] = v_cell
        b[R.R_PSEUDO + j] = r_pseudo
        b[R.I_DONE + j] = I
    return flagged
