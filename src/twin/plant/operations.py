"""Routine potline operations as SimPy processes that act on the cell state between kernel chunks.

Each operation queues for a pot-tending crane, holds it for the operation's duration, brings the line's
cells up to the present (lazy sync) and then changes their state. Schedules are staggered over the line
so the crane load is even, as in a real potroom.

* Tapping: daily, the metal above the cell's start inventory is siphoned out; the anode beam follows
  the metal so the ACD is unchanged (physics.md §1.7: daily tap ≈ one day's production). At the tap the
  potroom measures the pot and runs its daily loops (AlF3, resistance target, bath level;
  :mod:`twin.plant.control`).
* Anode change: one anode per cell every anode cycle / anode count (Qatalum 600 h / 30 = 20 h,
  physics.md §1.7); the cold anode cools the anode-and-cover node by its heat capacity times its
  temperature rise (:func:`twin.cell.operations.change_anode`) and the cell is noisier for hours (Dupuis,
  physics.md §1.7).
* Beam raising: every ``BEAM_RAISE_DAYS`` days per cell the anode beam is re-clamped (Qatalum 17 d);
  a short voltage disturbance, modelled as raised noise.
* Feeder blockages: point-feeder holes crust over at random (a Poisson process per line at the plant
  file's rate per cell-day); the cell loses a share of its feed for an exponentially distributed time.
  The tracking controller does not know and can only react to the alumina it sees falling; this is
  what produces the occasional anode effect of a modern line (physics.md §1.5). The anode-effect kill
  sequence breaks the crust and clears the hole (``PotlineSim.sync``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

if TYPE_CHECKING:
    from twin.plant.line import PotlineSim

DAY_S = 86400.0
BEAM_RAISE_DAYS = 17.0  # qatalum.com: beam raise every 17 days
BEAM_RAISE_NOISE_GAIN = 2.0  # [R] a short disturbance, smaller than an anode change


def staggered(
    env: simpy.Environment, line: PotlineSim, period_per_cell_s: float, offset: float,
    operation: Callable[[simpy.Environment, PotlineSim, int], Any],
) -> Generator[Any, Any, None]:
    """Visit cell 1, 2, ... N, 1, ... so each cell gets ``operation`` once per ``period_per_cell_s``.

    The line's work is spread evenly over the period (one cell every period / N), starting ``offset`` of a
    slot late so different operations do not all land on the same instants. A generator ``operation`` runs
    as its own process (it may queue for a crane); a plain function runs in place.
    """
    n = line.potline.n_cells
    slot = period_per_cell_s / n
    yield env.timeout(slot * offset)
    cell = 0
    while True:
        result = operation(env, line, cell)
        if isinstance(result, Generator):
            env.process(result)
        cell = (cell + 1) % n
        yield env.timeout(slot)


def tapping(env: simpy.Environment, line: PotlineSim) -> Generator[Any, Any, None]:
    """Tap every cell once a day, staggered over the day."""
    return staggered(env, line, DAY_S, 0.5, _tap)


def _tap(env: simpy.Environment, line: PotlineSim, cell: int) -> Generator[Any, Any, None]:
    with line.cranes.request() as crane:
        yield crane
        yield env.timeout(line.spec["tap_duration_min"] * 60.0)
        line.sync(env.now)
        target = line.potline.technology.number("cell.metal_mass_kg")
        line.metal_tapped_kg += line.potline.tap_metal(cell, target)
        line.taps += 1
        if line.control is not None:
            line.control.visit(cell, env.now)


def anode_changes(env: simpy.Environment, line: PotlineSim) -> Generator[Any, Any, None]:
    """Change one anode per cell every anode cycle / anode count, staggered over the line."""
    tech = line.potline.technology
    per_cell_s = tech.number("anode.anode_cycle_h") * 3600.0 / tech.number("cell.anode_count")
    return staggered(env, line, per_cell_s, 1.0 / 3.0, _change_anode)


def _change_anode(env: simpy.Environment, line: PotlineSim, cell: int) -> Generator[Any, Any, None]:
    with line.cranes.request() as crane:
        yield crane
        yield env.timeout(line.spec["anode_change_duration_min"] * 60.0)
        line.sync(env.now)
        line.potline.change_anode(cell, line.spec["anode_change_noise_gain"])
        line.anode_changes += 1


def feeder_blockages(env: simpy.Environment, line: PotlineSim, rng: np.random.Generator) -> Generator[Any, Any, None]:
    """Block a random cell's feeder at random times; each blockage clears after a random time."""
    n = line.potline.n_cells
    rate_per_s = line.spec["feeder_blockage_per_cell_day"] * n / DAY_S
    if rate_per_s <= 0.0:
        return
    while True:
        yield env.timeout(float(rng.exponential(1.0 / rate_per_s)))
        cell = int(rng.integers(n))
        hours = float(rng.exponential(line.spec["feeder_blockage_hours"]))
        env.process(_blocked_feeder(env, line, cell, hours))


def _blocked_feeder(env: simpy.Environment, line: PotlineSim, cell: int, hours: float) -> Generator[Any, Any, None]:
    line.sync(env.now)
    if not line.block_feeder(cell):
        return  # already blocked
    yield env.timeout(hours * 3600.0)
    line.sync(env.now)
    line.clear_feeder(cell)


def beam_raising(env: simpy.Environment, line: PotlineSim) -> Generator[Any, Any, None]:
    """Re-clamp the anode beam of each cell every BEAM_RAISE_DAYS, staggered."""
    return staggered(env, line, BEAM_RAISE_DAYS * DAY_S, 0.5, _raise_beam)


def _raise_beam(env: simpy.Environment, line: PotlineSim, cell: int) -> None:
    line.sync(env.now)
    line.potline.raise_noise(cell, BEAM_RAISE_NOISE_GAIN)
