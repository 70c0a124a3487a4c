"""One potline in the plant: the cell engine plus its rectifiers, busbar, cranes and current setpoint.

The line current is what the rectifiers deliver: the setpoint, limited by the rectifier units in
service (N-1 design), by their voltage ceiling, by a power shortfall the plant has to shed, and forced
to zero during an outage. Every cell in series carries it (physics.md §6 point 5).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from twin.cell import CellEvent, Potline
from twin.cell.potline import KernelCall, run_serially
from twin.params import PotlineSpec
from twin.plant.demand import LineDraw, line_draw

if TYPE_CHECKING:
    from twin.plant.control import PotroomControl
    from twin.plant.operations import LineOperations

FEEDER_BLOCKAGE = "feeder_blockage"  # the feed-loss cause of a crusted feeder hole


@dataclass
class LineCounters:
    """Values at the last read of the line, to turn cumulative totals into interval figures."""

    time_s: float = 0.0
    energy_cells_J: float = 0.0
    energy_busbar_J: float = 0.0
    voltage_seconds: float = 0.0


@dataclass(frozen=True)
class LineAdvance:
    """What one advance of a line's cells did: the line current held (kA), seconds advanced, cell events."""

    current_kA: float
    elapsed_s: float
    events: tuple[CellEvent, ...]


