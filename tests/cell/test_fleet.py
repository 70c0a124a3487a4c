"""A fleet of smelters through one kernel call (issue 12 item 7): 100 000 cells, the driver's upper bound.

The cells of one call are independent (the line current is an input), so every cell of the big call must be
the cell the slow reference (tests/reference.py) computes alone from the same start: the first cells and the
last one are checked, which catches index arithmetic that breaks only at this size (the event buffer's per-cell
share, the restore-and-rerun path, 32-bit overflow) and any coupling between cells. Tolerance as in
test_kernel_reference.py (1e-9 relative: both sides evaluate the same equations in double precision).
"""

from __future__ import annotations

import numpy as np
from tests import reference as ref

from twin.cell import Potline
from twin.cell import layout as L

N_FLEET = 100_000
STEPS = 3  # a few steps: the point is the size, not the duration (a run of 100 000 cells is ~3 ms per step)


def test_a_hundred_thousand_cells_in_one_call_match_the_reference(hal275, kernel_calls) -> None:
    calls = kernel_calls
    fleet = Potline(hal275, N_FLEET, seed=4, slow_every=1, stop_on=())
    picked = [0, 1, 2, N_FLEET // 2, N_FLEET - 1]
    state, rng = fleet.state[:, picked].copy(), fleet.rng[picked].copy()
    acc, out = np.zeros((L.N_ACC, len(picked))), np.zeros((L.N_OUT, len(picked)))
    result = fleet.advance(STEPS, 300.0)
    assert result.steps_done == STEPS
    assert len(calls) == 1  # one kernel call (the event buffer once stopped a > 1024-cell line every step)
    assert np.all(np.isfinite(fleet.state))
    assert np.all(np.isfinite(fleet.out))
    done, _ = ref.advance(state, rng, fleet.params, [300e3] * STEPS, fleet.dt, 0, 0, acc, out)
    assert done == STEPS
    np.testing.assert_allclose(fleet.state[:, picked], state, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fleet.acc[:, picked], acc, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fleet.out[:, picked], out, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(fleet.rng[picked], rng)
