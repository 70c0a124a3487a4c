"""Worker threads that take a task within a microsecond: a spin-then-block hand-off (issue 12 item 4); and the
atomic operations (acquire load, release store, fetch-add, compare-exchange, the spin hint) that it and the kernel
team (:mod:`twin.cell.team`) use in compiled code.

The live filter splits each forecast's kernel call into cell ranges on threads (``Potline(threads=k)``), and the
plant advanced its potlines side by side at each interval close this way until the kernel team replaced it
(288 closes a simulated day; each line's share ~2 ms of kernel, which releases the GIL, and ~0.2 ms of Python).
Handed over through a ``ThreadPoolExecutor``, the worker thread sleeps on a futex between closes: on a shared
2-vCPU VM its vCPU halts, and waking it (and the caller waiting for it) costs far more than the round trip a
quiet machine shows. Measured on a Zen 4 VM (benchmarks/test_bench_workers.py; benchmarks/README.md, "On a
Zen 4 VM, with a spin-then-block hand-off"): a plant-day's kernel calls of two lines (576 pairs of 150-step
calls) with a barrier after each pair ran 1.58-1.74x faster on two threads than on one through a pool and
1.84-1.94x through this hand-off, in the same runs; with no barrier 1.91-2.11x.

So a waiting thread first *spins* on a counter, without the GIL, for up to ``spin_us`` (an acquire load and
the CPU's spin-wait hint in a compiled loop; OpenMP runtimes do the same with their "blocktime", 200 ms by
default in Intel's and LLVM's), and only then sleeps on an event. A spinning thread keeps its core busy, so
the budget is short (1 ms by default: the gap between two plant syncs is ~0.1 ms of serial Python).

One :class:`SpinWorkers` belongs to one caller (the plant); it holds no global state.
"""

from __future__ import annotations

import platform
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from twin._numba import jit
from twin.errors import SimulationError

DEFAULT_SPIN_US = 1000.0
MAX_SPIN_US = 100_000.0
CALIBRATION_SPINS = 20_000
_SPIN_HINTS = {  # the CPU's spin-wait hint, as an LLVM intrinsic: (name, argument types, arguments)
    "x86_64": ("llvm.x86.sse2.pause", (), ()),
    "amd64": ("llvm.x86.sse2.pause", (), ()),
    "aarch64": ("llvm.aarch64.hint", (ir.IntType(32),), (1,)),  # YIELD
    "arm64": ("llvm.aarch64.hint", (ir.IntType(32),), (1,)),
}
_SPIN_HINT = _SPIN_HINTS.get(platform.machine().lower())


@intrinsic
def _load_acquire(typingctx, counters, index):
    """``counters[index]`` as an atomic load with acquire ordering: re-read on every pass of a loop, and
    everything the writer stored before it is visible after it."""
    signature = types.int64(counters, index)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.load_atomic(builder.gep(array.data, [args[1]]), "acquire", 8)

    return signature, codegen


@intrinsic
def _store_release(typingctx, counters, index, value):
    """``counters[index] = value`` as an atomic store with release ordering: everything stored before it is
    visible to a thread that sees it."""
    signature = types.void(counters, index, value)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        value = context.cast(builder, args[2], sig.args[2], types.int64)
        builder.store_atomic(value, builder.gep(array.data, [args[1]]), "release", 8)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _fetch_add(typingctx, counters, index, value):
    """``counters[index] += value`` as one atomic read-modify-write (acquire and release ordering); returns the
    value before the add. Two threads that add at once get different values: a claim counter."""
    signature = types.int64(counters, index, value)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        value = context.cast(builder, args[2], sig.args[2], types.int64)
        return builder.atomic_rmw("add", builder.gep(array.data, [args[1]]), value, "acq_rel")

    return signature, codegen


@intrinsic
def _compare_exchange(typingctx, counters, index, expected, value):
    """``counters[index] = value`` if it equals ``expected``, atomically (acquire and release ordering); True if
    it did."""
    signature = types.boolean(counters, index, expected, value)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        expected = context.cast(builder, args[2], sig.args[2], types.int64)
        value = context.cast(builder, args[3], sig.args[3], types.int64)
        pair = builder.cmpxchg(builder.gep(array.data, [args[1]]), expected, value, "acq_rel", "acquire")
        return builder.extract_value(pair, 1)

    return signature, codegen


@intrinsic
def _spin_hint(typingctx):
    """The CPU's spin-wait hint (x86 PAUSE, Arm YIELD; nothing elsewhere): it lets the core's sibling and the
    memory system breathe while a thread waits in a loop."""
    signature = types.void()

    def codegen(context, builder, sig, args):
        if _SPIN_HINT is not None:
            name, arg_types, values = _SPIN_HINT
            hint = builder.module.declare_intrinsic(name, fnty=ir.FunctionType(ir.VoidType(), list(arg_types)))
            builder.call(hint, [ir.Constant(t, v) for t, v in zip(arg_types, values, strict=True)])
        return context.get_dummy_value()

    return signature, codegen


@jit
def spin_until_changed(counters: np.ndarray, index: int, seen: int, spins: int) -> bool:
    """Spin, without the GIL, until ``counters[index]`` differs from ``seen``: True if it did within ``spins``
    passes, False if the budget ran out."""
    for _ in range(spins):
        if _load_acquire(counters, index) != seen:
            return True
        _spin_hint()
    return False


