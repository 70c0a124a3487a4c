"""What a potline draws from the grid side at a share of a reference current, and the share that fits a power.

The cell voltage is lumped as a back EMF and an ohmic part, V = E + I·R (Haupin 1998 eq. A1 lumped; physics.md
§1.1; :func:`twin.plant.grid_services.power_at_share` evaluates this module's draw), with R held: the pot
control moves the anodes over minutes, so for the next dispatch interval the pots keep the resistance they have
now. A line of n cells behind rectifiers of efficiency η, with busbar resistance R_bus (physics.md §5), draws at
current c·I

    P_AC(c) = c·(I·n·E)/η + c²·(I²·(n·R + R_bus))/η,

a quadratic in the share c. Summed over lines that take the same share, the share that brings the plant's draw
to a given fraction of its draw at c = 1 is the positive root of that quadratic (:func:`share_for_power`).

Why (2026-12-07): the dispatch shed the share of *current* equal to the share of *power* it was short, though
power falls ~1.6× faster than current at 4.2 V (:func:`twin.plant.grid_services.power_sensitivity`), and it
estimated a line's draw after an event at the technology's target voltage whatever the pots' resistance: in
``unit_trip`` the trip cut the lines to 210 kA and left 125 MW of the tie unused for an interval, and G1's return,
to pots whose anodes were still raised, was booked 30 MW short.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LineDraw:
    """A line's AC draw (MW) at share c of its reference current: ``c·back_emf_MW + c²·ohmic_MW``."""

    back_emf_MW: float
    ohmic_MW: float

    def at(self, share: float) -> float:
        return share * self.back_emf_MW + share * share * self.ohmic_MW


def line_draw(
    *, current_A: float, cell_voltage_V: float, n_cells: int, bemf_V: float, busbar_ohm: float, efficiency: float
) -> LineDraw:
    """The draw of a line carrying ``current_A`` with its cells at ``cell_voltage_V`` (mean), held resistance.

    ``bemf_V``: the lumped back EMF E (the pot controller's, ``anode.bemf_V``); the cells' resistance is
    R = (V − E)/I. A cell voltage below the back EMF (a cell not yet at its operating point) counts as no
    ohmic part rather than a negative one."""
    if current_A <= 0.0:
        return LineDraw(0.0, 0.0)
    ohmic_cell_V = max(cell_voltage_V - bemf_V, 0.0)
    back_emf_W = current_A * n_cells * bemf_V
    ohmic_W = current_A * n_cells * ohmic_cell_V + current_A * current_A * busbar_ohm
    return LineDraw(back_emf_W / efficiency / 1e6, ohmic_W / efficiency / 1e6)


def share_for_power(draws: Sequence[LineDraw], power_share: float) -> float:
    """The current share c, the same for every line, at which the lines draw ``power_share`` of what they draw
    at c = 1: the positive root of b·c² + a·c − power_share·(a + b) = 0 (``a``, ``b`` the summed back-EMF and
    ohmic parts). 1 for no draw; 0 for a share ≤ 0."""
    a = sum(d.back_emf_MW for d in draws)
    b = sum(d.ohmic_MW for d in draws)
    if a + b <= 0.0:
        return 1.0
    if power_share <= 0.0:
        return 0.0
    target = power_share * (a + b)
    if b <= 0.0:
        return target / a
    return (-a + math.sqrt(a * a + 4.0 * b * target)) / (2.0 * b)


__all__ = ["LineDraw", "line_draw", "share_for_power"]
