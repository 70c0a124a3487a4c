"""The kernel team (twin.cell.team, twin.cell.kernel_team): several lines' kernel calls shared block by block
between the calling thread and helper threads that never take the GIL (issue 12 item 4).

What it must do, whatever the timing:
* the same result as each line's calls run alone in one thread, bit for bit (state, generators, totals, outputs,
  events), with events on, lines whose size is no multiple of the block, more lines than threads, and lines that
  take different numbers of calls;
* calls it cannot share (stopping event kinds; more steps than its staging row) run whole in the calling thread,
  with the same result;
* a job's error comes back for that job, and the other jobs finish;
* helpers leave after their idle budget and come back for the next run; ``close`` stops them;
* the atomic claim gives every block to exactly one thread.
No test times anything (the speed is in benchmarks/).
"""

from __future__ import annotations

import threading
import time

import numba
import numpy as np
import pytest

from twin.cell import Potline
from twin.cell import team as team_kernels
from twin.cell.kernel_team import KernelTeam
from twin.cell.potline import run_serially
from twin.errors import SimulationError
from twin.params import load_technology
from twin.workers import _compare_exchange, _fetch_add

TECH = load_technology("models/hal275.toml")


def _lines(sizes: tuple[int, ...], *, seed: int = 0, stop_on: tuple[str, ...] = ()) -> list[Potline]:
    """Lines of the given sizes; every 7th cell starved of alumina (1 wt %), so anode effects come within minutes
    and the calls record events in several blocks."""
    lines = [Potline(TECH, n, seed=seed + k, slow_every=60, stop_on=stop_on) for k, n in enumerate(sizes)]
    for line in lines:
        starved = np.arange(3, line.n_cells, 7)
        line.set_cells("alumina_dissolved_kg", starved, 0.01 * line.values("bath_kg")[starved])
    return lines


def _job(line: Potline, calls: list[tuple[int, float]]):
    """A job: the given (steps, current kA) calls in turn, each with its events kept (as a plant line's sync)."""
    events = []
    for steps, current in calls:
        result = yield from line.advance_steps(steps, current)
        events.extend(result.events)
    return events


def _collect(line: Potline, calls, into: list) -> object:
    into.extend((yield from _job(line, calls)))


def _assert_same_lines(a: list[Potline], b: list[Potline]) -> None:
    for one, other in zip(a, b, strict=True):
        assert one.step_count == other.step_count
        np.testing.assert_array_equal(one.state, other.state)
        np.testing.assert_array_equal(one.rng, other.rng)
        np.testing.assert_array_equal(one.acc, other.acc)
        np.testing.assert_array_equal(one.out, other.out)


def _plans(rng: np.random.Generator, n_lines: int) -> list[list[tuple[int, float]]]:
    """Each line its own calls: 150- to 600-step spans at currents around nominal, a different count a line."""
    return [
        [(int(rng.integers(150, 600)), float(rng.uniform(270.0, 300.0))) for _ in range(int(rng.integers(3, 7)))]
        for _ in range(n_lines)
    ]


@pytest.mark.parametrize(("sizes", "helpers"), [((352, 352), 1), ((100, 37, 250), 1), ((65, 200, 31), 2)])
def test_a_team_gives_each_line_what_its_calls_alone_give(sizes, helpers):
    plans = _plans(np.random.default_rng(len(sizes) * 7 + helpers), len(sizes))
    alone = _lines(sizes, seed=3)
    alone_events = [run_serially(_job(line, plan)) for line, plan in zip(alone, plans, strict=True)]
    shared = _lines(sizes, seed=3)
    shared_events: list[list] = [[] for _ in sizes]
    team = KernelTeam(helpers, name="test-team")
    try:
        errors = team.run(
            shared, [_collect(line, plan, out) for line, plan, out in zip(shared, plans, shared_events, strict=True)]
        )
        assert errors == [None] * len(sizes)
        # the same team again (helpers kept or started anew), from where the lines are now
        more = _plans(np.random.default_rng(99), len(sizes))
        for line, plan in zip(alone, more, strict=True):
            run_serially(_job(line, plan))
        assert team.run(shared, [_job(line, plan) for line, plan in zip(shared, more, strict=True)]) == [None] * len(
            sizes
        )
    finally:
        team.close()
    _assert_same_lines(alone, shared)
    assert shared_events == alone_events
    assert all(len(e) > 0 for e in alone_events)  # every line recorded events (anode effects)
    assert team.blocks_run.sum() > 0


