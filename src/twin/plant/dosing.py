"""Material the potroom orders for a pot, fed to it over the hours after the order, not in one charge.

A pot's daily visit decides how much AlF3 and crushed bath it needs (:mod:`twin.plant.control`); the pot
does not get it in one charge. AlF3 goes in through the pot's own point feeder, dosed by the pot controller
in small shots (Hydro's feeder for "alumina and/or fluoride", patent NO20161850A1), at the rate the fluoride
balance asks for: Dupuis's 300 kA demonstration cell has a deficit of 1.19 kg AlF3 per hour "that needs to be
fed directly to the cell" (M. Dupuis, "Excess AlF3 concentration in bath control logic", GéniSim 2006).
Crushed bath goes in with the anode cover at the pot's anode changes, one every ~20 h on a HAL275-type pot
(Qatalum: 600 h / 30 anodes; S. J. Lindsay, "Bath generation and management", 10th AASTC 2011). Either way
the liquids pay the material's heat a little at a time. In one charge, a day's ≈ 50 kg of AlF3 and a few
hundred kg of crushed bath cooled a pot by ≈ 12 K within minutes, onto its liquidus (docs/validation.md).

Each order is fed at a constant rate over ``spread_s`` (an order on top of what is still pending spreads the
sum anew); feeding stops while the line carries no current (an outage stops the feeders and the crane's
cover work) and resumes with it. ``spread_s = 0`` feeds an order at once, the old one-charge visit. The potroom
feeds what is due every ``addition_dose_interval_min`` (:meth:`twin.plant.control.PotroomControl.feed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dosing:
    """One material's orders for each of ``n`` pots: what is still to be fed and the rate it is fed at."""

    n: int
    spread_s: float
    pending_kg: np.ndarray = field(init=False)
    rate_kg_per_s: np.ndarray = field(init=False)
    ordered_kg: np.ndarray = field(init=False)  # everything ordered for each pot, less what was withdrawn

    def __post_init__(self) -> None:
        if not self.spread_s >= 0.0:
            raise ValueError(f"spread_s = {self.spread_s!r} is invalid; expected >= 0")
        self.pending_kg = np.zeros(self.n)
        self.rate_kg_per_s = np.zeros(self.n)
        self.ordered_kg = np.zeros(self.n)

    def order(self, cell: int, kg: float) -> float:
        """Order ``kg`` (≥ 0) for pot ``cell``; return what is to be fed now (all of it when spread_s = 0)."""
        self.ordered_kg[cell] += kg
        if self.spread_s <= 0.0:
            return kg
        total = float(self.pending_kg[cell]) + kg
        self.pending_kg[cell] = total
        self.rate_kg_per_s[cell] = total / self.spread_s
        return 0.0

    def take(self, span_s: float) -> tuple[np.ndarray, np.ndarray]:
        """What the next ``span_s`` seconds feed: (pots, kg each), taken off what is pending; no pot fed past
        its order (the last part of an order is exactly what was left of it)."""
        cells = np.flatnonzero(self.pending_kg)
        if cells.size == 0 or span_s <= 0.0:
            return cells[:0], np.zeros(0)
        pending = self.pending_kg[cells]
        kg = np.minimum(pending, self.rate_kg_per_s[cells] * span_s)
        self.pending_kg[cells] = pending - kg
        return cells, kg

    def cancel(self, cell: int, kg: float) -> float:
        """Withdraw up to ``kg`` of what is pending for ``cell`` (the rest is fed at the same rate, so it ends
        sooner); return the kg withdrawn."""
        pending = float(self.pending_kg[cell])
        withdrawn = min(max(kg, 0.0), pending)
        self.pending_kg[cell] = pending - withdrawn
        self.ordered_kg[cell] -= withdrawn
        return withdrawn

    def pending(self, cell: int) -> float:
        """kg ordered for ``cell`` and not yet fed."""
        return float(self.pending_kg[cell])
