"""Several lines' kernel calls shared block by block between the calling thread and helper threads that never
touch Python (issue 12 item 4). The driver is :class:`twin.cell.kernel_team.KernelTeam`.

Why: at a plant sync each line alternates Python (crane jobs, the potroom's orders, events) with kernel calls.
Run one line per thread, the lines' Python stretches contend for the GIL, and a thread that waits for the GIL
sleeps on a futex (on a shared VM its vCPU halts and wakes late). Here the calling thread runs every line's
Python, one line after another, and *publishes* each kernel call as a span of lane blocks
(:data:`twin.cell.lane_rows.LANES` cells each). The helpers, in one compiled loop without the GIL
(:func:`serve`), and the caller whenever it has no Python to run (:func:`work`), claim the blocks of the
published spans with atomic counters. So one line's Python overlaps the other lines' kernels, the helpers never
wait for the GIL, and the split of the work follows how much Python there is. A helper stays in :func:`serve`
between runs for a short idle budget, so a run that follows within it (the next interval's sync) starts at once.

A block is advanced exactly as in one :func:`twin.cell.kernel.advance` call (cells are independent within a
call; same operations, same order), and a span's events are gathered in block order, as that call records
them: the result is the same bit for bit. Only calls that cannot stop are shared (no stopping event kinds, and
an event buffer with room for every event a cell can record: the condition under which the kernel itself makes
no restore copies); the driver runs any other call whole, itself.

Which blocks a thread claims: those of its own lines (line % threads == thread) from the front, oldest span
first, and only then another line's, from the back. Measured on the Intel Xeon VM (benchmarks/README.md, "A
kernel team"): the two threads sharing every span front to front ran 576 pairs of 150-step calls 1.34-1.44x
faster than one thread, against 1.71-1.83x when each keeps to its own line; on the plant-day, the two threads
on the oldest span from its two ends gave 1.51x against 1.72x (medians). The cause was not isolated.

The shared ``table`` (int64, one 64-byte row per line and a last control row; the ``T_*`` and ``C_*``
constants): only the caller writes a row's span fields, and it republishes a line only after every block of its
previous span is done.
"""

from __future__ import annotations

import numpy as np
from numba import typed

from twin._numba import jit
from twin.cell import lane_rows as R
from twin.cell.block import run_block
from twin.cell.kernel import noise_constants
from twin.workers import _compare_exchange, _fetch_add, _load_acquire, _spin_hint, _store_release

# columns of a line's row in the table
T_NEXT = 0  # the open span's unclaimed blocks: front + BACK_UNIT * back, claimable while front < back
T_DONE = 1  # blocks of the open span finished
T_BLOCKS = 2  # blocks per span (the line's cells / LANES, rounded up)
T_STEP0 = 3  # the span's first global step
T_STEPS = 4  # the span's steps
T_ORDER = 5  # when the span was published (the control row's C_PUBLISHED then): older spans are claimed first
N_TABLE_COLS = 8  # 64 bytes: with a 64-byte aligned table each row is one cache line of its own
BACK_UNIT = 1 << 32  # the back's unit in T_NEXT

# columns of the control row (the table's last)
C_QUIT = 0  # set by the caller: the helpers leave serve()
C_PUBLISHED = 2  # spans published so far
# a helper's state (the caller's ``presence`` array, one entry per thread; thread 0 is the caller)
OUT = 0  # not in serve(): the caller hands it the next run (twin.cell.kernel_team)
IN = 1  # in serve() between runs: leaves after its idle budget, unless a run pins it first
PINNED = 2  # in serve() (or starting) during a run: stays until the run ends

# columns of a block's log row
B_THREAD = 0
B_FIRST = 1
B_END = 2