def test_the_helpers_take_blocks():
    """Two long lines and one helper: both threads run blocks (the split itself depends on timing)."""
    lines = _lines((352, 352), seed=5)
    team = KernelTeam(1, name="test-team")
    try:
        for _ in range(5):
            team.run(lines, [_job(line, [(600, 300.0)] * 4) for line in lines])
            if team.blocks_run.min() > 0:
                break
    finally:
        team.close()
    assert team.blocks_run.min() > 0


def test_calls_it_cannot_share_run_whole_in_the_calling_thread_with_the_same_result():
    """Lines that stop on events (their stop is resolved across all cells), and a call longer than the staging
    row: run whole by the caller, the result that of one thread."""
    plan = [(300, 290.0), (5000, 300.0), (200, 280.0)]  # 5000 steps > the 3600-step staging row
    alone = _lines((64, 96), seed=8, stop_on=("anode_effect_onset",))
    expected = [run_serially(_job(line, plan)) for line in alone]
    shared = _lines((64, 96), seed=8, stop_on=("anode_effect_onset",))
    got: list[list] = [[], []]
    team = KernelTeam(1, name="test-team")
    try:
        assert team.run(shared, [_collect(line, plan, out) for line, out in zip(shared, got, strict=True)]) == [
            None,
            None,
        ]
        assert team.blocks_run.sum() == 0  # nothing was shared
        plain = _lines((64,), seed=8)
        long_alone = _lines((64,), seed=8)
        run_serially(_job(long_alone[0], plan))
        team.run(plain, [_job(plain[0], plan)])
        _assert_same_lines(long_alone, plain)
    finally:
        team.close()
    _assert_same_lines(alone, shared)
    assert got == expected


def test_an_error_in_one_job_comes_back_for_it_and_the_others_finish():
    lines = _lines((96, 96), seed=2)

    def failing(line: Potline):
        yield from line.advance_steps(300, 300.0)
        raise SimulationError("job 0 failed")

    team = KernelTeam(1, name="test-team")
    try:
        errors = team.run(lines, [failing(lines[0]), _job(lines[1], [(300, 300.0)] * 3)])
    finally:
        team.close()
    assert isinstance(errors[0], SimulationError)
    assert str(errors[0]) == "job 0 failed"
    assert errors[1] is None
    assert lines[0].step_count == 300
    assert lines[1].step_count == 900


def test_a_job_that_asks_for_another_lines_call_is_an_error():
    lines = _lines((32, 32))
    team = KernelTeam(1, name="test-team")
    try:
        errors = team.run(lines, [_job(lines[1], [(60, 300.0)]), _job(lines[1], [(60, 300.0)])])
    finally:
        team.close()
    assert isinstance(errors[0], SimulationError)
    assert "another line" in str(errors[0])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"helpers": 0}, "helpers = 0 is invalid; expected an integer >= 1"),
        ({"helpers": True}, "helpers = True is invalid"),
        ({"helpers": 1, "spin_us": -1.0}, "spin_us = -1.0 is invalid; expected microseconds in [0, 100000]"),
    ],
)
def test_bad_settings_are_clear_errors(options, message):
    with pytest.raises(SimulationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        KernelTeam(**options)


def test_bad_runs_are_clear_errors():
    lines = _lines((32,))
    team = KernelTeam(1, name="test-team")
    try:
        with pytest.raises(SimulationError, match="1 jobs for 2 lines"):
            team.run([lines[0], lines[0]], [_job(lines[0], [])])
        with pytest.raises(SimulationError, match="appears twice"):
            team.run([lines[0], lines[0]], [_job(lines[0], []), _job(lines[0], [])])
        assert team.run([], []) == []
    finally:
        team.close()


def _helper_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(name)]


