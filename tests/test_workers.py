"""The spin-then-block hand-off to worker threads (twin.workers), which the plant's parallel syncs use.

What it must do, whatever the timing: every task runs exactly once, in a worker for all but the first; ``run``
returns only when all have finished (their writes visible to the caller); errors come back per task without
losing the others' work; a worker asleep after its spin budget still takes the next task; ``close`` stops the
threads. The spin's two compiled loops are checked against what they promise (a counter seen changing, a budget
that runs out). No test times anything (the speed is in benchmarks/).
"""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest

from twin.errors import SimulationError
from twin.workers import SpinWorkers, publish_then_spin, spin_until_changed, spins_per_us


def test_spin_returns_false_when_nothing_changes_and_true_when_it_has():
    counters = np.zeros(2, np.int64)
    assert not spin_until_changed(counters, 0, 0, 1000)
    counters[0] = 3
    assert spin_until_changed(counters, 0, 0, 1)
    assert not spin_until_changed(counters, 0, 3, 10)


def test_spin_sees_a_store_made_by_another_thread_while_it_spins():
    """The load is re-done on every pass (an atomic acquire load): a plain loop could be compiled into one read."""
    counters = np.zeros(2, np.int64)
    spins = int(spins_per_us() * 10e6)  # 10 s: far longer than the store takes to arrive

    def store_later() -> None:
        time.sleep(0.02)
        counters[0] = 1

    thread = threading.Thread(target=store_later)
    thread.start()
    assert spin_until_changed(counters, 0, 0, spins)
    thread.join()


def test_publish_then_spin_stores_before_it_waits():
    counters = np.array([7, 6], np.int64)  # task 7 handed over, 6 finished
    assert not publish_then_spin(counters, 1, 7, 10)  # no task 8 yet: the budget runs out
    assert counters[1] == 7
    counters[:] = (8, 6)  # task 8 handed over while task 7 ran
    assert publish_then_spin(counters, 1, 7, 10**9)  # seen at once, 7 reported finished
    assert counters[1] == 7


def test_every_task_runs_once_and_all_but_the_first_in_a_worker():
    workers = SpinWorkers(3, name="test-worker")
    try:
        for _ in range(200):  # many hand-overs: a lost or doubled one would show
            seen: list[tuple[int, str]] = []
            lock = threading.Lock()

            def task(k: int, seen: list = seen, lock: threading.Lock = lock) -> None:
                with lock:
                    seen.append((k, threading.current_thread().name))

            errors = workers.run([lambda k=k: task(k) for k in range(4)])
            assert errors == [None] * 4
            assert sorted(k for k, _ in seen) == [0, 1, 2, 3]
            names = dict(seen)
            assert names[0] == threading.current_thread().name
            assert {names[1], names[2], names[3]} == {"test-worker-1", "test-worker-2", "test-worker-3"}
    finally:
        workers.close()


def test_run_returns_after_the_workers_writes_and_fewer_tasks_than_workers_is_fine():
    workers = SpinWorkers(2)
    try:
        out = np.zeros(3)

        def slow_fill(k: int) -> None:
            time.sleep(0.01 * k)  # the workers finish after the caller
            out[k] = k + 1.0

        for _ in range(5):
            out[:] = 0.0
            workers.run([lambda k=k: slow_fill(k) for k in range(3)])
            assert out.tolist() == [1.0, 2.0, 3.0]
        out[:] = 0.0
        workers.run([lambda: slow_fill(0), lambda: slow_fill(1)])
        assert out.tolist() == [1.0, 2.0, 0.0]
        workers.run([lambda: slow_fill(2)])  # the caller alone
        assert out.tolist() == [1.0, 2.0, 3.0]
    finally:
        workers.close()


def test_errors_come_back_per_task_and_the_others_finish():
    workers = SpinWorkers(2)
    try:
        done: list[int] = []

        def fail(message: str) -> None:
            raise ValueError(message)

        errors = workers.run([lambda: fail("caller"), lambda: done.append(1), lambda: fail("worker")])
        assert [type(e).__name__ if e else None for e in errors] == ["ValueError", None, "ValueError"]
        assert [str(e) for e in errors if e] == ["caller", "worker"]
        assert done == [1]
        assert workers.run([lambda: done.append(2), lambda: done.append(3)]) == [None, None]  # still usable
        assert sorted(done) == [1, 2, 3]
    finally:
        workers.close()


def test_a_worker_past_its_spin_budget_sleeps_and_still_takes_the_next_task():
    workers = SpinWorkers(1, spin_us=10.0)
    try:
        for _ in range(3):
            time.sleep(0.02)  # 2 000 budgets: the worker is asleep on its event
            names: list[str] = []
            workers.run([lambda: None, lambda names=names: names.append(threading.current_thread().name)])
            assert len(names) == 1
            assert names[0].startswith("twin-worker")
        # and with no spin at all
        quiet = SpinWorkers(1, spin_us=0.0)
        try:
            result: list[int] = []
            assert quiet.run([lambda: None, lambda: result.append(5)]) == [None, None]
            assert result == [5]
        finally:
            quiet.close()
    finally:
        workers.close()


def test_close_stops_the_threads_and_a_closed_pool_says_so():
    before = {t.name for t in threading.enumerate()}
    workers = SpinWorkers(2, name="closing")
    started = {t.name for t in threading.enumerate()} - before
    assert started == {"closing-1", "closing-2"}
    workers.close()
    assert not {t.name for t in threading.enumerate()} & started
    with pytest.raises(SimulationError, match="closed"):
        workers.run([lambda: None])
    workers.close()  # twice is harmless


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0,), {}, "workers = 0 is invalid; expected an integer >= 1"),
        ((True,), {}, "workers = True is invalid"),
        ((1,), {"spin_us": -1.0}, "spin_us = -1.0 is invalid; expected microseconds in"),
        ((1,), {"spin_us": float("nan")}, "spin_us = nan is invalid"),
        ((1,), {"spin_us": 1e9}, "spin_us = 1000000000.0 is invalid"),
        ((1,), {"spin_us": True}, "spin_us = True is invalid"),
    ],
)
def test_bad_settings_are_a_clear_error(args, kwargs, message):
    with pytest.raises(SimulationError, match=message):
        SpinWorkers(*args, **kwargs)


def test_too_many_tasks_or_a_reentrant_call_is_a_clear_error():
    workers = SpinWorkers(1)
    try:
        with pytest.raises(SimulationError, match="3 tasks for 1 workers and the caller; expected 1 to 2"):
            workers.run([lambda: None] * 3)
        with pytest.raises(SimulationError, match="0 tasks"):
            workers.run([])
        inner: list[BaseException | None] = []

        def reenter() -> None:
            try:
                workers.run([lambda: None])
            except SimulationError as error:
                inner.append(error)

        workers.run([reenter])
        assert inner
        assert "called again before its previous call returned" in str(inner[0])
    finally:
        workers.close()


class _InterruptError(Exception):
    pass


def test_an_interrupted_wait_leaves_the_workers_unusable_not_corrupted():
    """Ctrl-C while the caller waits for a worker that is still busy: the interrupt goes up at once, and the next
    run says the workers cannot be reused (its task would meet the old one still running) instead of mixing them."""
    workers = SpinWorkers(1, spin_us=10.0)
    release = threading.Event()

    def interrupt(signum, frame):
        raise _InterruptError

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(_InterruptError):
            workers.run([lambda: None, lambda: release.wait(5.0)])
        with pytest.raises(SimulationError, match="interrupted before its workers finished; create new ones"):
            workers.run([lambda: None, lambda: None])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        release.set()
        workers.close()