@jit
def run_span_block(
    state: np.ndarray, rng: np.ndarray, params: np.ndarray, current: np.ndarray, dt: float, step0: int,
    start: int, events: np.ndarray, n_events: int, acc: np.ndarray, out: np.ndarray,
) -> int:
    """Advance the lane block of cells ``start …`` through ``current`` (one value per step, A), recording its
    events into ``events`` from row ``n_events``; return the rows used then. As :func:`twin.cell.kernel.advance`
    does for this block when the call cannot stop (stop_mask 0, room for every event)."""
    ncell = state.shape[1]
    nb = min(R.LANES, ncell - start)
    noise_a, noise_b, gain_decay = noise_constants(params, dt)
    b = np.empty(R.BUFFER_SIZE)
    xs = np.empty(R.LANES, dtype=rng.dtype)
    ran = np.zeros(ncell, dtype=np.int64)
    how = np.zeros(ncell, dtype=np.int64)
    _, n_events = run_block(
        state, rng, params, current, dt, step0, 0, events, n_events, acc, out, start, nb, current.shape[0], True,
        noise_a, noise_b, gain_decay, b, xs, ran, how,
    )
    return n_events


@jit
def _claim_and_run(
    table: np.ndarray, log: np.ndarray, offsets: np.ndarray, thread: int,
    states: typed.List, rngs: typed.List, params: typed.List, currents: np.ndarray, buffers: typed.List,
    accs: typed.List, outs: typed.List, dt: float,
) -> bool:
    """Claim one open block and run it; False if none was open.

    A thread takes the blocks of its own lines (line % threads == thread) from the front, oldest span first, and
    only when none is open steals from the back of another line's span: two threads working on one line at once
    ran far slower than on two lines (module docstring), so they meet on a line only at its last blocks. A
    span's front and back are one atomic word (:func:`_claim`)."""
    n_lines = table.shape[0] - 1
    threads = offsets.shape[0]
    line = -1
    block = -1
    for own in (True, False):
        while block < 0:
            line = -1
            oldest = 0
            for k in range(n_lines):
                if (k % threads == thread) == own and _open(table, k) and (line < 0 or table[k, T_ORDER] < oldest):
                    line = k
                    oldest = table[k, T_ORDER]
            if line < 0:
                break
            block = _claim(table, line, own)
        if block >= 0:
            break
    if block < 0:
        return False
    step0 = table[line, T_STEP0]
    steps = table[line, T_STEPS]
    buffer = buffers[line * threads + thread]
    first = offsets[thread, line]
    end = run_span_block(
        states[line], rngs[line], params[line], currents[line, :steps], dt, step0, block * R.LANES, buffer,
        first, accs[line], outs[line],
    )
    offsets[thread, line] = end
    log[line, block, B_THREAD] = thread
    log[line, block, B_FIRST] = first
    log[line, block, B_END] = end
    _fetch_add(table[line], T_DONE, 1)
    return True


@jit
def _open(table: np.ndarray, line: int) -> bool:
    """Whether ``line``'s span has unclaimed blocks."""
    word = _load_acquire(table[line], T_NEXT)
    return word % BACK_UNIT < word // BACK_UNIT


@jit
def _any_open(table: np.ndarray) -> bool:
    """Whether any line's span has unclaimed blocks: the idle loop's test, as cheap as a spin's (a load per
    line), so its passes last about as long as :func:`twin.workers.spin_until_changed`'s."""
    for line in range(table.shape[0] - 1):  # noqa: SIM110 (a plain loop: numba compiles it without a generator)
        if _open(table, line):
            return True
    return False


@jit
def _claim(table: np.ndarray, line: int, front: bool) -> int:
    """Claim the front (or back) unclaimed block of ``line``'s span: its index, or -1 if none was left. One
    atomic add on the packed word: of two threads that claim at once, the later sees the earlier's claim."""
    if front:
        word = _fetch_add(table[line], T_NEXT, 1)
        return word % BACK_UNIT if word % BACK_UNIT < word // BACK_UNIT else -1
    word = _fetch_add(table[line], T_NEXT, -BACK_UNIT)
    return word // BACK_UNIT - 1 if word % BACK_UNIT < word // BACK_UNIT else -1


