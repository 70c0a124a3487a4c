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
* **CE** — Dewing 1991 (Metall. Trans. B 22) with a per-technology constant, at the line current through the
  loss flux's current density (Sterten & Solli 1996; Solheim et al. LM 2018; ``physics.current_efficiency_at_current``).
* **Energy** — Haupin/Entner balance (physics.md §1.6): heat released inside the cell I·V − I²·R_ext, less the
  process energy e_proc(CE) per kg Al (back reaction counted once) and the alumina heating, with the
  anode-effect energy split between liquids, anode node and off-gas, integrated as the liquids' enthalpy
  H = (m_bath·c_bath + m_metal·c_metal)·(T − 950 °C) so the balance closes to round-off. The losses, the
  three-node network, the two ledge fronts and the superheat floor are :mod:`twin.cell.thermal`; the bath and
  ledge chemistry (entrapment, Na2O, CaO) :mod:`twin.cell.chemistry`.
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
loop runs block-outer: blocks of ``LANES`` neighbouring cells (:mod:`twin.cell.lane_rows`), each advanced
step-outer and lane-inner (:mod:`twin.cell.block`). Per step the fast part of every lane (voltage, mass balance,
control, anode effect, regulation, energy: :mod:`twin.cell.lane_step`) is one branch-free loop that the compiler
vectorises across the lanes (AVX-512: eight cells per instruction); the transcendental slow part
(:mod:`twin.cell.lane_open`) runs lane by lane only on its cadence and after a change of current; events are
collected after the lane loop. Each lane computes exactly what the cell would alone (same operations, same
order, no fastmath), so the result does not depend on the block size.

A stop event at step k in one cell truncates every cell to k + 1 steps: cells that ran further are restored
from a copy and re-run (as a block of one), so the result is the same as a step-outer loop that stops after
step k. A call that cannot stop (no stopping events, and an event buffer with room for every event a cell can
record in it, :func:`twin.cell.block.events_bound`) makes no copy.

Without stop events (``stop_mask`` 0) the cells may also be advanced in contiguous ranges of whole blocks,
one :func:`advance_cells` call per range, in parallel threads (``Potline(threads=k)``): a range stops only to
drain its event buffer, and the driver re-runs the ranges that went further to the earliest stop, so the
result is that of one :func:`advance` call bit for bit.

Slow terms (conductivity, liquidus, saturation, bath ratio, CE, and the logarithmic electrochemical
terms, which move with temperature and alumina on minute scales) are refreshed every ``P_SLOW_EVERY``
steps on the global step count; with 1 they are exact every step.
"""

from __future__ import annotations

import math

import numpy as np

from twin._numba import jit
from twin.cell import lane_rows as R
from twin.cell import layout as L
from twin.cell.block import EVENTS_PER_CELL_STEP, STOPPED_AFTER, STOPPED_BEFORE, events_bound, run_block
from twin.cell.lane_step import AL_KG_PER_COULOMB, ALUMINA_KG_PER_COULOMB

__all__ = [
    "ALUMINA_KG_PER_COULOMB",
    "AL_KG_PER_COULOMB",
    "EVENTS_PER_CELL_STEP",
    "advance",
    "advance_cells",
    "events_bound",
    "noise_constants",
]

NOISE_GAIN_DECAY_S = 4.0 * 3600.0  # extra noise after an anode change decays with this time constant


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
    (step within this call, 1-based; code; cell; value), ordered by block of cells, then step.
    """
    ncell = state.shape[1]
    limit = line_current_A.shape[0]
    share = events.shape[0] // ncell - EVENTS_PER_CELL_STEP  # a cell's rows before its block stops
    if stop_mask == 0 and share >= events_bound(params, line_current_A, step0):
        # no cell can stop this call (no stopping events, room for every event it can record): nothing will be
        # restored, so the copies are not made (~0.3 MB written per call on 400 cells)
        saved_state = np.empty((state.shape[0], 0))
        saved_rng = np.empty(0, dtype=rng.dtype)
        saved_acc = np.empty((acc.shape[0], 0))
        saved_out = np.empty((out.shape[0], 0))
    else:
        saved_state = state.copy()
        saved_rng = rng.copy()
        saved_acc = acc.copy()
        saved_out = out.copy()
    ran = np.zeros(ncell, dtype=np.int64)
    how = np.zeros(ncell, dtype=np.int64)
    n_events = 0
    noise_a, noise_b, gain_decay = noise_constants(params, dt)
    b = np.empty(R.BUFFER_SIZE)
    xs = np.empty(R.LANES, dtype=rng.dtype)
    for start in range(0, ncell, R.LANES):
        done, n_events = run_block(
            state, rng, params, line_current_A, dt, step0, stop_mask, events, n_events, acc, out, start,
            min(R.LANES, ncell - start), limit, True, noise_a, noise_b, gain_decay, b, xs, ran, how,
        )
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
    scratch_ran = np.zeros(ncell, dtype=np.int64)
    scratch_how = np.zeros(ncell, dtype=np.int64)
    for i in range(ncell):
        rerun[i] = ran[i] > limit or (ran[i] == limit and how[i] == STOPPED_BEFORE and i != keeper)
        if rerun[i]:
            _rerun_cell(state, rng, params, line_current_A, dt, step0, events, acc, out, i, limit, saved_state,
                        saved_rng, saved_acc, saved_out, noise_a, noise_b, gain_decay, b, xs, scratch_ran, scratch_how)
    return limit, _keep_events(events, n_events, limit, rerun)


