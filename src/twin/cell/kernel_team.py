"""The driver of a kernel team (:mod:`twin.cell.team`): several lines' generators of kernel calls run to their
end, their Python in the calling thread and their kernel calls shared block by block with helper threads.

A job is a generator such as :meth:`twin.cell.Potline.advance_steps` or
:meth:`twin.plant.line.PotlineSim.sync_steps`: it yields each kernel call it needs and is sent back the call's
``(steps done, event rows)``. :meth:`KernelTeam.run` resumes the jobs in the calling thread, publishes each call it
can share as a span of blocks, runs blocks itself while no job can go on, and resumes a job when its span is done.

One :class:`KernelTeam` belongs to one caller (the plant); it holds no global state. Its helpers are plain
threads inside the compiled :func:`twin.cell.team.serve`; each leaves it after ``spin_us`` without work (so an idle
plant does not keep a core busy) and waits, blocked, until the next run hands it that run's arrays. (Until
2026-12-07 a helper's thread ended there and the next run started a new one: in a plant-year on two threads the
start and the reaping join took ~6 % of the calling thread's time, a new thread at about every third interval
close.) Memory: besides the lines' own arrays, one
event buffer of each line's shape per thread (3 MB a thread for a 352-cell line on the 240-s grid).
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np
from numba import typed

from twin.cell import lane_rows as R
from twin.cell import layout as L
from twin.cell import team
from twin.cell.kernel import EVENTS_PER_CELL_STEP, events_bound
from twin.cell.potline import KernelCall, Potline
from twin.errors import SimulationError
from twin.workers import DEFAULT_SPIN_US, MAX_SPIN_US, spins_per_us

Job = Generator[KernelCall, tuple[int, int], object]
#: a span's currents are staged in a row of this many steps at first; a longer call makes the row grow at the
#: next run (the call itself runs whole in the calling thread)
INITIAL_SPAN_STEPS = 3600


@dataclass(frozen=True)
class _Arrays:
    """The lines' arrays as the compiled loops see them, built when a run's lines differ from the last run's."""

    key: tuple[tuple[int, ...], ...]
    states: typed.List
    rngs: typed.List
    params: typed.List
    accs: typed.List
    outs: typed.List
    buffers: typed.List  # per line and thread: event rows, the line buffer's shape
    rows: tuple[int, ...]  # event rows per buffer, by line
    currents: np.ndarray  # (lines, steps): the open span's current (A) per step
    table: np.ndarray
    log: np.ndarray
    offsets: np.ndarray
    watched: np.ndarray