@jit
def serve(
    table: np.ndarray, presence: np.ndarray, idle_budget: int, log: np.ndarray, offsets: np.ndarray, thread: int,
    states: typed.List, rngs: typed.List, params: typed.List, currents: np.ndarray, buffers: typed.List,
    accs: typed.List, outs: typed.List, dt: float,
) -> None:
    """A helper thread's loop (no GIL, no Python): claim and run open blocks, spin when there are none. It stays
    across runs, so the next run's blocks are taken within a microsecond; it leaves when the caller sets the
    quit flag, or after ``idle_budget`` idle passes while no run pins it (``presence[thread]`` IN -> OUT), so it
    does not keep a core busy when the plant is idle."""
    control = table.shape[0] - 1
    idle = 0
    while _load_acquire(table[control], C_QUIT) == 0:
        if _any_open(table) and _claim_and_run(
            table, log, offsets, thread, states, rngs, params, currents, buffers, accs, outs, dt
        ):
            idle = 0
            continue
        idle += 1
        if idle >= idle_budget:
            if _compare_exchange(presence, thread, IN, OUT):
                return
            idle = 0  # pinned by a run
        _spin_hint()
    _store_release(presence, thread, OUT)


@jit
def work(
    table: np.ndarray, watched: np.ndarray, log: np.ndarray, offsets: np.ndarray, states: typed.List,
    rngs: typed.List, params: typed.List, currents: np.ndarray, buffers: typed.List, accs: typed.List,
    outs: typed.List, dt: float,
) -> int:
    """The caller's share (thread 0, without the GIL): run open blocks until a watched line's span is done and
    return that line; -1 if no line is watched."""
    n_lines = table.shape[0] - 1
    while True:
        watching = False
        for line in range(n_lines):
            if watched[line]:
                watching = True
                if _load_acquire(table[line], T_DONE) == table[line, T_BLOCKS]:
                    return line
        if not watching:
            return -1
        if not _claim_and_run(table, log, offsets, 0, states, rngs, params, currents, buffers, accs, outs, dt):
            _spin_hint()


@jit
def pin(presence: np.ndarray, thread: int) -> bool:
    """Pin a helper still in :func:`serve` for a run (IN -> PINNED); False if it had left (OUT)."""
    return _compare_exchange(presence, thread, IN, PINNED)


@jit
def unpin(presence: np.ndarray, thread: int) -> None:
    """The run is over: the helper may leave after its idle budget (PINNED -> IN)."""
    _compare_exchange(presence, thread, PINNED, IN)


@jit
def open_span(table: np.ndarray, offsets: np.ndarray, line: int, step0: int, steps: int) -> None:
    """Publish a span of ``steps`` steps from global step ``step0`` on ``line`` (its currents already written)."""
    table[line, T_STEP0] = step0
    table[line, T_STEPS] = steps
    table[line, T_DONE] = 0
    control = table.shape[0] - 1
    table[line, T_ORDER] = table[control, C_PUBLISHED]
    table[control, C_PUBLISHED] += 1
    offsets[:, line] = 0
    _store_release(table[line], T_NEXT, table[line, T_BLOCKS] * BACK_UNIT)


@jit
def gather_events(
    log: np.ndarray, line: int, blocks: int, buffers: typed.List, events: np.ndarray, blocks_run: np.ndarray
) -> int:
    """Copy the span's event rows into ``events`` in block order (as one kernel call records them); their count.
    Counts each block in ``blocks_run`` by the thread that ran it."""
    threads = blocks_run.shape[0]
    n = 0
    for block in range(blocks):
        thread = log[line, block, B_THREAD]
        blocks_run[thread] += 1
        source = buffers[line * threads + thread]
        for row in range(log[line, block, B_FIRST], log[line, block, B_END]):
            events[n, :] = source[row, :]
            n += 1
    return n
