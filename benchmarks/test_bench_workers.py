"""The hand-off to a worker thread at a barrier (issue 12 item 4; twin.workers).

A plant-day on two threads is 288 barriers: at each interval close both lines sync, side by side, and the plant
waits for both. This benchmark isolates what the barrier costs from the plant's Python: the reference plant's two
352-cell lines advance 576 × 150 steps (a plant-day's kernel calls, as many and as long) in five ways,
interleaved in each round so a slow spell of the shared VM hits all of them:

* ``one_thread``: the two lines' calls one after the other (the baseline of every ratio);
* ``free``: each line in its own thread for the whole day, no barrier (what the machine offers);
* ``pool``: a barrier after each pair of calls, the second line handed to a ``ThreadPoolExecutor`` worker (how
  the plant synced its lines before twin.workers);
* ``spin``: the same barriers through :class:`twin.workers.SpinWorkers` (how the plant synced them until the
  kernel team);
* ``team``: both lines' calls through a :class:`twin.cell.kernel_team.KernelTeam` (how the plant syncs them now):
  the calling thread resumes each line's generator of calls, the helper and the caller share the calls' blocks.

Figures go to ``benchmark.extra_info`` (2 threads over 1 for each, best and median over the rounds, and the
process CPU time of the barrier runs: a spinning wait uses its core); recorded in benchmarks/README.md. Nothing
here asserts a time: the assertion checks that the five ways computed the same cells.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from twin.cell import Potline
from twin.cell.kernel_team import KernelTeam
from twin.cell.potline import run_serially
from twin.params import load_plant
from twin.workers import SpinWorkers

ROOT = Path(__file__).resolve().parents[1]
SLOW_EVERY = 60
CALLS = 576  # a plant-day's kernel calls per line on the 240-s grid with 300-s closes
STEPS = 150  # their mean length (s at 1 s steps)


def _lines() -> list[Potline]:
    tech = load_plant(ROOT / "models/plant_reference.toml").potlines[0].technology
    return [Potline(tech, 352, seed=k, slow_every=SLOW_EVERY, stop_on=()) for k in (1, 2)]


def _timed(action: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


@pytest.mark.benchmark(group="plant-threads")
def test_barrier_hand_off(benchmark):
    calls = CALLS if not benchmark.disabled else 8
    rounds = 6 if not benchmark.disabled else 1
    runs = {name: _lines() for name in ("one_thread", "free", "pool", "spin", "team")}
    for lines in runs.values():
        for line in lines:
            line.advance(60, 300.0)  # compiled and warm
    spin = SpinWorkers(1, name="bench-spin")
    team = KernelTeam(1, name="bench-team")
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}

    def one_thread(lines: list[Potline]) -> None:
        for _ in range(calls):
            for line in lines:
                line.advance(STEPS, 300.0)

    def whole_day(line: Potline) -> None:
        for _ in range(calls):
            line.advance(STEPS, 300.0)

    with ThreadPoolExecutor(1) as pool, ThreadPoolExecutor(2) as pair:

        def free(lines: list[Potline]) -> None:
            for future in [pair.submit(whole_day, line) for line in lines]:
                future.result()

        def pooled(lines: list[Potline]) -> None:
            for _ in range(calls):
                future = pool.submit(lines[1].advance, STEPS, 300.0)
                lines[0].advance(STEPS, 300.0)
                future.result()

        def spun(lines: list[Potline]) -> None:
            first, second = (lambda line=line: line.advance(STEPS, 300.0) for line in lines)
            for _ in range(calls):
                spin.run([first, second])

        def calls_of(line: Potline):
            for _ in range(calls):
                yield from line.advance_steps(STEPS, 300.0)

        def teamed(lines: list[Potline]) -> None:
            team.run(lines, [calls_of(line) for line in lines])

        ways = {"one_thread": one_thread, "free": free, "pool": pooled, "spin": spun, "team": teamed}

        def one_round() -> None:
            names = list(ways)
            shift = len(walls["one_thread"]) % len(names)  # each way in each place of the order in turn
            for name in names[shift:] + names[:shift]:
                wall, cpu = _timed(lambda name=name: ways[name](runs[name]))
                walls[name].append(wall)
                cpus[name].append(cpu)

        benchmark.pedantic(one_round, rounds=rounds, iterations=1, warmup_rounds=0)
    spin.close()
    team.close()
    for name in ("free", "pool", "spin", "team"):  # the threads change who computes, never what
        for line, reference in zip(runs[name], runs["one_thread"], strict=True):
            np.testing.assert_array_equal(line.state, reference.state)
    info: dict[str, float] = {"calls_per_line": calls, "steps_per_call": STEPS, "rounds": rounds}
    for name in ("free", "pool", "spin", "team"):
        info[f"{name}_speedup_2_threads"] = min(walls["one_thread"]) / min(walls[name])
        info[f"{name}_speedup_2_threads_median"] = statistics.median(
            a / b for a, b in zip(walls["one_thread"], walls[name], strict=True)
        )
        info[f"{name}_cpu_s"] = min(cpus[name])
    info["one_thread_s"] = min(walls["one_thread"])
    benchmark.extra_info.update(info)


IDLE_GAP_S = 0.0015  # the plant's Python between two interval closes of the dt-10 year (~1.4 ms), > the spin budget
YEAR_DT_S, YEAR_SLOW_EVERY, YEAR_STEPS = 10.0, 12, 15  # a call of the dt-10 plant-year: 15 steps on average


@pytest.mark.benchmark(group="plant-threads")
def test_team_after_idle_gaps(benchmark):
    """The plant-year's case: a team run at each interval close, and between closes the caller's own Python, longer
    than the helper's spin budget, so the helper has left serve() when the next run comes. Baseline in the same
    round: the same calls of both lines one after the other in the calling thread. Figures: the mean wall time of a
    run (the gaps excluded) each way, their ratio, and how many helper threads the team started (one: the helper
    waits between runs; until 2026-12-07 a new thread was started for each run after a gap, ~250 us a run)."""
    runs_per_round = 300 if not benchmark.disabled else 4
    rounds = 5 if not benchmark.disabled else 1
    tech = load_plant(ROOT / "models/plant_reference.toml").potlines[0].technology
    lines = {
        name: [Potline(tech, 352, dt=YEAR_DT_S, seed=k, slow_every=YEAR_SLOW_EVERY, stop_on=()) for k in (1, 2)]
        for name in ("one_thread", "team")
    }
    team = KernelTeam(1, name="bench-gap-team")
    before = set(threading.enumerate())
    seen: list[threading.Thread] = []  # held, so that no two of them can share an identity

    def calls_of(line: Potline):
        yield from line.advance_steps(YEAR_STEPS, 300.0)

    def gap() -> None:
        end = time.perf_counter() + IDLE_GAP_S
        while time.perf_counter() < end:
            pass

    def one_thread() -> None:
        for line in lines["one_thread"]:
            run_serially(calls_of(line))

    def teamed() -> None:
        team.run(lines["team"], [calls_of(line) for line in lines["team"]])

    ways = {"one_thread": one_thread, "team": teamed}
    walls: dict[str, list[float]] = {name: [] for name in ways}

    def one_round() -> None:
        for name in (list(ways) if len(walls["team"]) % 2 == 0 else list(ways)[::-1]):
            total = 0.0
            for _ in range(runs_per_round):
                gap()
                wall, _ = _timed(ways[name])
                total += wall
            walls[name].append(total / runs_per_round)
        seen.extend(t for t in threading.enumerate() if t.name.startswith("bench-gap-team") and t not in seen)

    one_thread()
    teamed()  # compiled, warm, the event buffers sized
    benchmark.pedantic(one_round, rounds=rounds, iterations=1, warmup_rounds=0)
    team.close()
    for line, reference in zip(lines["team"], lines["one_thread"], strict=True):
        np.testing.assert_array_equal(line.state, reference.state)
    assert not before & set(seen)  # the helper is the team's own thread
    benchmark.extra_info.update(
        {
            "runs_per_round": runs_per_round,
            "rounds": rounds,
            "one_thread_us_per_run": min(walls["one_thread"]) * 1e6,
            "team_us_per_run": min(walls["team"]) * 1e6,
            "team_speedup": min(walls["one_thread"]) / min(walls["team"]),
            "team_speedup_median": statistics.median(
                a / b for a, b in zip(walls["one_thread"], walls["team"], strict=True)
            ),
            "helper_threads_seen": len(seen),  # at the rounds' ends
        }
    )