@dataclass
class PotlineSim:
    """A potline inside a running plant."""

    spec: PotlineSpec
    potline: Potline
    setpoint_kA: float
    units_in_service: int
    outage: bool = False
    shed_fraction: float = 0.0  # share of the setpoint shed because the power supply is short
    curtail_fraction: float = 0.0  # demand-response reduction asked for by the grid
    voltage_factor: float = 1.0  # < 1 while the rectifiers are at their voltage ceiling
    events: list[CellEvent] = field(default_factory=list)
    energy_busbar_J: float = 0.0
    alf3_added_kg: float = 0.0
    taps: int = 0
    metal_tapped_kg: float = 0.0
    anode_changes: int = 0
    feeder_blockages: int = 0
    outages_h: list[float] = field(default_factory=list)
    ramp_fraction: float = 1.0  # < 1 while the line current is ramped back after a restart
    bath_added_kg: float = 0.0
    bath_tapped_kg: float = 0.0
    protective_actions: int = 0
    control: PotroomControl | None = None  # the potroom's daily loops (twin.plant.control)
    hx_max_kW: float = 0.0  # largest interval-mean exchanger duty per cell so far
    #: (line current kA, resistance targets, the daily loop's nominal target) before a power modulation,
    #: restored when the current returns
    modulation_reference: tuple[float, np.ndarray, float] | None = None
    shed_held: bool = False  # the potroom holds the pots' heat through a supply shed (control.hold_heat_through_shed)
    listeners: list[Callable[[PotlineSim, CellEvent], None]] = field(default_factory=list)
    sync_grid_s: float = 0.0  # > 0: operations sync to the last multiple of this (see sync)
    #: grid points the plant's clock passed that the cells have not yet been advanced through: (time s, line
    #: current kA held up to it), oldest first (:meth:`pass_grid_point`, :meth:`catch_up`)
    pending_grid: deque[tuple[float, float]] = field(default_factory=deque)
    #: the routine crane jobs, applied in batches before the line advances (twin.plant.operations)
    operations: LineOperations | None = None

    blocked_cells: set[int] = field(default_factory=set)

    def block_feeder(self, cell: int) -> bool:
        """A feeder hole of ``cell`` crusts over: it loses ``feeder_blockage_share`` of its feed."""
        if cell in self.blocked_cells:
            return False
        self.blocked_cells.add(cell)
        self.potline.set_feed_loss(cell, FEEDER_BLOCKAGE, self.spec["feeder_blockage_share"])
        self.feeder_blockages += 1
        return True

    def clear_feeder(self, cell: int) -> None:
        """The blocked hole of ``cell`` is open again (crust breaker, or an anode-effect kill)."""
        if cell in self.blocked_cells:
            self.blocked_cells.discard(cell)
            self.potline.set_feed_loss(cell, FEEDER_BLOCKAGE, 0.0)

    last: LineCounters = field(default_factory=LineCounters)

    @property
    def name(self) -> str:
        return self.spec.name

    def current_kA(self) -> float:
        """The line current the rectifiers deliver now (kA)."""
        if self.outage:
            return 0.0
        rectifier_limit = self.units_in_service * self.spec["rectifier_unit_current_kA"]
        wanted = self.setpoint_kA * (1.0 - self.curtail_fraction) * (1.0 - self.shed_fraction) * self.ramp_fraction
        return max(min(wanted, rectifier_limit) * self.voltage_factor, 0.0)

    def sync(self, time_s: float, *, exact: bool = False) -> None:
        """Bring the cells up to ``time_s`` under the present line current (lazy sync, performance.md §1.3).

        With a sync grid (``sync_grid_s`` > 0, set by the plant) an operation brings the line only to the last
        grid point at or before ``time_s``: the line is advanced a few times per dispatch interval, in whole
        slow-term cadences, not once per crane job (issue 12 item 3). The grid points already passed are caught
        up first (:meth:`catch_up`). ``exact`` advances to ``time_s`` itself (interval closes, the end of a run).
        Routine jobs that ended before ``time_s`` are applied first (:meth:`flush`).

        Touches nothing but this line (its cells, crane jobs, potroom loops and listeners), so the plant may
        share several lines' kernel calls between threads (:meth:`twin.plant.plant.Plant.sync`).
        """
        run_serially(self.sync_steps(time_s, exact=exact))

    def sync_steps(self, time_s: float, *, exact: bool = False) -> Generator[KernelCall, tuple[int, int], None]:
        """:meth:`sync` as a generator that yields its kernel calls for the caller to run
        (:meth:`twin.cell.Potline.advance_steps`): the plant shares several lines' calls between threads while
        it runs the lines' Python (:meth:`twin.plant.plant.Plant.sync`)."""
        yield from self.catch_up_steps(time_s)
        self.flush(time_s)
        self.absorb((yield from self.advance_cells_steps(self.sync_target(time_s, exact))))

    def pass_grid_point(self, time_s: float) -> None:
        """The plant's clock reached grid point ``time_s``: note the line current the cells ran at since the
        previous one. The cells go through the point at the line's next sync (:meth:`catch_up`)."""
        self.pending_grid.append((time_s, self.current_kA()))

    def catch_up(self, time_s: float) -> None:
        """Advance through every noted grid point up to ``time_s``, one at a time, as a sync at each point when
        the clock passed it would have: the jobs that ended before the point, then the cells to it at the line
        current noted then, then their events and the potroom's reactions. So the path is the same whether the
        plant advances a line at each grid point or later, at its next interval close, in a worker thread.

        Why the current is noted rather than read now: a change made between two grid points acts as of the
        last one (the cells were there), never earlier; the noted current of each span is what the line held
        when the span ended. Everything else the cells see changes only after a sync (the sync convention of
        this module), which catches up first.
        """
        run_serially(self.catch_up_steps(time_s))

    def catch_up_steps(self, time_s: float) -> Generator[KernelCall, tuple[int, int], None]:
        """:meth:`catch_up` as a generator of its kernel calls (:meth:`sync_steps`)."""
        pending = self.pending_grid
        while pending and pending[0][0] <= time_s:
            point, current_kA = pending.popleft()
            self.flush(point)
            self.absorb((yield from self.advance_cells_steps(point, current_kA)))

    def flush(self, time_s: float) -> None:
        """Apply the routine crane jobs that ended before ``time_s``, each as of its own sync point."""
        if self.operations is not None:
            self.operations.flush(time_s)

    def sync_target(self, time_s: float, exact: bool = False) -> float:
        """The time a sync at ``time_s`` advances the cells to (the grid point at or before it, or itself)."""
        grid = self.sync_grid_s
        if exact or grid <= 0.0:
            return time_s
        return math.floor(time_s / grid + 1e-9) * grid

    def advance_cells(self, time_s: float, current_kA: float | None = None) -> LineAdvance:
        """Advance the cells to ``time_s`` at ``current_kA`` (default: the line current now); touches nothing but
        this line's cells and its potroom's orders. :meth:`absorb` then books the result.

        While the line carries current, the span's share of the potroom's pending AlF3 and crushed bath goes in
        first (:meth:`twin.plant.control.PotroomControl.feed`); in an outage the feeders and cranes stop."""
        return run_serially(self.advance_cells_steps(time_s, current_kA))

    def advance_cells_steps(
        self, time_s: float, current_kA: float | None = None
    ) -> Generator[KernelCall, tuple[int, int], LineAdvance]:
        """:meth:`advance_cells` as a generator of its kernel calls (:meth:`sync_steps`)."""
        current = self.current_kA() if current_kA is None else current_kA
        start = self.potline.time_s
        if time_s <= start:
            return LineAdvance(current, 0.0, ())
        if self.control is not None and current > 0.0:
            self.control.feed(time_s - start)
        result = yield from self.potline.advance_to_steps(time_s, current)
        return LineAdvance(current, self.potline.time_s - start, result.events)

    def absorb(self, step: LineAdvance) -> None:
        """Book an advance: busbar energy, the cells' events and the potroom's reactions to them (in order)."""
        self.energy_busbar_J += (
            (step.current_kA * 1e3) ** 2 * self.spec["busbar_resistance_uohm"] * 1e-6 * step.elapsed_s
        )
        self.events.extend(step.events)
        for event in step.events:
            if event.kind == "anode_effect_end":  # the kill sequence breaks the crust over the feeders
                self.clear_feeder(event.cell)
            for listener in self.listeners:  # the potroom's protective actions (twin.plant.protection)
                listener(self, event)

    def interval(self) -> tuple[float, float, float]:
        """(DC power W, mean line voltage V, seconds) since the previous call."""
        now = self.potline.time_s
        e_cells = float(self.potline.values("energy_in_J").sum())
        vs = float(self.potline.values("voltage_seconds").sum())
        span = now - self.last.time_s
        if span <= 0.0:
            return 0.0, 0.0, 0.0
        d_energy = (e_cells - self.last.energy_cells_J) + (self.energy_busbar_J - self.last.energy_busbar_J)
        current = self.current_kA() * 1e3
        v_line = (vs - self.last.voltage_seconds) / span + current * self.spec["busbar_resistance_uohm"] * 1e-6
        self.last = LineCounters(now, e_cells, self.energy_busbar_J, vs)
        self._limit_voltage(v_line)
        return d_energy / span, v_line, span

    def draw(
        self, current_A: float, measured: tuple[float, float] | None, previous: tuple[float, float] | None = None
    ) -> LineDraw:
        """What this line draws (:mod:`twin.plant.demand`) at ``current_A``, its pots at the resistance of
        ``measured`` (the current kA and line voltage V of an interval: V_cell = E + I·R, R held). Without a
        measured interval with current (the start, a restart) the pots are at the technology's target voltage
        at ``current_A``, as the plant sets them.

        ``previous``: the interval before ``measured``; a rise of the resistance from it to ``measured`` is taken to
        go on for one more interval (the regulator raising the anodes toward targets the potroom raised), so the
        pots are priced at R + max(R − R_previous, 0)."""
        technology = self.potline.technology
        n_cells = self.potline.n_cells
        bemf = technology.number("anode.bemf_V")
        busbar_ohm = self.spec["busbar_resistance_uohm"] * 1e-6

        def cell_resistance(interval: tuple[float, float]) -> float:
            amps = interval[0] * 1e3
            return ((interval[1] - amps * busbar_ohm) / n_cells - bemf) / amps

        cell_V = technology.number("control.target_voltage_V")
        if measured is not None and measured[0] > 0.0 and current_A > 0.0:
            resistance = cell_resistance(measured)
            if previous is not None and previous[0] > 0.0:
                resistance += max(resistance - cell_resistance(previous), 0.0)
            cell_V = bemf + resistance * current_A
        return line_draw(current_A=current_A, cell_voltage_V=cell_V, n_cells=n_cells, bemf_V=bemf,
                         busbar_ohm=busbar_ohm, efficiency=self.spec["rectifier_efficiency"])

    def _limit_voltage(self, v_line: float) -> None:
        """Rectifiers at their voltage ceiling cannot hold the current: scale it down for the next interval.

        The scaling is proportional (an approximation: the back EMF does not scale with current), applied
        again each interval until the line voltage is back under the ceiling, and released gradually.
        """
        ceiling = self.spec["rectifier_voltage_max_V"]
        if v_line > ceiling:
            self.voltage_factor *= ceiling / v_line
        else:
            self.voltage_factor = min(1.0, self.voltage_factor * 1.01)

    def cells(self) -> np.ndarray:
        return np.arange(self.potline.n_cells)
