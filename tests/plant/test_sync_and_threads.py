"""The plant's sync grid and its threads (issue 12 items 3 and 4; twin.plant.plant.Plant.sync).

* Threads change who computes, never what: the reference plant (2 lines) on 2 threads is the same run as on 1.
* The sync grid advances the cells in whole slow-term cadences: a plant without operations follows the same
  path as one long kernel call of the bare cells (the kernel's cadence is global, twin.cell.kernel).
* Operations between grid points do not advance the line; the exact mode (sync_s = 0) still does.
* More lines than threads (three lines on 1, 2 and 3 threads): the same run.
* The default grid (twin.plant.plant.default_sync_s): every crane job acts while its crane is at the pot and every
  kernel call is whole slow-term cadences; a grid longer than the shortest job lets a tap act before its crane came.
* Grid points are marked, not synced: the lines meet (a barrier of the threads) only at the interval closes, still
  advancing through every grid point; deferring a grid point gives the path of a sync at it, bit for bit, with a
  current change between grid points; every line's Python runs in the calling thread and the kernel blocks on
  both threads (twin.cell.kernel_team); an error in one line is raised after every line finished its sync.
"""

from __future__ import annotations

import shutil
import threading
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
    bare.stagger_feed_cycles(np.random.default_rng(np.random.SeedSequence([3, 3]).spawn(1)[0]))  # as Plant.build
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
    apply, advance_steps = line.operations._apply, line.potline.advance_steps

    def recording_apply(kind: int, cells: np.ndarray, ends: list[float]) -> None:
        jobs.extend((line.potline.time_s, end, durations[kind]) for end in ends if kind in durations)
        apply(kind, cells, ends)

    def recording_advance_steps(steps: int, current: float) -> object:
        calls.append((line.potline.step_count, steps))
        return advance_steps(steps, current)

    line.operations._apply = recording_apply
    line.potline.advance_steps = recording_advance_steps
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
    """Three lines on 1, 2 and 3 threads (on 2 the lines are dealt round-robin: the calling thread takes the first
    and the third in turn, the one worker the second): one run."""
    spec = _three_lines(tmp_path)
    runs = [_run(spec, 1, threads=threads) for threads in (1, 2, 3)]
    for run in runs[1:]:
        assert run.records == runs[0].records
        for a, b in zip(runs[0].lines, run.lines, strict=True):
            np.testing.assert_array_equal(a.potline.state, b.potline.state)
            assert a.events == b.events


def test_lines_meet_only_at_the_interval_closes():
    """The grid points are marked, not synced: the plant brings all lines together (a barrier of its threads) only
    where it needs all of them, at each interval close, while every line still advances on the grid."""
    plant = Plant.build(REFERENCE, seed=3, slow_every=60, threads=2)
    syncs = []
    plant_sync = plant.sync
    plant.sync = lambda: (syncs.append(plant.env.now), plant_sync())[1]
    calls = []
    line = plant.lines[1].potline
    advance_steps = line.advance_steps
    line.advance_steps = lambda steps, current: (calls.append(steps), advance_steps(steps, current))[1]
    plant.env.run(until=HOURS * 3600.0 + 1.0)  # the close at the horizon itself runs
    plant.close()
    assert syncs == [300.0 * k for k in range(1, HOURS * 12 + 1)]
    assert len(plant.records) == len(syncs)
    # yet the line went through every 240-s grid point: calls end on the grid and on the closes (the union)
    ends = np.cumsum(calls)
    points = sorted({240.0 * k for k in range(1, HOURS * 15 + 1)} | set(syncs))
    assert list(ends) == points


def _unsynced_setpoint_changes(plant: Plant):
    """Lower the line current between grid points and raise it again, without syncing the line first (a change
    acts as of the last grid point)."""
    line = plant.lines[0]
    yield plant.env.timeout(1007.0)
    line.setpoint_kA *= 0.97
    yield plant.env.timeout(1500.0)
    line.setpoint_kA /= 0.97


def _sync_at_each_grid_point(plant: Plant):
    while True:
        yield plant.env.timeout(plant.sync_s)
        for line in plant.lines:
            line.sync(plant.env.now)


def test_deferred_grid_points_follow_the_path_of_a_sync_at_each_point():
    """A line that goes through its grid points at the next interval close ends where the same line synced at
    each grid point as the clock passed it ends, bit for bit, with a current change between grid points: each span
    runs at the current the line held when the clock reached its end, not at the current of the later sync."""
    runs = []
    for eager in (False, True):
        plant = Plant.build(SMALL, seed=3, slow_every=60)
        plant.env.process(_unsynced_setpoint_changes(plant))
        if eager:
            plant.env.process(_sync_at_each_grid_point(plant))
        plant.env.run(until=HOURS * 3600.0)
        plant.close_interval()
        runs.append(plant)
    lazy, eager = runs
    assert lazy.records == eager.records
    assert lazy.lines[0].events == eager.lines[0].events
    np.testing.assert_array_equal(lazy.lines[0].potline.state, eager.lines[0].potline.state)
    np.testing.assert_array_equal(lazy.lines[0].potline.acc, eager.lines[0].potline.acc)
    # the change did act: the run without it ends elsewhere
    plain = _run(SMALL, HOURS)
    assert not np.array_equal(plain.lines[0].potline.state, lazy.lines[0].potline.state)


def _record_threads(line) -> list[str]:
    names: list[str] = []
    apply = line.operations._apply

    def recording_apply(kind: int, cells: np.ndarray, ends: list[float]) -> None:
        names.append(threading.current_thread().name)
        apply(kind, cells, ends)

    line.operations._apply = recording_apply
    return names


def test_the_lines_python_runs_in_the_calling_thread_and_their_kernels_on_both():
    """On 2 threads every line's crane jobs (Python: the potroom's visits, the named operations) run in the calling
    thread, one line while the other's kernel calls run, and the helper thread runs kernel blocks
    (twin.cell.kernel_team): no thread waits for the GIL held by another line's Python."""
    plant = Plant.build(REFERENCE, seed=3, slow_every=60, threads=2)
    first, second = (_record_threads(line) for line in plant.lines)
    plant.env.run(until=HOURS * 3600.0)
    plant.close_interval()
    blocks_run = plant._team.blocks_run.copy()
    plant.close()
    assert first
    assert second
    assert set(first) == set(second) == {threading.main_thread().name}
    assert blocks_run[1] > 0  # the helper ran blocks; the caller too, unless the helper took every one
    assert blocks_run.sum() >= 2 * 11 * HOURS * 12  # both lines (11 blocks of 32 cells) at least once an interval


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_in_one_line_is_raised_after_every_line_synced(threads, failing):
    plant = Plant.build(REFERENCE, seed=3, slow_every=60, threads=threads)
    line = plant.lines[failing]

    def failing_apply(kind: int, cells: np.ndarray, ends: list[float]) -> None:
        raise SimulationError(f"potline {line.name}: cannot apply a job")

    line.operations._apply = failing_apply
    with pytest.raises(SimulationError, match=f"potline {line.name}: cannot apply a job"):
        plant.env.run(until=HOURS * 3600.0)
    plant.close()
    other = plant.lines[1 - failing]
    if threads == 2:  # the other line finished its sync before the error was raised: no thread is left running
        assert other.potline.time_s == plant.env.now
