"""A block of up to ``LANES`` neighbouring cells advanced together, step-outer and lane-inner.

Per step: the opening (:func:`twin.cell.lane_open.open_step`, scalar) only on the slow cadence, on the first
step and when the line current changes; then the vectorised fast step of every lane
(:func:`twin.cell.lane_step.lane_step`); then the anode-effect events the step flagged are recorded, lane by lane.
The block stops after a step with a stopping event in any lane, or before a step whose opening finds a stopping
limit crossing (:mod:`twin.cell.kernel` explains how such stops become the result of a step-outer loop).
"""

from __future__ import annotations

import numpy as np

from twin._numba import jit
from twin.cell import lane_rows as R
from twin.cell import layout as L
from twin.cell.events import record as record_event
from twin.cell.lane_open import flush_thermal, open_step
from twin.cell.lane_step import lane_step

AE_EVENTS_PER_STEP = 1  # an onset or an end, recorded after the step
LIMIT_EVENTS_PER_OPENING = 5  # one per limit (twin.cell.events), recorded when a step's opening checks them
EVENTS_PER_CELL_STEP = AE_EVENTS_PER_STEP + LIMIT_EVENTS_PER_OPENING  # at most, per cell and step
RAN_OUT, STOPPED_AFTER, STOPPED_BEFORE = 0, 1, 2  # how a cell's run ended


@jit
def load_block(state: np.ndarray, rng: np.ndarray, p: np.ndarray, b: np.ndarray, xs: np.ndarray, start: int,
               nb: int) -> None:
    """Copy cells ``start … start+nb−1`` into the lane buffer; zero the accumulators."""
    b[:] = 0.0
    for j in range(nb):
        i = start + j
        b[R.M_DISS + j] = state[L.S_ALUMINA_DISSOLVED_KG, i]
        b[R.M_UNDISS + j] = state[L.S_ALUMINA_UNDISSOLVED_KG, i]
        b[R.T + j] = state[L.S_TEMP_DEGC, i]
        b[R.M_BATH + j] = state[L.S_BATH_KG, i]
        b[R.M_ALF3 + j] = state[L.S_ALF3_KG, i]
        b[R.M_CAF2 + j] = state[L.S_CAF2_KG, i]
        b[R.M_METAL + j] = state[L.S_METAL_KG, i]
        b[R.ACD + j] = state[L.S_ACD_CM, i]
        b[R.AGE + j] = state[L.S_ANODE_AGE_S, i]
        b[R.AE + j] = state[L.S_AE_ACTIVE, i]
        b[R.AE_TIME + j] = state[L.S_AE_TIME_S, i]
        b[R.KILL + j] = state[L.S_AE_KILL_TIMER_S, i]
        b[R.MODE + j] = state[L.S_FEED_MODE, i]
        b[R.MODE_TIME + j] = state[L.S_FEED_MODE_TIME_S, i]
        b[R.DEMAND + j] = state[L.S_FEED_DEMAND_KG, i]
        b[R.R_FAST + j] = state[L.S_R_FAST_OHM, i]
        b[R.R_SLOW + j] = state[L.S_R_SLOW_OHM, i]
        b[R.REG_TIMER + j] = state[L.S_REG_TIMER_S, i]
        b[R.NOISE + j] = state[L.S_NOISE_OHM, i]
        b[R.GAIN + j] = state[L.S_NOISE_GAIN, i]
        b[R.STRATEGY + j] = state[L.S_FEED_STRATEGY, i]
        b[R.FEED_EFF + j] = state[L.S_FEED_EFFICIENCY, i]
        b[R.FLAGS + j] = float(int(state[L.S_LIMIT_FLAGS, i]))
        b[R.R_TARGET + j] = state[L.S_R_TARGET_OHM, i]
        b[R.IN_LINE + j] = state[L.S_IN_LINE, i]
        b[R.KAPPA + j] = state[L.S_KAPPA_S_PER_CM, i]
        b[R.T_LIQ + j] = state[L.S_LIQUIDUS_DEGC, i]
        b[R.C_SAT + j] = state[L.S_ALUMINA_SAT_WTPCT, i]
        b[R.RATIO + j] = state[L.S_BATH_RATIO, i]
        b[R.CE + j] = state[L.S_CE, i]
        m_bath = state[L.S_BATH_KG, i]
        m_metal = state[L.S_METAL_KG, i]
        # the liquids' enthalpy relative to T_REF_DEGC (J)
        b[R.ENTHALPY + j] = (m_bath * p[L.P_CP_BATH] + m_metal * p[L.P_CP_METAL]) * (
            state[L.S_TEMP_DEGC, i] - L.T_REF_DEGC
        )
        b[R.LOSS_W + j] = state[L.S_LIQUIDS_LOSS_W, i]
        b[R.I_LAST + j] = -1.0
        b[R.STIR_I + j] = -1.0
        xs[j] = rng[i]


