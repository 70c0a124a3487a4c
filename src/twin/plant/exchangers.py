"""Shell heat exchangers as controllable heat sinks (physics.md §1.6 "Shell heat exchangers", §1.10).

An exchanger is a controllable side conductance: its duty D ≥ 0 only ever removes heat. A cell insulated
for it balances at reduced current with no extraction and extracts a baseline duty at nominal current
(Alusuisse EP0047227; TRIMET ±25 % for 48 h, EnPot ±30 %). The controller holds each cell's heat balance
near its operating point: after measuring the cell's internal heat surplus S_ref over ``hx_reference_h``
(with the baseline duty applied), it sets every dispatch interval

    D_i = clip(D_base + (S_i − S_ref,i), 0, D_max)

so a curtailment (S falls) throttles the exchanger down and an increase of line current (S rises) opens
it up; the ledge then stays near its pre-event thickness as long as D stays inside [0, D_max]. The
surplus is S = I·V − I²·R_ext − process energy − carbon heating − alumina heating (the kernel's totals; alumina
heating on the alumina consumed, which is smooth, rather than on the shots fed: one 3.6 kg shot is ~3.8 MJ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import SimulationError

if TYPE_CHECKING:
    from twin.plant.line import PotlineSim
    from twin.plant.plant import Plant


def heat_surplus_J(line: PotlineSim) -> tuple[np.ndarray, float]:
    """Per-cell internal heat surplus so far (J) and the line's clock (module docstring)."""
    pot = line.potline
    feed_heat = pot.values("alumina_consumed_kg") * pot.parameter("alumina_heat_j_per_kg")
    surplus = (
        pot.values("energy_in_J") - pot.values("energy_external_J") - pot.values("energy_reaction_J")
        - pot.values("energy_carbon_J")
    )
    return surplus - feed_heat, pot.time_s


@dataclass
class ExchangerControl:
    """The exchanger controller of one potline; ``hook`` runs after every dispatch interval."""

    line: PotlineSim
    capacity_W: float
    baseline_W: float
    reference_W: np.ndarray | None = None  # surplus per cell at the operating point
    _last: tuple[np.ndarray, float] | None = field(default=None, repr=False)
    active: bool = True

    def start_reference(self) -> None:
        """Apply the baseline duty and start measuring the reference surplus (call at the window start)."""
        self.line.sync(self.line.potline.time_s)
        self.line.potline.set_hx_duty(None, min(self.baseline_W, self.capacity_W))
        self._last = heat_surplus_J(self.line)

    def end_reference(self, now_s: float) -> None:
        """Close the reference window at ``now_s``: its mean surplus per cell is the reference."""
        self.line.sync(now_s)
        totals, time_s = heat_surplus_J(self.line)
        assert self._last is not None
        span = max(time_s - self._last[1], 1.0)
        self.reference_W = (totals - self._last[0]) / span
        self._last = (totals, time_s)

    def hook(self, _: Plant) -> None:
        """Set the duties for the next interval from the surplus of the one just closed."""
        if not self.active or self.reference_W is None or self._last is None:
            return
        totals, time_s = heat_surplus_J(self.line)
        span = time_s - self._last[1]
        if span <= 0:
            return
        surplus = (totals - self._last[0]) / span
        self._last = (totals, time_s)
        if not np.all(np.isfinite(surplus)):
            bad = np.flatnonzero(~np.isfinite(surplus)) + 1
            raise SimulationError(
                f"potline {self.line.name}: cells {bad.tolist()} left the model's valid range at t = {time_s:.0f} s "
                "(non-finite heat totals); the exchanger controller cannot set their duty"
            )
        duty = np.clip(self.baseline_W + surplus - self.reference_W, 0.0, self.capacity_W)
        self.line.potline.set_hx_duty(None, duty)

    def stop(self) -> None:
        """Back to the baseline duty (a temporary controller: to zero)."""
        self.active = False
        self.line.potline.set_hx_duty(None, min(self.baseline_W, self.capacity_W))
