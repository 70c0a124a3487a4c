"""Routine potline operations: scheduled crane jobs applied to the cell state in batches, between kernel chunks.

Tapping and anode changes are crane jobs; each queues for one of the line's pot-tending cranes (first come,
first served, ``cranes`` of them) and acts when its crane time is over. Schedules are staggered over the line
so the crane load is even, as in a real potroom. The schedule is deterministic, so :class:`LineOperations`
works the crane queue out itself (a heap of crane free times, the same instants SimPy's ``Resource`` gives)
instead of running a SimPy process per job: the jobs that finished since the line's last sync are applied
together, by one named Potline operation per kind taking an index array, just before the line next advances
(:meth:`twin.plant.line.PotlineSim.sync`, which :meth:`twin.plant.plant.Plant.sync` runs for every line, calls
:meth:`~LineOperations.flush`).
Each job still acts on the cells as of its own sync point (the grid point at or before its end, or its end
exactly with ``sync_s = 0``) and in end-time order, so the state is what a process per job gave (issue 12
item 3).

* Tapping: daily, the metal above the cell's start inventory is siphoned out; the anode beam follows
  the metal so the ACD is unchanged (physics.md §1.7: daily tap ≈ one day's production). At the tap the
  potroom measures the pot and runs its daily loops (AlF3, resistance target, bath level;
  :mod:`twin.plant.control`).
* Anode change: one anode per cell every anode cycle / anode count (Qatalum 600 h / 30 = 20 h,
  physics.md §1.7); the cold anode cools the anode-and-cover node by its heat capacity times its
  temperature rise (:func:`twin.cell.operations.change_anode`) and the cell is noisier for hours (Dupuis,
  physics.md §1.7).
* Beam raising: every ``BEAM_RAISE_DAYS`` days per cell the anode beam is re-clamped (Qatalum 17 d);
  a short voltage disturbance, modelled as raised noise (no crane).
* Feeder blockages: point-feeder holes crust over at random (a Poisson process per line at the plant
  file's rate per cell-day); the cell loses a share of its feed for an exponentially distributed time.
  The tracking controller does not know and can only react to the alumina it sees falling; this is
  what produces the occasional anode effect of a modern line (physics.md §1.5). The anode-effect kill
  sequence breaks the crust and clears the hole (``PotlineSim.absorb``). A blockage and its clearing are jobs
  of the same queue (no crane): drawn in the order a SimPy process per line drew them (interval, cell,
  duration) and applied as of their sync point, so a blockage no longer brings its line up to date in the
  calling thread between interval closes (issue 12 item 4).
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from twin.cell import operations as cell_ops

if TYPE_CHECKING:
    from twin.plant.line import PotlineSim

DAY_S = 86400.0
BEAM_RAISE_DAYS = 17.0  # qatalum.com: beam raise every 17 days
BEAM_RAISE_NOISE_GAIN = 2.0  # [R] a short disturbance, smaller than an anode change


TAP, ANODE, BEAM = 0, 1, 2  # job kinds; a flush applies the jobs of one kind at one sync point together
BLOCK, CLEAR = 3, 4  # a feeder blockage and its clearing; applied one by one, in time order, after those


def job_durations_s(spec: Any) -> dict[int, float]:
    """A tap's and an anode change's crane time (s), from the potline's plant-file entries."""
    return {TAP: spec["tap_duration_min"] * 60.0, ANODE: spec["anode_change_duration_min"] * 60.0}


class _Stagger:
    """Visits cell 0, 1, ... N−1, 0, ... one every ``period_per_cell_s / N``, starting ``offset`` of a slot late;
    the instants are summed as SimPy's timeouts sum them (t += slot), so they are the same floats."""

    def __init__(self, n: int, period_per_cell_s: float, offset: float, kind: int) -> None:
        self.n, self.slot, self.kind = n, period_per_cell_s / n, kind
        self.time = 0.0 + self.slot * offset
        self.cell = 0

    def pop(self) -> tuple[float, int]:
        time, cell = self.time, self.cell
        self.time += self.slot
        self.cell = (cell + 1) % self.n
        return time, cell


class _Blockages:
    """A line's feeder blockages, a Poisson process at ``rate_per_s``: each draws its interval, its cell and its
    duration in that order, and its instant is summed as SimPy's timeouts sum it (t += interval)."""

    def __init__(self, rng: np.random.Generator, n: int, rate_per_s: float, mean_hours: float) -> None:
        self.rng, self.n, self.rate_per_s, self.mean_hours = rng, n, rate_per_s, mean_hours
        self.time = 0.0 + float(rng.exponential(1.0 / rate_per_s)) if rate_per_s > 0.0 else math.inf
        self.count = 0

    def pop(self) -> tuple[float, int, float, int]:
        """(time s, cell, duration s, number) of the next blockage; the one after it is drawn."""
        time, number = self.time, self.count
        cell = int(self.rng.integers(self.n))
        duration_s = float(self.rng.exponential(self.mean_hours)) * 3600.0
        self.time = time + float(self.rng.exponential(1.0 / self.rate_per_s))
        self.count += 1
        return time, cell, duration_s, number


