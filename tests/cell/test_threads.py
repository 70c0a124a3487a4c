"""A line advanced in parallel ranges of cells (``Potline(threads=k)``, :func:`twin.cell.kernel.advance_cells`) is
bit for bit the line advanced in one kernel call: the cells are independent within a call, so splitting them
between threads may change nothing — states, noise generators, totals, outputs, events and their order, the
steps done — including when a range stops early to drain its event buffer."""

from __future__ import annotations

import numpy as np
import pytest
from tests.cell.test_kernel_reference import current_profile, random_state

from twin.cell import Potline
from twin.cell import layout as L
from twin.cell.kernel import EVENTS_PER_CELL_STEP
from twin.errors import SimulationError

COPIES = 9  # 12 random cells × 9 = 108 cells: three full lane blocks of 32 and a partial one


def random_line(tech, threads: int, seed: int, slow_every: int) -> Potline:
    line = Potline(tech, 12 * COPIES, seed=seed, slow_every=slow_every, stop_on=(), threads=threads)
    line.params[L.P_AE_KILL_TIME_S] = 45.0  # several kills inside the window
    line.state[:] = np.tile(random_state(tech, line.params, seed), (1, COPIES))
    return line


def assert_same(one: Potline, other: Potline) -> None:
    for name in ("state", "rng", "acc", "out"):
        np.testing.assert_array_equal(getattr(other, name), getattr(one, name), err_msg=name)
    assert other.step_count == one.step_count


@pytest.mark.parametrize(("slow_every", "seed"), [(1, 1), (7, 2), (60, 3)])
def test_parallel_ranges_equal_one_call_on_random_states(hal275, slow_every: int, seed: int) -> None:
    """AE onsets and kills, limit crossings, a current step, an outage and a cut-out cell, over three calls."""
    lines = [random_line(hal275, threads, seed, slow_every) for threads in (1, 2, 3)]
    amps = current_profile(360) / 1e3
    kinds = set()
    for chunk in (amps[:100], amps[100:230], amps[230:]):
        results = [line.advance(len(chunk), chunk) for line in lines]
        for line, result in zip(lines[1:], results[1:], strict=True):
            assert result == results[0]
            assert_same(lines[0], line)
        kinds |= {e.kind for e in results[0].events}
    assert {"anode_effect_onset", "anode_effect_end"} <= kinds  # the windows did have events to merge
    assert len(kinds) > 2  # and limit crossings
    for line in lines:
        line.close()


@pytest.mark.parametrize("unfed", ["first", "last"])
def test_event_buffer_stop_of_one_range_stops_all_of_them(hal275, unfed: str) -> None:
    """Unfed cells have an AE every ~10 min, so over 3 h their share of the event buffer fills and the call stops
    early; with the unfed cells in one range only, the other range ran further and is re-run to the stop."""
    n = 100
    lines = [Potline(hal275, n, seed=5, slow_every=10, stop_on=(), threads=threads) for threads in (1, 2)]
    cells = slice(0, 40) if unfed == "first" else slice(60, n)
    for line in lines:
        line.set_cells("feed_strategy", cells, L.FEED_NONE)
    results = [line.advance(3 * 3600, 300.0) for line in lines]
    assert results[0].steps_done == 3 * 3600
    share = lines[0]._events.shape[0] // n - EVENTS_PER_CELL_STEP  # a cell's share of the buffer (kernel.advance)
    assert np.bincount([e.cell for e in results[0].events]).max() > share  # so the call did stop early
    assert results[1] == results[0]
    assert_same(lines[0], lines[1])
    lines[1].close()


def test_threads_are_validated(hal275) -> None:
    with pytest.raises(SimulationError, match="threads = 0 is invalid"):
        Potline(hal275, 4, stop_on=(), threads=0)
    with pytest.raises(SimulationError, match="needs stop_on"):
        Potline(hal275, 4, threads=2)


def test_a_closed_line_still_advances(hal275) -> None:
    one, two = (Potline(hal275, 70, seed=2, stop_on=(), threads=k) for k in (1, 2))
    for line in (one, two):
        line.advance(30, 300.0)
    two.close()
    for line in (one, two):
        line.advance(30, 300.0)
    assert_same(one, two)
