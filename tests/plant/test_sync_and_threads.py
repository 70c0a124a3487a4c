"""The plant's sync grid and its threads (issue 12 items 3 and 4; twin.plant.plant.Plant.sync).

* Threads change who computes, never what: the reference plant (2 lines) on 2 threads is the same run as on 1.
* The sync grid advances the cells in whole slow-term cadences: a plant without operations follows the same
  path as one long kernel call of the bare cells (the kernel's cadence is global, twin.cell.kernel).
* Operations between grid points do not advance the line; the exact mode (sync_s = 0) still does.
* More lines than threads (three lines on 1, 2 and 3 threads): the same run.
* The default grid (twin.plant.plant.default_sync_s): every crane job acts while its crane is at the pot and every
  kernel call is whole slow-term cadences; a grid longer than the shortest job lets a tap act before its crane came.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from twin.cell import Potline
from twin.errors import SimulationError
from twin.params import PlantSpec, load_plant
from twin.plant import Plant
from twin.plant.operations import job_durations_s
from twin.plant.plant import default_sync_s

REFERENCE = load_plant("models/plant_reference.toml")
SMALL = load_plant("models/plant_small.toml")
HOURS = 2


def _run(spec, hours: float, **options) -> Plant:
    plant = Plant.build(spec, seed=3, slow_every=60, **options)
    plant.env.run(until=hours * 3600.0)
    plant.close_interval()
    plant.close()
    return plant


def test_two_threads_give_the_same_run_as_one():
    one = _run(REFERENCE, HOURS, threads=1)
    two = _run(REFERENCE, HOURS, threads=2)
    assert len(one.records) == len(two.records) == HOURS * 12
    assert one.records == two.records
    for a, b in zip(one.lines, two.lines, strict=True):
        assert a.potline.time_s == b.potline.time_s == HOURS * 3600.0
        np.testing.assert_array_equal(a.potline.state, b.potline.state)
        np.testing.assert_array_equal(a.potline.acc, b.potline.acc)
        assert a.events == b.events


def test_grid_sync_follows_one_long_kernel_call():
    """No operations, constant current: the plant's cells advanced on the 60-s grid (5 syncs per dispatch
    interval) end where the same cells advanced in one kernel call end, to round-off."""
    plant = _run(SMALL, 1, sync_s=60.0, routine_operations=False)
    line = plant.lines[0]
    assert line.shed_fraction == 0.0
    assert line.voltage_factor == 1.0
    seed = int(np.random.SeedSequence(3).spawn(1)[0].generate_state(1)[0])  # as Plant.build seeds line 1
    bare = Potline(line.potline.technology, line.potline.n_cells, seed=seed, slow_every=60, stop_on=())
    bare.set_hx_duty(None, line.potline.values("q_hx_W"))
    bare.advance(3600, line.current_kA())
    np.testing.assert_allclose(line.potline.state, bare.state, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(line.potline.acc, bare.acc, rtol=1e-9, atol=1e-6)


def test_operations_between_grid_points_do_not_advance_the_line():
    plant = Plant.build(SMALL, seed=3, slow_every=60, sync_s=60.0)
    line = plant.lines[0]
    plant.env.run(until=3600.0 + 37.0)
    line.sync(plant.env.now)  # what an operation does
    assert line.potline.time_s == 3600.0
    line.sync(plant.env.now, exact=True)
    assert line.potline.time_s == 3637.0
    exact = Plant.build(SMALL, seed=3, slow_every=60, sync_s=0.0)
    exact.env.run(until=3637.0)
    exact.lines[0].sync(exact.env.now)
    assert exact.lines[0].potline.time_s == 3637.0


@pytest.mark.parametrize(
    ("interval_s", "cadence_s", "shortest_job_s", "grid_s"),
    [
        (300.0, 60.0, 240.0, 240.0),  # the shipped plants: four cadences fit in a 4-min tap
        (300.0, 60.0, 299.0, 240.0),  # whole cadences only
        (300.0, 60.0, 600.0, 300.0),  # never longer than the dispatch interval
        (300.0, 60.0, 30.0, 30.0),  # a job shorter than a cadence: the job itself
        (300.0, 3600.0, 240.0, 240.0),  # a cadence longer than the job
        (10.0, 60.0, 240.0, 10.0),  # a 10-s interval
        (3600.0, 30.0, 240.0, 240.0),  # the optimiser's hourly intervals at slow_every 30
    ],
)
def test_default_grid_is_the_most_whole_cadences_within_the_shortest_job(interval_s, cadence_s, shortest_job_s, grid_s):
    assert default_sync_s(interval_s, cadence_s, shortest_job_s) == grid_s


def _applied_jobs(plant: Plant, hours: float) -> tuple[list[tuple[float, float, float]], list[tuple[int, int]]]:
    """Run ``plant``; return each applied crane job as (its line's clock when applied, end, crane time) and each
    kernel call of line 1 as (step count before it, steps asked)."""
    line = plant.lines[0]
    durations = job_durations_s(line.spec)
    jobs: list[tuple[float, float, float]] = []
    calls: list[tuple[int, int]] = []
    apply, advance = line.operations._apply, line.potline.advance

    def recording_apply(kind: int, cells: np.ndarray, ends: list[float]) -> None:
        jobs.extend((line.potline.time_s, end, durations[kind]) for end in ends if kind in durations)
        apply(kind, cells, ends)

    def recording_advance(steps: int, current: float) -> object:
        calls.append((line.potline.step_count, steps))
        return advance(steps, current)

    line.operations._apply = recording_apply
    line.potline.advance = recording_advance
    plant.env.run(until=hours * 3600.0)
    plant.close_interval()
    return jobs, calls


def test_default_grid_acts_within_each_crane_job_in_whole_cadences():
    plant = Plant.build(SMALL, seed=3, slow_every=60)
    assert plant.sync_s == 240.0  # plant_small.toml: 4-min taps, 5-min anode changes, 5-min interval
    jobs, calls = _applied_jobs(plant, 30)
    assert len(jobs) > 50  # 24 taps a day, an anode change per cell every 600 h / 30 anodes = 20 h
    for clock, end, crane_s in jobs:
        assert end - crane_s < clock <= end
    assert calls
    assert all(start % 60 == 0 and steps % 60 == 0 for start, steps in calls)


def test_a_grid_longer_than_the_shortest_job_acts_before_some_cranes_came():
    """The contrast that shows the check above can fail: on a 300-s grid a 4-min tap may act up to a minute before
    its crane reached the pot."""
    jobs, _ = _applied_jobs(Plant.build(SMALL, seed=3, slow_every=60, sync_s=300.0), 30)
    assert any(clock <= end - crane_s for clock, end, crane_s in jobs)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threads": 0}, "threads = 0 is invalid; expected an integer in [1, 64]"),
        ({"threads": 2.0}, "threads = 2.0 is invalid"),
        ({"sync_s": -1.0}, "sync_s = -1.0 is invalid; expected seconds in [0, interval_s = 300]"),
        ({"sync_s": 900.0}, "sync_s = 900.0 is invalid"),
    ],
)
def test_bad_threads_or_sync_grid_is_a_clear_error(options, message):
    with pytest.raises(SimulationError, match=message.replace("[", r"\[").replace(".", r"\.")):
        Plant.build(SMALL, seed=1, **options)


def _three_lines(tmp_path: Path) -> PlantSpec:
    """The reference plant with a third potline (a copy of P2 named P3), 96 cells a line to keep it quick."""
    text = Path("models/plant_reference.toml").read_text()
    p2 = text[text.index('[[potline]]\nname = "P2"'):text.index("[[coal_unit]]")]
    text = text.replace(p2, p2 + p2.replace('name = "P2"', 'name = "P3"'), 1).replace("value = 352,", "value = 96,")
    (tmp_path / "plant.toml").write_text(text)
    shutil.copy("models/hal275.toml", tmp_path / "hal275.toml")
    return load_plant(tmp_path / "plant.toml")


def test_more_lines_than_threads_give_the_same_run(tmp_path):
    """Three lines on 1, 2 and 3 threads (on 2 the pool's one worker takes two lines in turn): one run."""
    spec = _three_lines(tmp_path)
    runs = [_run(spec, 1, threads=threads) for threads in (1, 2, 3)]
    for run in runs[1:]:
        assert run.records == runs[0].records
        for a, b in zip(runs[0].lines, run.lines, strict=True):
            np.testing.assert_array_equal(a.potline.state, b.potline.state)
            assert a.events == b.events
