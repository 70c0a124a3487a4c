"""The arithmetic ceiling for the cell kernel (issue 12 item 2): what this Python, numba and core reach on a
structure-of-arrays kernel of the same state size when nothing stands in the compiler's way.

``ceiling_advance`` updates ``n_vars`` float64 state variables per cell and step (by default ``L.N_STATE`` = 42,
the real kernel's state size), stored as the real kernel stores them (``state[var, cell]``, C-contiguous), in a
step-outer, cell-inner loop that numba vectorises (each row's update is its own small loop, which LLVM
vectorises with one runtime alias check; a loop over all rows inside the cell loop did not vectorise and ran at
a third of the speed). Per cell-step: four divisions (the real kernel's 1/I, 1/m_bath, 1/(1 − φ), 1/(κ·A) class
of terms), one explicit-Euler relaxation of every state variable towards its neighbour plus a drive term
(3 flop each), and a series reduction (the line voltage): about 3·n_vars + 10 flop, n_vars loads and stores per
cell-step, no branches, no transcendental calls. With 41 variables it is bound by the loads and stores, not
the arithmetic: a register-resident kernel (the real kernel keeps a cell's state in locals over its steps)
can in principle pass it, so ``ceiling_rate(n, steps, n_vars=12)`` (the synthetic kernel size of
performance.md §2.2) is reported beside it. It is not a physical model (the state relaxes to a fixed point and
stays finite), only a yardstick: ``fraction_of_ceiling`` of a kernel figure is its cell-steps/s over this
kernel's on the same cells and steps, measured in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numba
import numpy as np

from twin._numba import JIT_OPTIONS
from twin.cell import layout as L

N_VARS = L.N_STATE


def flop_per_cell_step(n_vars: int = N_VARS) -> int:
    """Floating-point operations per cell-step of :func:`ceiling_advance` (a division counted as one)."""
    return 3 * n_vars + 10


@numba.njit(**JIT_OPTIONS)
def _relax_row(row: np.ndarray, nxt: np.ndarray, work: np.ndarray, rate: float, drive: float) -> None:
    for i in range(row.shape[0]):
        s = row[i]
        row[i] = s + rate * (nxt[i] - s) + drive * work[i]


@numba.njit(**JIT_OPTIONS)
def ceiling_advance(state: np.ndarray, rate: np.ndarray, drive: np.ndarray, work: np.ndarray, steps: int) -> float:
    """Advance ``state`` (n_vars × n) ``steps`` steps; return the last step's summed "voltage" (row 1)."""
    nvar, n = state.shape
    total = 0.0
    for _ in range(steps):
        a = state[0]
        b = state[1]
        for i in range(n):  # four divisions per cell, branch-free
            x = a[i]
            y = b[i]
            work[i] = 1.0 / (x + 2.0) + 1.0 / (y + 3.0) + x / (x * x + 5.0) + y / (y * y + 7.0)
        for j in range(nvar):
            _relax_row(state[j], state[(j + 1) % nvar], work, rate[j], drive[j])
        total = 0.0
        for i in range(n):  # the series reduction
            total += b[i]
    return total


def ceiling_state(n_cells: int, n_vars: int = N_VARS) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A finite start state and coefficients (deterministic)."""
    state = np.linspace(0.5, 1.5, n_vars * n_cells).reshape(n_vars, n_cells).copy()
    rate = np.linspace(0.01, 0.05, n_vars)
    drive = np.linspace(1e-4, 1e-3, n_vars)
    return state, rate, drive, np.zeros(n_cells)


def ceiling_rate(
    n_cells: int, steps: int, rounds: int = 3, n_vars: int = N_VARS, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Best cell-steps/s of the ceiling kernel over ``rounds`` calls of ``steps`` steps on ``n_cells`` cells.

    ``clock`` is wall time by default; ``time.process_time`` (this process's CPU time) leaves out the time other
    jobs on a shared machine hold the core, the steadier basis for a ratio of two single-threaded kernels."""
    state, rate, drive, work = ceiling_state(n_cells, n_vars)
    ceiling_advance(state, rate, drive, work, 2)  # compile / load from the cache outside the timing
    best = float("inf")
    total = 0.0
    for _ in range(rounds):
        start = clock()
        total = ceiling_advance(state, rate, drive, work, steps)
        best = min(best, clock() - start)
    if not np.isfinite(total) or not np.all(np.isfinite(state)):
        raise AssertionError("the ceiling kernel diverged")
    return n_cells * steps / best