def test_helpers_leave_serve_when_idle_wait_for_the_next_run_and_stop_at_close():
    """An idle team keeps no core busy: after its idle budget a helper leaves serve() (OUT) and waits, blocked; the
    next run hands the same thread its arrays (no thread started per run); close() ends the threads."""
    lines = _lines((96, 96), seed=4)
    team = KernelTeam(1, spin_us=0.0, name="idle-team")  # leave at the first idle pass after a run
    alone = _lines((96, 96), seed=4)
    served_by: set[int | None] = set()
    try:
        for _ in range(3):
            team.run(lines, [_job(line, [(120, 300.0)]) for line in lines])
            for line in alone:
                run_serially(_job(line, [(120, 300.0)]))
            deadline = time.monotonic() + 10.0
            while team._presence[1] != team_kernels.OUT and time.monotonic() < deadline:
                time.sleep(0.001)
            assert team._presence[1] == team_kernels.OUT  # the helper left serve(): it does not spin
            helpers = _helper_threads("idle-team")
            assert len(helpers) == 1  # and its thread waits for the next run
            served_by.add(helpers[0].ident)
        assert len(served_by) == 1
        _assert_same_lines(alone, lines)
        team.close()
        assert not _helper_threads("idle-team")
        kept = KernelTeam(1, spin_us=1e5, name="kept-team")  # 100 ms: still in serve() right after a run
        kept.run(lines, [_job(line, [(60, 300.0)]) for line in lines])
        assert kept._presence[1] != team_kernels.OUT
        kept.close()
        assert not _helper_threads("kept-team")
        kept.run(lines, [_job(line, [(60, 300.0)]) for line in lines])  # a closed team starts its helpers again
        assert _helper_threads("kept-team")
        kept.close()
    finally:
        team.close()


ROUNDS_UNTIL_BOTH_CLAIM = 50


@numba.njit(nogil=True)
def _claim_all(table, front, claimed, tag):
    """Claim blocks of line 0 until none is left, marking each with ``tag`` (twice-claimed blocks count up)."""
    while True:
        block = team_kernels._claim(table, 0, front)
        if block < 0:
            return
        claimed[block] += tag


