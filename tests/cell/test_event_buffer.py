"""The event buffer's bound (:func:`twin.cell.block.events_bound`) and the calls that cannot stop.

A call with no stopping events whose buffer gives every cell room for the most events it can record cannot stop
early, so the kernel makes no restore copies (twin.cell.kernel); the driver grows its buffer to that size for
short calls (``Potline._fit_event_buffer``). Checked here: the bound is never exceeded on cells built to record
many events (AEs, kills, limit crossings, current steps and an interruption), a fitted line runs each advance in
one kernel call, and it ends bit for bit where a line with the old small buffer (copies made) ends.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.cell.test_kernel_reference import current_profile
from tests.cell.test_threads import assert_same, random_line

from twin.cell import potline as driver
from twin.cell.block import EVENTS_PER_CELL_STEP, events_bound


def _openings(current_A: np.ndarray, step0: int, slow_every: int) -> int:
    """Plain count of the steps a block opens (twin.cell.block.run_block): the first, each global multiple of
    slow_every, and each change of the line current."""
    return sum(
        1 for k in range(len(current_A))
        if k == 0 or (step0 + k) % slow_every == 0 or current_A[k] != current_A[k - 1]
    )


@pytest.mark.parametrize(("slow_every", "seed"), [(1, 1), (7, 2), (60, 3)])
def test_no_cell_records_more_events_in_a_call_than_the_bound(hal275, slow_every: int, seed: int) -> None:
    line = random_line(hal275, 1, seed, slow_every)
    amps = current_profile(1800) / 1e3
    busiest = 0
    for start in range(0, len(amps), 45):  # calls not aligned with the cadence
        chunk = amps[start:start + 45]
        step0 = line.step_count
        bound = events_bound(line.params, chunk * 1e3, step0)
        assert bound == len(chunk) + 5 * _openings(chunk * 1e3, step0, slow_every)
        result = line.advance(len(chunk), chunk)
        per_cell = np.bincount([e.cell for e in result.events], minlength=line.n_cells)
        assert per_cell.max() <= bound
        busiest = max(busiest, int(per_cell.max()))
    assert busiest >= 2  # the cells did record events: the check above had something to bound


def test_a_line_whose_calls_cannot_stop_ends_where_the_copying_line_ends(hal275, monkeypatch, kernel_calls) -> None:
    calls = kernel_calls
    fitted = random_line(hal275, 1, 5, 10)
    small = random_line(hal275, 1, 5, 10)
    rows = small._events.shape[0]
    amps = current_profile(1200) / 1e3
    largest = 0
    for start in range(0, len(amps), 60):
        chunk = amps[start:start + 60]
        largest = max(largest, events_bound(fitted.params, chunk * 1e3, fitted.step_count))
        with monkeypatch.context() as m:
            m.setattr(driver, "EVENT_BUFFER_MAX_BYTES", 0)  # never grows: restore copies in every call
            before = len(calls)
            small_result = small.advance(len(chunk), chunk)
            assert len(calls) == before + 1  # no stop in the small line either, so the two are comparable
        fitted_result = fitted.advance(len(chunk), chunk)
        assert fitted_result == small_result
    assert small._events.shape[0] == rows
    share = fitted._events.shape[0] // fitted.n_cells - EVENTS_PER_CELL_STEP
    assert share >= largest > small._events.shape[0] // small.n_cells - EVENTS_PER_CELL_STEP  # it did grow
    assert_same(small, fitted)
