"""State events of the kernel: the event buffer and the latched limit crossings (evaluated on the slow cadence).

Event rows are (step within the call, 1-based; code; cell; value); codes and limit bits in
:mod:`twin.cell.layout`.
"""

from __future__ import annotations

import numpy as np

from twin._numba import jit
from twin.cell import layout as L
from twin.cell import physics as ph


@jit
def record(events: np.ndarray, n: int, step: int, code: int, cell: int, value: float) -> int:
    """Write one event row at index ``n``; return the next free index."""
    events[n, 0] = step
    events[n, 1] = code
    events[n, 2] = cell
    events[n, 3] = value
    return n + 1


@jit
def limit_flags(
    T: float, frozen_fraction: float, ledge_b: float, ledge_m: float, alf3: float, caf2: float, al2o3: float,
    al2o3_sat: float, p: np.ndarray,
) -> int:
    """Bits of the limits the cell is beyond now: freeze risk, bath hot, ledge thin or thick, liquidus range.

    Freeze risk: more of the nominal bath frozen out than the technology allows (the superheat itself cannot
    go below zero in a mixed bath, :mod:`twin.cell.thermal`). Liquidus range: the bath composition (wt %)
    left the range Solheim's correlation was fitted on (:func:`twin.cell.physics.liquidus_in_range`).
    """
    flags = 0
    if frozen_fraction > p[L.P_FROZEN_BATH_MAX_FRACTION]:
        flags |= L.LIMIT_FREEZE
    if p[L.P_BATH_TEMP_MAX] < T:
        flags |= L.LIMIT_HOT
    if min(ledge_b, ledge_m) < p[L.P_LEDGE_MIN_CM]:
        flags |= L.LIMIT_THIN
    if max(ledge_b, ledge_m) > p[L.P_LEDGE_MAX_CM]:
        flags |= L.LIMIT_THICK
    if not ph.liquidus_in_range(alf3, caf2, p[L.P_LIF_WTPCT], p[L.P_MGF2_WTPCT], al2o3, al2o3_sat):
        flags |= L.LIMIT_LIQUIDUS
    return flags


@jit
def record_limit_crossings(
    events: np.ndarray, n_events: int, rising: int, k: int, i: int, T: float, frozen_fraction: float,
    ledge_b: float, ledge_m: float, alf3: float, caf2: float, al2o3: float, stop_mask: int, keep: bool,
) -> tuple[int, bool]:
    """Record the limits cell ``i`` just crossed (``rising`` bits) at step ``k``; say whether one stops the run."""
    stop = False
    if rising & L.LIMIT_FREEZE:
        if keep:
            n_events = record(events, n_events, k, L.EV_FREEZE_RISK, i, frozen_fraction)
        stop = stop or (stop_mask >> L.EV_FREEZE_RISK) & 1 == 1
    if rising & L.LIMIT_HOT:
        if keep:
            n_events = record(events, n_events, k, L.EV_BATH_HOT, i, T)
        stop = stop or (stop_mask >> L.EV_BATH_HOT) & 1 == 1
    if rising & L.LIMIT_THIN:
        if keep:
            n_events = record(events, n_events, k, L.EV_LEDGE_THIN, i, min(ledge_b, ledge_m))
        stop = stop or (stop_mask >> L.EV_LEDGE_THIN) & 1 == 1
    if rising & L.LIMIT_THICK:
        if keep:
            n_events = record(events, n_events, k, L.EV_LEDGE_THICK, i, max(ledge_b, ledge_m))
        stop = stop or (stop_mask >> L.EV_LEDGE_THICK) & 1 == 1
    if rising & L.LIMIT_LIQUIDUS:
        if keep:
            # the value is the first component found outside its range: AlF3, else CaF2, else alumina (wt %)
            value = alf3 if alf3 > ph.LIQUIDUS_ALF3_MAX else (caf2 if caf2 > ph.LIQUIDUS_CAF2_MAX else al2o3)
            n_events = record(events, n_events, k, L.EV_LIQUIDUS_RANGE, i, value)
        stop = stop or (stop_mask >> L.EV_LIQUIDUS_RANGE) & 1 == 1
    return n_events, stop