class LineOperations:
    """The routine crane jobs, beam raises and feeder blockages of one line, applied in batches at the line's
    syncs. Without ``blockage_rng`` the line has no random feeder blockages."""

    def __init__(self, line: PotlineSim, blockage_rng: np.random.Generator | None = None) -> None:
        tech = line.potline.technology
        n = line.potline.n_cells
        self.line = line
        anode_s = tech.number("anode.anode_cycle_h") * 3600.0 / tech.number("cell.anode_count")
        self.requests = [_Stagger(n, DAY_S, 0.5, TAP), _Stagger(n, anode_s, 1.0 / 3.0, ANODE)]
        self.duration_s = job_durations_s(line.spec)
        self.beams = _Stagger(n, BEAM_RAISE_DAYS * DAY_S, 0.5, BEAM)
        self.cranes_free = [0.0] * int(line.spec["cranes"])  # heap of the instants each crane is free
        self.done: list[tuple[float, int, int, Any]] = []  # heap of (end, order, kind, cell or (cell, blockage))
        self.order = 0
        self.metal_target_kg = tech.number("cell.metal_mass_kg")
        rate_per_s = line.spec["feeder_blockage_per_cell_day"] * n / DAY_S
        hours = line.spec["feeder_blockage_hours"]
        self.blockages = _Blockages(blockage_rng, n, rate_per_s, hours) if blockage_rng is not None else None
        self.blocked_by: set[int] = set()  # the blockages that took effect (a hole already blocked: none)

    def _due(self, now_s: float) -> list[tuple[float, int, Any]]:
        """Jobs that end before ``now_s``, in end order: (end, kind, cell). A crane goes to the earliest
        request (first come, first served) as soon as one is free; a job ends its duration after that."""
        done = self.done
        while True:
            first = min(self.requests, key=lambda r: r.time)
            if first.time >= now_s:  # a job ends after its request: later requests cannot end before now
                break
            request, cell = first.pop()
            start = max(request, heapq.heappop(self.cranes_free))
            end = start + self.duration_s[first.kind]
            heapq.heappush(self.cranes_free, end)
            heapq.heappush(done, (end, self.order, first.kind, cell))
            self.order += 1
        while self.beams.time < now_s:
            time, cell = self.beams.pop()
            heapq.heappush(done, (time, self.order, BEAM, cell))
            self.order += 1
        blockages = self.blockages
        while blockages is not None and blockages.time < now_s:
            time, cell, duration_s, number = blockages.pop()
            heapq.heappush(done, (time, self.order, BLOCK, (cell, number)))
            heapq.heappush(done, (time + duration_s, self.order + 1, CLEAR, (cell, number)))
            self.order += 2
        due = []
        while done and done[0][0] < now_s:
            end, _, kind, cell = heapq.heappop(done)
            due.append((end, kind, cell))
        return due

    def flush(self, now_s: float) -> None:
        """Apply every job that ended before ``now_s``: all jobs of one kind at one sync point as one operation.

        Jobs at one sync point act on the same cell state; taps (with the potroom's visit), anode changes, beam
        raises and feeder blockages change disjoint parts of it (metal, bath and targets; anode node and noise;
        noise, by a maximum; a hole's feed loss), so grouping them by kind keeps the result of acting one after
        the other in end order. Blockages and clearings of one hole do not commute: they go one by one, in
        time order (tested against a SimPy process per blockage, tests/plant/test_batched_operations.py).
        """
        due = self._due(now_s)
        line = self.line
        k = 0
        while k < len(due):
            target = line.sync_target(due[k][0])
            j = k + 1
            while j < len(due) and line.sync_target(due[j][0]) == target:
                j += 1
            if target > line.potline.time_s:  # exact sync (sync_s = 0) or a line not yet on the grid
                line.absorb(line.advance_cells(target))
            group = due[k:j]
            for kind in (TAP, ANODE, BEAM):
                jobs = [job for job in group if job[1] == kind]
                if jobs:
                    cells = np.array([job[2] for job in jobs], dtype=np.int64)
                    self._apply(kind, cells, [job[0] for job in jobs])
            for _, kind, (cell, number) in (job for job in group if job[1] >= BLOCK):
                self._feeder(kind, cell, number)
            k = j

    def _feeder(self, kind: int, cell: int, number: int) -> None:
        """Blockage ``number`` crusts ``cell``'s feeder hole (nothing if the hole is already blocked) or, if it did,
        its time is over and the hole clears (if an anode-effect kill has not cleared it already)."""
        if kind == BLOCK:
            if self.line.block_feeder(cell):
                self.blocked_by.add(number)
        elif number in self.blocked_by:
            self.blocked_by.discard(number)
            self.line.clear_feeder(cell)

    def _apply(self, kind: int, cells: np.ndarray, ends: list[float]) -> None:
        line = self.line
        pot = line.potline
        if kind == TAP:
            for kg in cell_ops.tap_metal_each(pot, cells, self.metal_target_kg):
                line.metal_tapped_kg += kg
            line.taps += cells.size
            if line.control is not None:
                line.control.visit_many(cells, ends)
        elif kind == ANODE:
            pot.change_anode(cells, line.spec["anode_change_noise_gain"])
            line.anode_changes += cells.size
        else:
            pot.raise_noise(cells, BEAM_RAISE_NOISE_GAIN)


def _raise_beam(env: simpy.Environment, line: PotlineSim, cell: int) -> None:
    line.sync(env.now)
    line.potline.raise_noise(cell, BEAM_RAISE_NOISE_GAIN)
