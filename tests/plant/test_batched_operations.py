"""Routine operations applied in batches (issue 12 item 3; twin.plant.operations.LineOperations).

* The crane queue the batches work out for themselves gives the jobs the same end times, in the same order,
  as SimPy's ``Resource`` (first come, first served, ``c`` cranes) fed by staggered SimPy processes: the
  reference is SimPy itself, with fewer cranes than the line has so that jobs do queue.
* The potroom's daily visits of several pots in one vectorised call leave the cells, the controller and the
  line's totals exactly as visits one pot at a time (measurement noise on: its draws keep their order).
* Feeder blockages as queued jobs give the run of a SimPy process per line that draws them and a process per
  blockage that syncs its line, blocks the hole and clears it after its time (the reference), bit for bit, on a
  line where holes are often blocked again while still blocked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import simpy

from twin.params import load_plant
from twin.plant import Plant
from twin.plant.operations import ANODE, DAY_S, TAP, LineOperations

SINGLE = load_plant("models/plant_single400.toml")


def _simpy_crane_jobs(line, cranes: int, until_s: float) -> list[tuple[float, int, int]]:
    """(end, kind, cell) of every crane job that ends before ``until_s``, from SimPy processes and a Resource."""
    env = simpy.Environment()
    resource = simpy.Resource(env, capacity=cranes)
    tech = line.potline.technology
    n = line.potline.n_cells
    jobs: list[tuple[float, int, int]] = []

    def job(kind: int, cell: int, duration_s: float):
        with resource.request() as crane:
            yield crane
            yield env.timeout(duration_s)
            jobs.append((env.now, kind, cell))

    def staggered(period_s: float, offset: float, kind: int, duration_s: float):
        slot = period_s / n
        yield env.timeout(slot * offset)
        cell = 0
        while True:
            env.process(job(kind, cell, duration_s))
            cell = (cell + 1) % n
            yield env.timeout(slot)

    anode_s = tech.number("anode.anode_cycle_h") * 3600.0 / tech.number("cell.anode_count")
    env.process(staggered(DAY_S, 0.5, TAP, line.spec["tap_duration_min"] * 60.0))
    env.process(staggered(anode_s, 1.0 / 3.0, ANODE, line.spec["anode_change_duration_min"] * 60.0))
    env.run(until=until_s)
    return jobs


def test_crane_queue_matches_simpy_resource():
    plant = Plant.build(SINGLE, seed=1, slow_every=60, routine_operations=False)
    line = plant.lines[0]
    cranes = 2  # the file has 4; with 2 the cranes are busy ~70 % of the time and jobs wait
    operations = LineOperations(line)
    operations.cranes_free = [0.0] * cranes
    until = 2 * DAY_S
    ours = [job for job in operations._due(until) if job[1] in (TAP, ANODE)]  # beam raises use no crane
    reference = _simpy_crane_jobs(line, cranes, until)
    assert ours == reference
    tap_s = line.spec["tap_duration_min"] * 60.0
    slot = DAY_S / line.potline.n_cells
    waited = [end for end, kind, cell in ours if kind == TAP and end > slot * (0.5 + cell) + tap_s + 1e-6]
    assert waited, "no tap waited for a crane: the test would not see a wrong queue"


def test_batched_visits_equal_visits_one_at_a_time():
    plants = [Plant.build(SINGLE, seed=4, slow_every=60, sync_s=60.0) for _ in range(2)]
    for plant in plants:
        plant.env.run(until=6 * 3600.0)
        plant.sync()
    cells = [3, 17, 250, 399]
    now = plants[0].env.now
    times = [now + 10.0 * k for k in range(len(cells))]
    one, batch = (plant.lines[0] for plant in plants)
    for _ in range(3):  # a few rounds, so samples, results and doses all come into play
        for cell, time_s in zip(cells, times, strict=True):
            one.control.visit(cell, time_s)
        batch.control.visit_many(np.array(cells, dtype=np.int64), times)
        times = [t + DAY_S for t in times]
    np.testing.assert_array_equal(one.potline.state, batch.potline.state)
    for name in ("visits", "added_kg", "lost_seen_kg", "measured_temp_degC", "measured_superheat_K"):
        np.testing.assert_array_equal(getattr(one.control, name), getattr(batch.control, name))
    assert one.control.samples == batch.control.samples
    for name in ("alf3_added_kg", "bath_added_kg", "bath_tapped_kg"):
        assert getattr(one, name) == getattr(batch, name)
    assert one.alf3_added_kg > 0.0
    assert one.control.rng.bit_generator.state == batch.control.rng.bit_generator.state


def _often_blocked(tmp_path: Path):
    """plant_small with feeder holes crusting over at the schema's highest rate, 2 per cell-day (48 a day on 24
    cells, each 2 h on average): a hole is often blocked again while it is still blocked."""
    text = Path("models/plant_small.toml").read_text()
    old = "feeder_blockage_per_cell_day = { value = 0.03,"
    assert old in text
    (tmp_path / "plant.toml").write_text(text.replace(old, "feeder_blockage_per_cell_day = { value = 2.0,"))
    shutil.copy("models/hal275.toml", tmp_path / "hal275.toml")
    return load_plant(tmp_path / "plant.toml")


def _reference_blockages(plant: Plant, rng: np.random.Generator, refused: list[int]):
    """The reference: a SimPy process draws each blockage (interval, cell, hours) and starts one that syncs the
    line, blocks the hole (nothing if it is blocked already) and, if it did, clears it after its time."""
    env, line = plant.env, plant.lines[0]
    n = line.potline.n_cells
    rate_per_s = line.spec["feeder_blockage_per_cell_day"] * n / DAY_S

    def blockage(cell: int, hours: float):
        line.sync(env.now)
        if not line.block_feeder(cell):
            refused.append(cell)
            return
        yield env.timeout(hours * 3600.0)
        line.sync(env.now)
        line.clear_feeder(cell)

    while True:
        yield env.timeout(float(rng.exponential(1.0 / rate_per_s)))
        cell = int(rng.integers(n))
        hours = float(rng.exponential(line.spec["feeder_blockage_hours"]))
        env.process(blockage(cell, hours))


def test_queued_feeder_blockages_equal_a_process_per_blockage(tmp_path):
    spec = _often_blocked(tmp_path)
    seed, hours = 5, 30.0
    queued = Plant.build(spec, seed=seed, slow_every=60)
    reference = Plant.build(spec, seed=seed, slow_every=60)
    line = reference.lines[0]
    line.operations = LineOperations(line)  # the crane jobs alone: the blockages come from the reference
    blockage_seed = np.random.SeedSequence([seed, 1]).spawn(1)[0]  # as Plant.build seeds line 1's operations
    refused: list[int] = []
    reference.env.process(_reference_blockages(reference, np.random.default_rng(blockage_seed), refused))
    for plant in (queued, reference):
        plant.env.run(until=hours * 3600.0)
        plant.close_interval()
    a, b = queued.lines[0], reference.lines[0]
    assert b.feeder_blockages > 40  # 48 a day
    assert refused  # some holes were blocked again while blocked: those blockages never clear anything
    assert a.feeder_blockages == b.feeder_blockages
    assert a.blocked_cells == b.blocked_cells
    assert a.events == b.events
    assert queued.records == reference.records
    np.testing.assert_array_equal(a.potline.state, b.potline.state)
    np.testing.assert_array_equal(a.potline.acc, b.potline.acc)