def test_the_claim_gives_every_block_to_exactly_one_thread():
    """Two threads claim the blocks of one huge span at once, one from the front and one from the back, in
    compiled loops without the GIL: every block is claimed once (tag 1 or 2), none twice, none lost.

    Whether the second thread starts before the first has claimed everything is up to the scheduler (on two cores
    with the suite's other worker busy it sometimes did not): the contest is repeated until both took part, and
    every round must give every block to exactly one thread."""
    blocks = 2_000_000
    _claim_all(np.zeros((2, team_kernels.N_TABLE_COLS), np.int64), True, np.zeros(0, np.int64), 0)  # compiled first
    both = False
    for _ in range(ROUNDS_UNTIL_BOTH_CLAIM):
        table = np.zeros((2, team_kernels.N_TABLE_COLS), np.int64)
        table[0, team_kernels.T_BLOCKS] = blocks
        table[0, team_kernels.T_NEXT] = blocks * team_kernels.BACK_UNIT
        claimed = np.zeros(blocks, np.int64)
        threads = [
            threading.Thread(target=_claim_all, args=(table, front, claimed, tag))
            for front, tag in ((True, 1), (False, 2))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(np.unique(claimed)) <= {1, 2}  # none twice (3), none lost (0)
        both = bool((claimed == 1).any() and (claimed == 2).any())
        if both:
            break
    assert both  # the two threads did contend for the span


@numba.njit(nogil=True)
def _add(counters, index, value):
    return _fetch_add(counters, index, value)


@numba.njit(nogil=True)
def _swap(counters, index, expected, value):
    return _compare_exchange(counters, index, expected, value)


@numba.njit(nogil=True)
def _add_many(counters, times):
    for _ in range(times):
        _fetch_add(counters, 0, 1)


def test_the_atomics_add_and_compare_as_they_promise():
    counters = np.zeros(3, np.int64)
    assert _add(counters, 1, 5) == 0
    assert _add(counters, 1, -2) == 5
    assert counters[1] == 3
    assert _swap(counters, 1, 3, 9)
    assert counters[1] == 9
    assert not _swap(counters, 1, 3, 4)
    assert counters[1] == 9
    # two threads adding at once, without the GIL: no add is lost
    threads = [threading.Thread(target=_add_many, args=(counters, 200_000)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters[0] == 400_000


def test_a_forked_child_runs_its_own_team_and_exits():
    """fork copies only the calling thread: a child that inherits a team whose helper is in serve() must not wait
    for that helper (it is not there); it starts its own and gives the same result."""
    import multiprocessing

    lines = _lines((96, 96), seed=6)
    team = KernelTeam(1, spin_us=1e5, name="fork-team")  # the parent's helper stays in serve() for 100 ms
    team.run(lines, [_job(line, [(120, 300.0)]) for line in lines])
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child() -> None:
        team.run(lines, [_job(line, [(120, 300.0)]) for line in lines])
        queue.put([line.state.copy() for line in lines])
        team.close()

    process = context.Process(target=child)
    process.start()
    states = queue.get(timeout=120)
    process.join(timeout=120)
    team.close()
    assert process.exitcode == 0
    alone = _lines((96, 96), seed=6)
    for line in alone:
        run_serially(_job(line, [(120, 300.0)] * 2))
    for state, line in zip(states, alone, strict=True):
        np.testing.assert_array_equal(state, line.state)


def test_an_interrupted_run_stops_its_helpers_and_the_team_refuses_to_run_again(monkeypatch):
    """A Ctrl-C that arrives while the caller shares blocks (outside any line's Python) leaves spans half done:
    the helpers are stopped, and the team says so instead of running on stale spans."""
    lines = _lines((96, 96), seed=9)
    team = KernelTeam(1, spin_us=1e5, name="interrupted-team")
    gather = team_kernels.gather_events

    def interrupted(*args):
        monkeypatch.setattr(team_kernels, "gather_events", gather)
        raise KeyboardInterrupt

    team.run(lines, [_job(line, [(120, 300.0)]) for line in lines])  # the lines' event buffers are sized now
    monkeypatch.setattr(team_kernels, "gather_events", interrupted)
    with pytest.raises(KeyboardInterrupt):
        team.run(lines, [_job(line, [(120, 300.0)] * 3) for line in lines])
    assert not _helper_threads("interrupted-team")
    with pytest.raises(SimulationError, match="interrupted"):
        team.run(lines, [_job(line, [(120, 300.0)]) for line in lines])
    team.close()


def test_a_helper_that_fails_leaves_the_caller_to_run_every_block(monkeypatch):
    """A helper thread that dies (here its loop raises at once) must neither hang the run nor close(): the caller
    takes every block itself and the result is the same."""

    def broken_serve(*args):
        raise RuntimeError("helper failed")

    failures: list[BaseException] = []
    monkeypatch.setattr(team_kernels, "serve", broken_serve)
    monkeypatch.setattr(threading, "excepthook", lambda info: failures.append(info.exc_value))
    lines = _lines((96, 64), seed=12)
    alone = _lines((96, 64), seed=12)
    team = KernelTeam(1, name="failing-team")
    for _ in range(2):  # the second run shares its calls (the event buffers are sized after the first)
        team.run(lines, [_job(line, [(180, 300.0)] * 2) for line in lines])
        for line in alone:
            run_serially(_job(line, [(180, 300.0)] * 2))
    team.close()
    _assert_same_lines(alone, lines)
    assert team.blocks_run[0] > 0
    assert team.blocks_run[1] == 0
    assert failures
    assert all(str(f) == "helper failed" for f in failures)