@jit
def _rerun_cell(
    state: np.ndarray, rng: np.ndarray, params: np.ndarray, line_current_A: np.ndarray, dt: float, step0: int,
    events: np.ndarray, acc: np.ndarray, out: np.ndarray, i: int, limit: int, saved_state: np.ndarray,
    saved_rng: np.ndarray, saved_acc: np.ndarray, saved_out: np.ndarray, noise_a: float, noise_b: float,
    gain_decay: float, b: np.ndarray, xs: np.ndarray, scratch_ran: np.ndarray, scratch_how: np.ndarray,
) -> None:
    """Cell ``i`` back to its saved column and run again, alone and recording nothing, up to ``limit`` steps
    without the opening check of step ``limit``: a cell that went past the call's stop."""
    state[:, i] = saved_state[:, i]
    rng[i] = saved_rng[i]
    acc[:, i] = saved_acc[:, i]
    out[:, i] = saved_out[:, i]  # a re-run to 0 steps must not leave the discarded run's outputs
    run_block(
        state, rng, params, line_current_A, dt, step0, 0, events, 0, acc, out, i, 1, limit, False,
        noise_a, noise_b, gain_decay, b, xs, scratch_ran, scratch_how,
    )


@jit
def _keep_events(events: np.ndarray, n_events: int, limit: int, rerun: np.ndarray) -> int:
    """Compact the event rows to those of the call's ``limit`` steps; return how many are kept.

    A limit crossing found at the check opening step ``limit`` by a cell that was re-run to ``limit`` steps is
    not latched in its state: it is found (and reported) again by the next call, so it is dropped here."""
    kept = 0
    for e in range(n_events):
        rerun_limit_check = events[e, 0] == limit and events[e, 1] >= L.EV_FREEZE_RISK and rerun[int(events[e, 2])]
        if events[e, 0] <= limit and not rerun_limit_check:
            events[kept, :] = events[e, :]
            kept += 1
    return kept


@jit
def advance_cells(
    state: np.ndarray,
    rng: np.ndarray,
    params: np.ndarray,
    line_current_A: np.ndarray,
    dt: float,
    step0: int,
    limit: int,
    lo: int,
    hi: int,
    events: np.ndarray,
    acc: np.ndarray,
    out: np.ndarray,
    saved_state: np.ndarray,
    saved_rng: np.ndarray,
    saved_acc: np.ndarray,
    saved_out: np.ndarray,
) -> tuple[int, int]:
    """:func:`advance` with no stopping event (``stop_mask`` 0) for cells ``lo … hi−1`` only, up to ``limit`` steps.

    For advancing contiguous ranges of one line's cells in parallel threads (each range its own ``events``
    buffer, of the line buffer's shape so that each cell has the same share of it as in one call; ``lo`` a
    multiple of ``LANES``). The range's columns are copied into the ``saved_*`` arrays (the line's shape) first,
    so that a caller can restore them. The only stop is the event-buffer one: a cell whose share is full stops
    its block, and the range, after that step; cells that ran further are re-run to it. Returns
    ``(steps_done, n_events)``, events ordered by block, then step, as in :func:`advance`. Ranges that stopped at
    different steps are made one call by restoring the longer ones and re-running them to the shortest: the
    result is then that of :func:`advance` over all cells (the stop step is the earliest of any block).
    """
    ncell = state.shape[1]
    saved_state[:, lo:hi] = state[:, lo:hi]
    saved_rng[lo:hi] = rng[lo:hi]
    saved_acc[:, lo:hi] = acc[:, lo:hi]
    saved_out[:, lo:hi] = out[:, lo:hi]
    ran = np.zeros(ncell, dtype=np.int64)
    how = np.zeros(ncell, dtype=np.int64)
    n_events = 0
    noise_a, noise_b, gain_decay = noise_constants(params, dt)
    b = np.empty(R.BUFFER_SIZE)
    xs = np.empty(R.LANES, dtype=rng.dtype)
    for start in range(lo, hi, R.LANES):
        done, n_events = run_block(
            state, rng, params, line_current_A, dt, step0, 0, events, n_events, acc, out, start,
            min(R.LANES, hi - start), limit, True, noise_a, noise_b, gain_decay, b, xs, ran, how,
        )
        limit = min(limit, done)
    rerun = np.zeros(ncell, dtype=np.bool_)
    scratch_ran = np.zeros(ncell, dtype=np.int64)
    scratch_how = np.zeros(ncell, dtype=np.int64)
    for i in range(lo, hi):
        rerun[i] = ran[i] > limit  # no stop events, so no cell stopped before a step (STOPPED_BEFORE)
        if rerun[i]:
            _rerun_cell(state, rng, params, line_current_A, dt, step0, events, acc, out, i, limit, saved_state,
                        saved_rng, saved_acc, saved_out, noise_a, noise_b, gain_decay, b, xs, scratch_ran, scratch_how)
    return limit, _keep_events(events, n_events, limit, rerun)
