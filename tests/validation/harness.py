"""Shared harness of the validation suite: a settled cell, runs with the potroom's routine bath operations.

The kernel alone has no AlF3 additions and no tapping (those are plant operations, docs/physics.md §7), so
between kernel chunks the harness does the potroom's routine feed-forward to hold a cell at its operating
point: every 6 h it adds back the excess AlF3 the kernel booked as lost (emissions, sodium uptake) and
neutralised (Na2O of the alumina) since the last addition (``Potline.add_alf3``, which also takes the heat to
bring it to bath temperature from the liquids), and every 24 h it taps the metal back to the start-of-run
inventory (``Potline.tap_metal``). It adds no feedback on composition, so it does not fight the ledge chemistry
(freezing acidifies the bath, melting neutralises it). ``routine=False`` stops both (e.g. during an outage).
Runs that are compared with each other (a stepped and an unstepped twin from the
same state) get the same operations, so their differences are the model's response to the step alone.

Nothing here asserts; the tests compare what these functions measure with the published bands.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from twin.cell import Potline
from twin.cell.potline import CellEvent
from twin.params import Technology, load_technology

MODELS = Path(__file__).resolve().parents[2] / "models"
HOUR = 3600.0
DAY = 86400.0
DT_S = 5.0  # kernel step of the suite (s); the kernel allows up to 60 s
SLOW_EVERY = 60  # slow-term and thermal cadence in steps (5 min at DT_S)
CHUNK_S = DT_S * SLOW_EVERY  # harness chunk: one thermal update
N_CELLS = 2
LIMIT_KINDS = ("freeze_risk", "bath_hot", "ledge_thin", "ledge_thick", "liquidus_out_of_range")


@cache
def technology(name: str) -> Technology:
    return load_technology(MODELS / f"{name}.toml")


@dataclass
class Trace:
    """Per-chunk samples of one run (cell 0 unless a test asks for the array), and the events it raised."""

    t_h: list[float] = field(default_factory=list)
    rows: dict[str, list[np.ndarray]] = field(default_factory=dict)
    events: list[CellEvent] = field(default_factory=list)

    def add(self, t_h: float, line: Potline) -> None:
        snap = line.snapshot()
        self.t_h.append(t_h)
        for name in SAMPLED_STATE:
            self.rows.setdefault(name, []).append(snap.state[name])
        for name in SAMPLED_OUT:
            self.rows.setdefault(name, []).append(snap.outputs[name])

    def series(self, name: str, cell: int = 0) -> np.ndarray:
        return np.array([row[cell] for row in self.rows[name]])

    def time_h(self) -> np.ndarray:
        return np.array(self.t_h)

    def limit_events(self) -> list[CellEvent]:
        return [e for e in self.events if e.kind in LIMIT_KINDS]


SAMPLED_STATE = (
    "temperature_degC",
    "liquidus_degC",
    "ledge_bath_cm",
    "ledge_metal_cm",
    "bath_kg",
    "alf3_kg",
    "anode_temp_degC",
    "cathode_temp_degC",
    "shell_bath_degC",
    "shell_metal_degC",
    "shell_bottom_degC",
    "acd_cm",
)
SAMPLED_OUT = (
    "superheat_K",
    "v_cell",
    "q_top_W",
    "q_side_bath_W",
    "q_side_metal_W",
    "q_bottom_W",
    "alf3_wtpct",
)


class Cells:
    """A few cells of one technology under the harness's routine operations (module docstring)."""

    def __init__(self, tech: str, n_cells: int = N_CELLS, seed: int = 1) -> None:
        self.tech = technology(tech)
        self.line = Potline(self.tech, n_cells, dt=DT_S, seed=seed, slow_every=SLOW_EVERY, stop_on=())
        self.alf3_target = self.tech.number("bath.alf3_excess_wtpct") / 100.0
        self.metal0 = float(self.line.snapshot().state["metal_kg"].min())
        self.nominal_kA = self.line.nominal_current_kA
        self.clock_s = 0.0  # harness clock for the routine operations
        self._alf3_booked = self._alf3_gone()

    def copy(self) -> Cells:
        """An independent twin (arrays copied; the immutable technology shared)."""
        return copy.deepcopy(self, {id(self.tech): self.tech})

    def frozen_fraction(self) -> np.ndarray:
        """Bath frozen out relative to the technology's nominal liquid bath (the kernel's freeze-risk measure)."""
        nominal = self.tech.number("cell.bath_mass_kg")
        return 1.0 - self.line.snapshot().state["bath_kg"] / nominal

    def run(
        self,
        hours: float,
        current_kA: float | Callable[[float], float],
        trace: Trace | None = None,
        routine: bool = True,
    ) -> Trace:
        """Advance ``hours`` at a constant current or ``current_kA(t_h)`` (t_h from the start of this call)."""
        trace = trace if trace is not None else Trace()
        n = round(hours * HOUR / CHUNK_S)
        steps = round(CHUNK_S / DT_S)
        for k in range(n):
            t_h = k * CHUNK_S / HOUR
            if routine:
                self._routine()
            else:
                self._alf3_booked = self._alf3_gone()  # no additions during the pause
            kA = current_kA(t_h) if callable(current_kA) else current_kA
            result = self.line.advance(steps, kA)
            trace.events.extend(result.events)
            self.clock_s += CHUNK_S
            trace.add(t_h + CHUNK_S / HOUR, self.line)
        return trace

    def _alf3_gone(self) -> np.ndarray:
        totals = self.line.snapshot().totals
        return totals["alf3_lost_kg"] + totals["alf3_neutralised_kg"] + totals["alf3_to_caf2_kg"]

    def _routine(self) -> None:
        """The potroom's routine, through the Potline's named operations (they keep the heat and chemistry)."""
        if self.clock_s % (6 * HOUR) < CHUNK_S / 2:
            gone = self._alf3_gone()
            add = gone - self._alf3_booked
            self._alf3_booked = gone
            self.line.add_alf3("all", np.maximum(add, 0.0))
        if self.clock_s % DAY < CHUNK_S / 2:
            self.line.tap_metal("all", self.metal0)


@cache
def _settled(tech: str, days: float) -> Cells:
    cells = Cells(tech)
    cells.run(days * 24.0, cells.nominal_kA)
    return cells


def settled(tech: str, days: float = 3.0) -> Cells:
    """A fresh copy of ``tech`` cells run ``days`` at nominal current under the routine operations."""
    return _settled(tech, days).copy()