@jit
def _put(dst: np.ndarray, row: int, b: np.ndarray, off: int, start: int, nb: int) -> None:
    """Row ``row`` of ``dst`` for cells ``start … start+nb−1`` from the lane buffer's row at ``off``.

    Through views indexed by the loop counter alone: numba checks an index for wrap-around (a negative index
    counts from the end) unless it can prove it non-negative, and ``start + j`` it cannot; the check keeps
    the loop from being vectorised and made each row copy ~5x slower (issue 12 item 3)."""
    to, of = dst[row, start:start + nb], b[off:off + nb]
    for j in range(nb):
        to[j] = of[j]


@jit
def _add(dst: np.ndarray, row: int, b: np.ndarray, off: int, start: int, nb: int) -> None:
    """Add the lane buffer's row at ``off`` to row ``row`` of ``dst`` for cells ``start … start+nb−1`` (views as
    in :func:`_put`)."""
    to, of = dst[row, start:start + nb], b[off:off + nb]
    for j in range(nb):
        to[j] += of[j]


@jit
def store_block(state: np.ndarray, rng: np.ndarray, p: np.ndarray, acc: np.ndarray, out: np.ndarray,
                b: np.ndarray, xs: np.ndarray, start: int, nb: int, pending: int, unflushed: int, steps: int,
                dt: float) -> None:
    """Write the block's lanes back to cells ``start … start+nb−1`` after ``steps`` steps, applying the heat of
    their ``pending`` steps, except lanes ``j < unflushed`` (their heat was applied by the opening they stopped
    in). Row by row (contiguous in both the buffer and the state), except the per-lane thermal flush; every
    lane gets the same operations in the same order as alone."""
    for j in range(nb):
        i = start + j
        if pending > 0 and j >= unflushed:
            flush_thermal(b, j, state, i, p, pending, dt, out)
            b[R.T_LIQ + j] = state[L.S_LIQUIDUS_DEGC, i]
        else:
            state[L.S_ALUMINA_DISSOLVED_KG, i] = b[R.M_DISS + j]
            state[L.S_BATH_KG, i] = b[R.M_BATH + j]
            state[L.S_ALF3_KG, i] = b[R.M_ALF3 + j]
            state[L.S_CAF2_KG, i] = b[R.M_CAF2 + j]
            state[L.S_LIQUIDUS_DEGC, i] = b[R.T_LIQ + j]
    _put(state, L.S_METAL_KG, b, R.M_METAL, start, nb)
    _put(state, L.S_ALUMINA_UNDISSOLVED_KG, b, R.M_UNDISS, start, nb)
    _put(state, L.S_ACD_CM, b, R.ACD, start, nb)
    _put(state, L.S_ANODE_AGE_S, b, R.AGE, start, nb)
    _put(state, L.S_AE_ACTIVE, b, R.AE, start, nb)
    _put(state, L.S_AE_TIME_S, b, R.AE_TIME, start, nb)
    _put(state, L.S_AE_KILL_TIMER_S, b, R.KILL, start, nb)
    _put(state, L.S_FEED_MODE, b, R.MODE, start, nb)
    _put(state, L.S_FEED_MODE_TIME_S, b, R.MODE_TIME, start, nb)
    _put(state, L.S_FEED_DEMAND_KG, b, R.DEMAND, start, nb)
    _put(state, L.S_R_FAST_OHM, b, R.R_FAST, start, nb)
    _put(state, L.S_R_SLOW_OHM, b, R.R_SLOW, start, nb)
    _put(state, L.S_REG_TIMER_S, b, R.REG_TIMER, start, nb)
    _put(state, L.S_NOISE_OHM, b, R.NOISE, start, nb)
    _put(state, L.S_NOISE_GAIN, b, R.GAIN, start, nb)
    _put(state, L.S_LIMIT_FLAGS, b, R.FLAGS, start, nb)
    _put(state, L.S_KAPPA_S_PER_CM, b, R.KAPPA, start, nb)
    _put(state, L.S_ALUMINA_SAT_WTPCT, b, R.C_SAT, start, nb)
    _put(state, L.S_BATH_RATIO, b, R.RATIO, start, nb)
    _put(state, L.S_CE, b, R.CE, start, nb)
    for j in range(nb):
        rng[start + j] = xs[j]

    _add(acc, L.A_CHARGE_C, b, R.A_CHARGE, start, nb)
    _add(acc, L.A_ENERGY_IN_J, b, R.A_E_IN, start, nb)
    _add(acc, L.A_ENERGY_EXTERNAL_J, b, R.A_E_EXT, start, nb)
    _add(acc, L.A_ENERGY_REACTION_J, b, R.A_E_RX, start, nb)
    _add(acc, L.A_ENERGY_FEED_J, b, R.A_E_FEED, start, nb)
    _add(acc, L.A_ENERGY_CARBON_J, b, R.A_E_C, start, nb)
    _add(acc, L.A_LOSS_TOP_J, b, R.A_TOP, start, nb)
    _add(acc, L.A_LOSS_BOTTOM_J, b, R.A_BOTTOM, start, nb)
    _add(acc, L.A_LOSS_SIDE_BATH_J, b, R.A_SIDE_B, start, nb)
    _add(acc, L.A_LOSS_SIDE_METAL_J, b, R.A_SIDE_M, start, nb)
    _add(acc, L.A_LOSS_OFFGAS_J, b, R.A_GAS, start, nb)
    _add(acc, L.A_ALF3_NA2O_KG, b, R.A_NA2O_ALF3, start, nb)
    _add(acc, L.A_CRYOLITE_NA2O_KG, b, R.A_NA2O_CRYO, start, nb)
    _add(acc, L.A_ALF3_CAO_KG, b, R.A_CAO_ALF3, start, nb)
    _add(acc, L.A_CAF2_CAO_KG, b, R.A_CAO_CAF2, start, nb)
    _add(acc, L.A_HEAT_EXTRACTED_J, b, R.A_HX, start, nb)
    _add(acc, L.A_AL_PRODUCED_KG, b, R.A_AL, start, nb)
    _add(acc, L.A_ALUMINA_FED_KG, b, R.A_FED, start, nb)
    _add(acc, L.A_ALUMINA_CONSUMED_KG, b, R.A_CONSUMED, start, nb)
    _add(acc, L.A_ALUMINA_DEFICIT_KG, b, R.A_DEFICIT, start, nb)
    _add(acc, L.A_AE_COUNT, b, R.A_AE_COUNT, start, nb)
    _add(acc, L.A_AE_SECONDS, b, R.A_AE_S, start, nb)
    _add(acc, L.A_FEED_SHOTS, b, R.A_SHOTS, start, nb)
    _add(acc, L.A_BEAM_MOVES, b, R.A_MOVES, start, nb)
    carbon = p[L.P_CARBON_KG_PER_KG_AL]
    for j in range(nb):
        acc[L.A_CARBON_KG, start + j] += carbon * b[R.A_AL + j]
    _add(acc, L.A_ALF3_LOST_KG, b, R.A_ALF3, start, nb)
    _add(acc, L.A_VOLTAGE_SECONDS, b, R.A_VS, start, nb)

    if steps > 0:
        _put(out, L.O_V_CELL, b, R.V_CELL, start, nb)
        _put(out, L.O_E_REV, b, R.E_REV, start, nb)
        _put(out, L.O_ETA_ANODE_CONC, b, R.ETA_CONC, start, nb)
        _put(out, L.O_ETA_ANODE_SURF, b, R.ETA_SURF, start, nb)
        _put(out, L.O_ETA_CATHODE, b, R.ETA_CATH, start, nb)
        _put(out, L.O_V_BATH, b, R.V_BATH, start, nb)
        _put(out, L.O_V_BUBBLE, b, R.V_BUBBLE, start, nb)
        _put(out, L.O_V_NOISE, b, R.V_NOISE, start, nb)
        _put(out, L.O_V_ANODE_EFFECT, b, R.V_AE, start, nb)
        _put(out, L.O_R_PSEUDO_OHM, b, R.R_PSEUDO, start, nb)
        _put(out, L.O_LINE_CURRENT_A, b, R.I_DONE, start, nb)
        r_anode, r_cathode = p[L.P_R_ANODE_OHM], p[L.P_R_CATHODE_OHM]
        r_external, r_calibration = p[L.P_R_EXTERNAL_OHM], p[L.P_R_CALIBRATION_OHM]
        for j in range(nb):
            I = b[R.I_DONE + j]
            out[L.O_V_ANODE, start + j] = I * r_anode
            out[L.O_V_CATHODE, start + j] = I * r_cathode
            out[L.O_V_EXTERNAL, start + j] = I * r_external
            out[L.O_V_CALIBRATION, start + j] = I * r_calibration
    metal_cm_per_kg = 100.0 / (p[L.P_METAL_DENSITY] * p[L.P_CAVITY_AREA_M2])
    for j in range(nb):
        i = start + j
        m_bath = state[L.S_BATH_KG, i]
        out[L.O_SUPERHEAT_K, i] = state[L.S_TEMP_DEGC, i] - state[L.S_LIQUIDUS_DEGC, i]
        out[L.O_ALUMINA_WTPCT, i] = 100.0 * state[L.S_ALUMINA_DISSOLVED_KG, i] / m_bath
        out[L.O_ALF3_WTPCT, i] = 100.0 * state[L.S_ALF3_KG, i] / m_bath
        out[L.O_CAF2_WTPCT, i] = 100.0 * state[L.S_CAF2_KG, i] / m_bath
        out[L.O_METAL_CM, i] = b[R.M_METAL + j] * metal_cm_per_kg