class KernelTeam:
    """The calling thread and ``helpers`` helper threads, sharing lines' kernel calls (module docstring)."""

    def __init__(self, helpers: int, *, spin_us: float = DEFAULT_SPIN_US, name: str = "kernel-team") -> None:
        if isinstance(helpers, bool) or not isinstance(helpers, int) or helpers < 1:
            raise SimulationError(f"helpers = {helpers!r} is invalid; expected an integer >= 1")
        if isinstance(spin_us, bool) or not isinstance(spin_us, int | float) or not 0.0 <= spin_us <= MAX_SPIN_US:
            raise SimulationError(f"spin_us = {spin_us!r} is invalid; expected microseconds in [0, {MAX_SPIN_US:g}]")
        self.helpers = helpers
        self.name = name
        self._idle_budget = max(int(spin_us * spins_per_us()), 1)
        self._arrays: _Arrays | None = None
        self._span_steps = INITIAL_SPAN_STEPS
        self._presence = np.zeros(helpers + 1, np.int64)  # team.OUT / IN / PINNED per thread (0: the caller)
        self._threads: list[_Helper | None] = [None] * (helpers + 1)
        self._broken = False
        self._pid = os.getpid()  # helper threads exist only in this process (not in a forked child)
        self._finalizer = self._new_finalizer()
        #: blocks run so far, by thread (0: the caller)
        self.blocks_run = np.zeros(helpers + 1, np.int64)

    def close(self) -> None:
        """Stop the helper threads (the team can run again: it starts them anew)."""
        if self._arrays is not None:
            _stop_helpers([self._arrays], self._presence, self._threads, self._pid)

    def run(self, lines: Sequence[Potline], jobs: Sequence[Job]) -> list[BaseException | None]:
        """Run ``jobs[k]`` (a generator of ``lines[k]``'s kernel calls) to its end, every job at once; each job's
        error (None if it ended), in order. A job's calls must be its own line's; a job that fails stops there,
        the others go on. The result is the same as running each job alone with
        :func:`twin.cell.potline.run_serially`, bit for bit."""
        if len(lines) != len(jobs):
            raise SimulationError(f"{len(jobs)} jobs for {len(lines)} lines; expected one job per line")
        if not lines:
            return []
        if len({id(line) for line in lines}) != len(lines):
            raise SimulationError("a line appears twice in one kernel team run; expected one job per line")
        if len({line.dt for line in lines}) > 1:
            raise SimulationError("the lines of one kernel team must share one step dt")
        if self._broken:
            raise SimulationError("a previous run was interrupted while helpers ran its blocks; create a new team")
        if os.getpid() != self._pid:  # a forked child: the helper threads stayed in the parent
            _stop_helpers([self._arrays], self._presence, self._threads, self._pid)
            self._pid = os.getpid()
            self._finalizer.detach()
            self._finalizer = self._new_finalizer()
        arrays = self._arrays_for(lines)
        self._start_helpers(arrays, lines[0].dt)
        errors: list[BaseException | None] = [None] * len(jobs)
        threads = self.helpers + 1
        arrays.watched[:] = 0
        args = (arrays.states, arrays.rngs, arrays.params, arrays.currents, arrays.buffers, arrays.accs, arrays.outs)
        finished = False
        try:
            for k in range(len(jobs)):
                self._resume(k, lines, jobs, None, arrays, errors)
            while True:
                k = team.work(arrays.table, arrays.watched, arrays.log, arrays.offsets, *args, lines[0].dt)
                if k < 0:
                    break
                arrays.watched[k] = 0
                n_events = team.gather_events(
                    arrays.log, k, int(arrays.table[k, team.T_BLOCKS]), arrays.buffers, lines[k].event_rows,
                    self.blocks_run,
                )
                self._resume(k, lines, jobs, (int(arrays.table[k, team.T_STEPS]), n_events), arrays, errors)
            finished = True
        finally:
            if finished:
                for thread in range(1, threads):
                    team.unpin(self._presence, thread)
            else:  # interrupted (Ctrl-C) with spans open: stop the helpers, never reuse this team
                self._broken = True
                _stop_helpers([arrays], self._presence, self._threads, self._pid)
        return errors

    def _start_helpers(self, arrays: _Arrays, dt: float) -> None:
        """Pin each helper still in :func:`twin.cell.team.serve` for this run; hand this run's arrays to each that
        left it and waits (a thread is started for a helper that has none, or whose thread failed)."""
        work = (arrays.table, self._presence, self._idle_budget, arrays.log, arrays.offsets)
        lists = (arrays.states, arrays.rngs, arrays.params, arrays.currents, arrays.buffers, arrays.accs, arrays.outs)
        for thread in range(1, self.helpers + 1):
            if team.pin(self._presence, thread):
                continue
            helper = self._threads[thread]
            if helper is None or helper.failed or not helper.thread.is_alive():
                if helper is not None:
                    helper.thread.join()  # it failed or was stopped: this only reaps the thread
                helper = _Helper(self._presence, thread, f"{self.name}-{thread}")
                self._threads[thread] = helper
            self._presence[thread] = team.PINNED
            helper.parking.put((*work, thread, *lists, dt))

    def _resume(
        self, k: int, lines: Sequence[Potline], jobs: Sequence[Job], result: tuple[int, int] | None,
        arrays: _Arrays, errors: list[BaseException | None],
    ) -> None:
        """Run job ``k`` on from ``result`` until it yields a call the team can share (published) or ends; calls
        it cannot share run here, whole."""
        job = jobs[k]
        while True:
            try:
                call = next(job) if result is None else job.send(result)
            except StopIteration:
                return
            except BaseException as error:  # the job's own error (a Ctrl-C in its Python too): reported for it
                errors[k] = error  # once every job is done, so the other lines finish their calls consistently
                return
            if call.potline is not lines[k]:
                errors[k] = SimulationError(f"job {k} asked for a kernel call of another line")
                return
            if self._can_share(k, call, arrays):
                steps = call.current.shape[0]
                arrays.currents[k, :steps] = call.current
                team.open_span(arrays.table, arrays.offsets, k, lines[k].step_count, steps)
                arrays.watched[k] = 1
                return
            result = call.run()

    def _can_share(self, k: int, call: KernelCall, arrays: _Arrays) -> bool:
        """A call the blocks can run exactly as one kernel call: one that cannot stop (no stopping kinds, room in
        the team's buffers for every event a cell can record) and whose currents fit the staging row."""
        line = call.potline
        steps = call.current.shape[0]
        if steps > arrays.currents.shape[1]:
            self._span_steps = max(self._span_steps, steps)
            return False
        if line.stop_mask != 0 or steps == 0:
            return False
        share = arrays.rows[k] // line.n_cells - EVENTS_PER_CELL_STEP
        return share >= events_bound(line.params, call.current, line.step_count)

    def _arrays_for(self, lines: Sequence[Potline]) -> _Arrays:
        key = tuple(line.kernel_arrays_key() for line in lines)
        if self._arrays is not None and self._arrays.key == key and self._arrays.currents.shape[1] >= self._span_steps:
            return self._arrays
        if self._arrays is not None:  # the helpers in serve() hold the old arrays: they leave first
            _stop_helpers([self._arrays], self._presence, self._threads, self._pid)
        threads = self.helpers + 1
        rows = tuple(line.event_rows.shape[0] for line in lines)
        states, rngs, params, accs, outs, buffers = (typed.List() for _ in range(6))
        for line, n_rows in zip(lines, rows, strict=True):
            state, rng, param, acc, out = line.kernel_arrays()
            states.append(state)
            rngs.append(rng)
            params.append(param)
            accs.append(acc)
            outs.append(out)
            for _ in range(threads):
                buffers.append(np.zeros((n_rows, L.N_EVENT_COLS)))
        max_blocks = max(-(-line.n_cells // R.LANES) for line in lines)
        self._arrays = _Arrays(
            key=key,
            states=states,
            rngs=rngs,
            params=params,
            accs=accs,
            outs=outs,
            buffers=buffers,
            rows=rows,
            currents=np.zeros((len(lines), self._span_steps)),
            table=_cache_line_rows(len(lines) + 1, team.N_TABLE_COLS),
            log=np.zeros((len(lines), max_blocks, 3), np.int64),
            offsets=np.zeros((threads, len(lines)), np.int64),
            watched=np.zeros(len(lines), np.int64),
        )
        for k, line in enumerate(lines):
            self._arrays.table[k, team.T_BLOCKS] = -(-line.n_cells // R.LANES)
        self._finalizer.detach()
        self._finalizer = self._new_finalizer()
        return self._arrays

    def _new_finalizer(self) -> weakref.finalize:
        """Stop the helpers when the team is collected or the interpreter exits (they hold no reference to it)."""
        return weakref.finalize(self, _stop_helpers, [self._arrays], self._presence, self._threads, self._pid)


class _Helper:
    """A helper thread: it runs :func:`twin.cell.team.serve` with each run's arrays it is handed, and between runs
    waits for the next (blocked: no CPU) until it is handed ``None``."""

    def __init__(self, presence: np.ndarray, index: int, name: str) -> None:
        self.parking: queue.SimpleQueue[tuple[object, ...] | None] = queue.SimpleQueue()
        self.failed = False
        self.thread = threading.Thread(target=self._body, args=(presence, index), name=name, daemon=True)
        self.thread.start()

    def _body(self, presence: np.ndarray, index: int) -> None:
        """Serve each run handed over. serve() marks the helper OUT itself when it leaves; a helper that failed
        (even to compile) is marked failed, then OUT, so that the caller neither waits for it (the caller then runs
        every block) nor hands it another run, and the thread ends."""
        while True:
            work = self.parking.get()
            if work is None:
                return
            try:
                team.serve(*work)
            except BaseException:
                self.failed = True
                presence[index] = team.OUT
                raise


def _stop_helpers(
    holder: list[_Arrays | None], presence: np.ndarray, threads: list[_Helper | None], pid: int
) -> None:
    """Make every helper leave serve() and end its thread; the quit flag is cleared again for the next start. In a
    forked child the helpers were never there (fork copies only the calling thread): they are only forgotten."""
    arrays = holder[0]
    if os.getpid() != pid:
        presence[:] = team.OUT
        threads[:] = [None] * len(threads)
        return
    if arrays is not None:
        arrays.table[-1, team.C_QUIT] = 1
    for k, helper in enumerate(threads):
        if helper is not None and helper.thread is not threading.current_thread():
            helper.parking.put(None)  # taken once it has left serve(), or at once if it waits
            helper.thread.join()  # it leaves serve() at its next pass (or has left, or died): the GIL is free meanwhile
            threads[k] = None
    if arrays is not None:
        arrays.table[-1, team.C_QUIT] = 0


def _cache_line_rows(rows: int, cols: int) -> np.ndarray:
    """A zeroed int64 (rows, cols) array whose rows start on 64-byte boundaries (cols * 8 a multiple of 64): the
    threads poll and update different rows, which then never share a cache line."""
    line_bytes = 64
    if cols * 8 % line_bytes:
        raise SimulationError(f"cols = {cols} makes rows of {cols * 8} bytes; expected a multiple of {line_bytes}")
    raw = np.zeros(rows * cols + line_bytes // 8, np.int64)
    skip = (-raw.ctypes.data % line_bytes) // 8
    return raw[skip : skip + rows * cols].reshape(rows, cols)