@jit
def publish_then_spin(counters: np.ndarray, done: int, seen: int, spins: int) -> bool:
    """Store ``counters[done] = seen``, then spin as :func:`spin_until_changed` on ``counters[0]``. One call
    without the GIL: a thread waiting for ``counters[done]`` sees it only once this thread has let the GIL go, so
    it never wakes into a GIL still held (and sleeps on it)."""
    _store_release(counters, done, seen)
    return spin_until_changed(counters, 0, seen, spins)


def spins_per_us() -> float:
    """How many passes of :func:`spin_until_changed` this machine makes per microsecond (timed once)."""
    idle = np.zeros(1, np.int64)
    spin_until_changed(idle, 0, 0, 1)  # compiled (or loaded from the cache) before the timing
    start = time.perf_counter()
    spin_until_changed(idle, 0, 0, CALIBRATION_SPINS)
    elapsed_us = max((time.perf_counter() - start) * 1e6, 1e-3)
    return CALIBRATION_SPINS / elapsed_us


@dataclass(eq=False)
class _Slot:
    """One worker thread's mailbox. Counters: ``[0]`` tasks handed over, ``[1]`` tasks finished; only the
    caller writes ``[0]`` and only the worker writes ``[1]``."""

    spins: int
    counters: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))
    task: Callable[[], None] | None = None
    error: BaseException | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    stop: bool = False

    def serve(self) -> None:
        """The worker thread: wait for a task (spin, then sleep), run it, report, again until stopped."""
        seen = 0
        arrived = spin_until_changed(self.counters, 0, seen, self.spins)
        while True:
            if not arrived:
                while self.counters[0] == seen:
                    self.wake.wait()
                    self.wake.clear()
            seen = int(self.counters[0])
            if self.stop:
                return
            task, self.task, self.error = self.task, None, None
            try:
                if task is not None:
                    task()
            except BaseException as error:  # handed to the caller, which re-raises it
                self.error = error
            self.finished.set()  # for a caller that stopped spinning; it re-checks the counter
            arrived = publish_then_spin(self.counters, 1, seen, self.spins)

    def hand_over(self, task: Callable[[], None]) -> None:
        self.task = task
        self.finished.clear()
        self.counters[0] += 1
        self.wake.set()

    def wait(self) -> BaseException | None:
        """Wait (spin, then sleep) until the task handed over last has finished; its error, if any."""
        target = int(self.counters[0])
        while self.counters[1] != target:
            if spin_until_changed(self.counters, 1, target - 1, self.spins):
                break
            self.finished.wait()  # set just before the counter: spin again (without the GIL) until it comes
        return self.error


def _stop(slots: list[_Slot], threads: list[threading.Thread]) -> None:
    for slot in slots:
        slot.stop = True
        slot.counters[0] += 1
        slot.wake.set()
    for thread in threads:
        if thread is not threading.current_thread():
            thread.join()


class SpinWorkers:
    """``workers`` threads that run tasks beside the calling thread (:meth:`run`), handed over by a
    spin-then-block wait (module docstring). Used by one caller thread at a time; :meth:`close` stops them."""

    def __init__(self, workers: int, *, spin_us: float = DEFAULT_SPIN_US, name: str = "twin-worker") -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise SimulationError(f"workers = {workers!r} is invalid; expected an integer >= 1")
        if isinstance(spin_us, bool) or not isinstance(spin_us, int | float) or not 0.0 <= spin_us <= MAX_SPIN_US:
            raise SimulationError(f"spin_us = {spin_us!r} is invalid; expected microseconds in [0, {MAX_SPIN_US:g}]")
        spins = max(int(spin_us * spins_per_us()), 1) if spin_us > 0 else 1
        self._slots = [_Slot(spins) for _ in range(workers)]
        self._threads = [
            threading.Thread(target=slot.serve, name=f"{name}-{k + 1}", daemon=True)
            for k, slot in enumerate(self._slots)
        ]
        for thread in self._threads:
            thread.start()
        self._busy = threading.Lock()
        self._interrupted = False
        self._finalizer = weakref.finalize(self, _stop, self._slots, self._threads)

    def run(self, tasks: Sequence[Callable[[], None]]) -> list[BaseException | None]:
        """Run ``tasks[0]`` in the calling thread and the others on the workers, all at once; return each task's
        error (None if it finished), in order, once every task has finished."""
        if not 1 <= len(tasks) <= len(self._slots) + 1:
            raise SimulationError(
                f"{len(tasks)} tasks for {len(self._slots)} workers and the caller; expected 1 to "
                f"{len(self._slots) + 1}"
            )
        if not self._finalizer.alive:
            raise SimulationError("the workers were closed; create new ones")
        if self._interrupted:
            raise SimulationError("a previous run was interrupted before its workers finished; create new ones")
        if not self._busy.acquire(blocking=False):
            raise SimulationError("SpinWorkers.run was called again before its previous call returned")
        try:
            slots = self._slots[: len(tasks) - 1]
            for slot, task in zip(slots, tasks[1:], strict=True):
                slot.hand_over(task)
            errors: list[BaseException | None] = [None]
            try:
                tasks[0]()
            except BaseException as error:  # re-raised by the caller, once the workers are done
                errors[0] = error
            try:
                errors += [slot.wait() for slot in slots]
            except BaseException:  # interrupted (Ctrl-C) while a worker still runs its task: never reuse them
                self._interrupted = True
                raise
            return errors
        finally:
            self._busy.release()

    def close(self) -> None:
        """Stop the worker threads (waits for a task in progress)."""
        self._finalizer()
