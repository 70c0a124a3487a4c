"""A cell without current reads its reversible voltage: no reaction or cathode overvoltage at equilibrium.

An overvoltage is the departure from equilibrium that a current drives (Haupin 1998: eqs. 26 and 28 are fits over
operating current densities); with the line off they are zero, and the cell reads E_rev plus an anode
concentration overvoltage that vanishes with the current. Haupin's E_rev (eq. A1's first term) at 950–960 °C and
the alumina of a running pot is 1.2–1.25 V. Until 2026-12-08 the kernel evaluated the fits at its 1-A floor, where
their logarithms are large and negative, and a line in an outage read −0.4 V a cell (docs/validation.md).
"""

from __future__ import annotations

import numpy as np

from twin.cell import Potline


def test_a_line_without_current_reads_the_reversible_voltage(hal275) -> None:
    line = Potline(hal275, 8, seed=5, slow_every=60)
    line.advance(1800, 300.0)
    running = line.values("v_cell").copy()
    line.advance(1800, 0.0)  # the line off for half an hour
    v = line.values("v_cell")
    assert np.all(line.values("eta_anode_surf") == 0.0)
    assert np.all(line.values("eta_cathode") == 0.0)
    assert np.all(line.values("v_anode_effect") == 0.0)
    np.testing.assert_allclose(v, line.values("e_rev"), atol=1e-6)  # the concentration term ~ 1 A of current
    assert np.all((v > 1.15) & (v < 1.3))  # Haupin's E_rev near 950 °C
    assert np.all(running > 3.9)
    line.advance(600, 300.0)  # current back: the fits again, the operating voltage again
    assert np.all(line.values("eta_anode_surf") > 0.4)
    assert np.all(line.values("v_cell") > 3.5)


def test_a_cell_cut_out_of_a_running_line_reads_its_reversible_voltage(hal275) -> None:
    line = Potline(hal275, 8, seed=6, slow_every=60)
    line.advance(600, 300.0)
    line.cut_out([3])
    line.advance(600, 300.0)
    v = line.values("v_cell")
    assert 1.15 < v[3] < 1.3
    assert line.values("eta_anode_surf")[3] == 0.0
    others = np.delete(v, 3)
    assert np.all(others > 3.5)