@jit
def events_bound(p: np.ndarray, line_current_A: np.ndarray, step0: int) -> int:
    """The most events one cell can record in a call over ``line_current_A`` from global step ``step0``: one AE
    event per step and one per limit at each opening, which :func:`run_block` does on the slow cadence, at the
    first step and when the line current changes. A call whose event buffer gives every cell this many rows
    cannot stop early for a full buffer."""
    slow_every = max(int(p[L.P_SLOW_EVERY]), 1)
    limit = line_current_A.shape[0]
    openings = 0
    for k in range(limit):
        if (step0 + k) % slow_every == 0 or k == 0 or line_current_A[k] != line_current_A[k - 1]:
            openings += 1
    return limit * AE_EVENTS_PER_STEP + openings * LIMIT_EVENTS_PER_OPENING


@jit
def run_block(
    state: np.ndarray, rng: np.ndarray, p: np.ndarray, line_current_A: np.ndarray, dt: float, step0: int,
    stop_mask: int, events: np.ndarray, n_events: int, acc: np.ndarray, out: np.ndarray, start: int, nb: int,
    limit: int, record: bool, noise_a: float, noise_b: float, gain_decay: float, b: np.ndarray, xs: np.ndarray,
    ran: np.ndarray, how: np.ndarray,
) -> tuple[int, int]:
    """Advance cells ``start … start+nb−1`` up to ``limit`` steps; return (steps done, events recorded so far).

    Per cell, ``ran`` and ``how`` say how far it went and how it ended, as if it had run alone (``RAN_OUT``,
    ``STOPPED_AFTER`` a step with a stopping event or with its share of the event buffer full,
    ``STOPPED_BEFORE`` a step whose opening found a stopping limit crossing). Cells opened before the stopping
    one at that step are reported one step further, so that the caller re-runs them.
    """
    load_block(state, rng, p, b, xs, start, nb)
    how[start:start + nb] = RAN_OUT
    slow_every = max(int(p[L.P_SLOW_EVERY]), 1)
    capacity = events.shape[0] // state.shape[1] - EVENTS_PER_CELL_STEP
    countdown = (slow_every - step0 % slow_every) % slow_every  # steps until the next global multiple
    pending = 0  # steps whose heat losses are not yet applied (the same for every lane)
    stopper = -1  # lane whose limit crossing stops the block before step k
    stopper_cadence = False
    stop_after = False
    line_prev = 0.0
    k = 0
    while k < limit:
        line_A = line_current_A[k]
        n_before = n_events
        cadence = countdown == 0
        countdown = slow_every - 1 if cadence else countdown - 1
        if cadence or k == 0 or line_A != line_prev:
            n_events, stopper = open_step(
                b, state, p, out, events, n_events, start, nb, k, line_A, cadence, pending, dt, gain_decay,
                stop_mask, record,
            )
            if stopper >= 0:
                stopper_cadence = cadence
                break
            if cadence:
                pending = 0
        line_prev = line_A
        flagged = lane_step(b, xs, p, nb, line_A, dt, noise_a, noise_b)
        pending += 1
        k += 1
        if flagged > 0:
            for j in range(nb):
                code = b[R.EV_CODE + j]
                if code == 0.0:
                    continue
                ev = L.EV_AE_ONSET if code == 1.0 else L.EV_AE_END
                if record:
                    n_events = record_event(events, n_events, k, ev, start + j, b[R.EV_VALUE + j])
                    b[R.EV_COUNT + j] += 1.0
                if (stop_mask >> ev) & 1 == 1:
                    how[start + j] = STOPPED_AFTER
                    stop_after = True
        if record and n_events != n_before:
            for j in range(nb):
                if b[R.EV_COUNT + j] > capacity:
                    how[start + j] = STOPPED_AFTER
                    stop_after = True
        if stop_after:
            break
    for j in range(nb):
        i = start + j
        if stopper >= 0:
            ran[i] = k + 1 if j < stopper else k
            how[i] = STOPPED_BEFORE if j == stopper else RAN_OUT
        else:
            ran[i] = k
    # lanes up to the stopper opened step k before the block stopped: on a cadence that opening applied their heat
    unflushed = stopper + 1 if (stopper >= 0 and stopper_cadence) else 0
    store_block(state, rng, p, acc, out, b, xs, start, nb, pending, unflushed, k, dt)
    return k, n_events
