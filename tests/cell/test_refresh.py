"""Potline.refresh: the slow terms of the chosen cells recomputed in one kernel call (refresh_slow_terms_of),
against the plain-Python reference (tests/reference.py, Model.slow_terms) cell by cell; other cells untouched."""

from __future__ import annotations

import numpy as np
import pytest
from tests import reference as ref

from twin.cell import Potline
from twin.cell import layout as L
from twin.errors import SimulationError

SLOW_ROWS = {
    "kappa_S_per_cm": L.S_KAPPA_S_PER_CM,
    "liquidus_degC": L.S_LIQUIDUS_DEGC,
    "alumina_saturation_wtpct": L.S_ALUMINA_SAT_WTPCT,
    "bath_ratio": L.S_BATH_RATIO,
    "current_efficiency": L.S_CE,
}


@pytest.mark.parametrize(
    "cells",
    [np.array([3, 0, 17, 5]), [1, 1, 8], slice(2, 12, 3), np.arange(24) % 2 == 0, None, 7],
    ids=["int64 array", "list with a repeat", "slice", "mask", "all", "one int"],
)
def test_refresh_recomputes_the_chosen_cells_as_the_reference_does(hal275, cells) -> None:
    line = Potline(hal275, 24, seed=3, stop_on=())
    line.advance(120, 300.0)
    rng = np.random.default_rng(11)
    # move temperature and composition away from what the cached slow terms were computed for
    line.state[L.S_TEMP_DEGC] += rng.uniform(-15.0, 15.0, 24)
    line.state[L.S_ALF3_KG] *= rng.uniform(0.85, 1.15, 24)
    line.state[L.S_ALUMINA_DISSOLVED_KG] *= rng.uniform(0.7, 1.3, 24)
    before = line.state.copy()
    chosen = np.zeros(24, bool)
    chosen[np.arange(24)[cells] if cells is not None else slice(None)] = True

    line.refresh(cells)

    model = ref.Model(line.params, line.dt)
    for i in range(24):
        if not chosen[i]:
            np.testing.assert_array_equal(line.state[:, i], before[:, i])
            continue
        cell = ref.Cell(before[:, i], 1)
        model.slow_terms(cell.s)
        for name, row in SLOW_ROWS.items():
            assert line.state[row, i] == pytest.approx(cell.s[name], rel=1e-12), (i, name)
        assert not np.array_equal(line.state[L.S_LIQUIDUS_DEGC, i], before[L.S_LIQUIDUS_DEGC, i])


def test_refresh_rejects_cells_outside_the_line(hal275) -> None:
    line = Potline(hal275, 4, seed=1, stop_on=())
    with pytest.raises(SimulationError, match=r"refresh: cells = .* is invalid"):
        line.refresh(np.array([0, 4]))
