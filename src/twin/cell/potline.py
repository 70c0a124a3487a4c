"""Driver for the cell kernel: a potline of N cells in series that you build from a model and advance.

The driver validates inputs, owns the structure-of-arrays, calls :func:`twin.cell.kernel.advance` and
wraps what comes back into typed results. It is the only place the kernel is called from, and the one
owner of the cell state: code above ``twin.cell`` reads cells by name (:meth:`Potline.values`,
:meth:`Potline.parameter`, :meth:`Potline.snapshot`) and changes them only through the named operations
(:mod:`twin.cell.operations`: tap, AlF3, crushed bath, bath tap, feed-loss causes, dissolution factors,
feed strategy, exchanger duty, anode change, noise, cut-out and cut-in, resistance target).

>>> from twin.cell import Potline
>>> from twin.params import load_technology
>>> line = Potline(load_technology("models/hal275.toml"), n_cells=4, seed=1)
>>> result = line.advance(3600, line_current_kA=300.0)   # 3600 steps of 1 s
>>> round(float(line.snapshot().outputs["v_cell"].mean()), 1)
4.2
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import numpy as np

from twin.cell import lane_rows as R
from twin.cell import layout as L
from twin.cell import operations as ops
from twin.cell.kernel import EVENTS_PER_CELL_STEP, advance_cells, events_bound
from twin.cell.kernel import advance as advance_kernel
from twin.cell.pack import initial_state, pack_params, seed_generators
from twin.cell.slow import refresh_slow_terms_of
from twin.errors import SimulationError
from twin.params import Technology
from twin.workers import SpinWorkers

T = TypeVar("T")

EVENT_CODES = {name: code for code, name in L.EVENT_NAMES.items()}
#: kernel parameters by name: ``P_K_DISS`` -> ``"k_diss"`` (read-only for code above twin.cell)
PARAM_ROWS = {k[2:].lower(): v for k, v in vars(L).items() if k.startswith("P_") and isinstance(v, int)}
ROWS = {
    **{name: ("state", row) for row, name in enumerate(L.STATE_NAMES)},
    **{name: ("out", row) for row, name in enumerate(L.OUT_NAMES)},
    **{name: ("acc", row) for row, name in enumerate(L.ACC_NAMES)},
}
DEFAULT_STOP_ON = ("anode_effect_onset", "freeze_risk", "bath_hot", "ledge_thin", "ledge_thick")
MAX_DT_S = 60.0
MAX_THREADS = 8
#: the event buffer grows to spare the kernel its restore copies only up to this size (bytes; _fit_event_buffer)
EVENT_BUFFER_MAX_BYTES = 8 * 2**20


@dataclass(frozen=True, slots=True, order=True)
class CellEvent:
    """A state event detected inside the kernel."""

    time_s: float
    kind: str
    cell: int
    value: float  # AE duration (s) for anode_effect_end; the crossing value otherwise


@dataclass(frozen=True)
class AdvanceResult:
    """What one call to :meth:`Potline.advance` did."""

    steps_done: int
    time_s: float
    events: tuple[CellEvent, ...]
    stopped_on: CellEvent | None  # the event that stopped the run early, if any


@dataclass(frozen=True)
class CellSnapshot:
    """Copies of every per-cell array at one instant (state, outputs and the voltage breakdown)."""

    time_s: float
    state: Mapping[str, np.ndarray]
    outputs: Mapping[str, np.ndarray]
    totals: Mapping[str, np.ndarray]
    breakdown_names: tuple[str, ...] = field(default=tuple(L.OUT_NAMES[r] for r in L.BREAKDOWN_ROWS))


class Potline:
    """N cells of one technology in series, advanced in steps of ``dt`` seconds.

    ``slow_every`` refreshes conductivity, liquidus, saturation and CE every that many steps (1 is exact;
    the accuracy cost of larger values is measured in ``benchmarks/README.md``). ``stop_on`` names the
    event kinds that end :meth:`advance` early (see :data:`twin.cell.layout.EVENT_NAMES`).

    ``threads`` > 1 (a line without stop events only, ``stop_on=()``) splits each kernel call into that many
    contiguous ranges of whole lane blocks, advanced in parallel threads (the kernel releases the GIL) by
    :func:`twin.cell.kernel.advance_cells`; the result is bit for bit that of one thread. The worker threads
    (``threads`` − 1; the calling thread takes the first range) start on the first such call and stop at
    :meth:`close` or when the line is collected.
    """

    def __init__(
        self,
        technology: Technology,
        n_cells: int,
        *,
        dt: float = 1.0,
        seed: int = 0,
        slow_every: int = 1,
        stop_on: Iterable[str] = DEFAULT_STOP_ON,
        threads: int = 1,
    ) -> None:
        if isinstance(n_cells, bool) or not isinstance(n_cells, int) or not 1 <= n_cells <= 100_000:
            raise SimulationError(f"n_cells = {n_cells!r} is invalid; expected an integer in [1, 100000]")
        if not isinstance(dt, int | float) or not 0.0 < dt <= MAX_DT_S:
            raise SimulationError(f"dt = {dt!r} is invalid; expected seconds in (0, {MAX_DT_S:g}]")
        if isinstance(slow_every, bool) or not isinstance(slow_every, int) or not 1 <= slow_every <= 3600:
            raise SimulationError(f"slow_every = {slow_every!r} is invalid; expected an integer in [1, 3600]")
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
            raise SimulationError(f"threads = {threads!r} is invalid; expected an integer in [1, {MAX_THREADS}]")
        self.technology = technology
        self.dt = float(dt)
        self.params = pack_params(technology, slow_every)
        self.state = initial_state(technology, self.params, n_cells)
        self.rng = seed_generators(seed, n_cells)
        self.acc = np.zeros((L.N_ACC, n_cells))
        self.out = np.zeros((L.N_OUT, n_cells))
        self.stop_mask = _stop_mask(stop_on)
        if threads > 1 and self.stop_mask:
            raise SimulationError(f"threads = {threads} needs stop_on=(): stops are resolved across all cells")
        self.threads = threads
        self.step_count = 0
        # the kernel gives each cell rows // n_cells − EVENTS_PER_CELL_STEP events before it stops the call: at
        # least 2 at any size (with 5 rows per cell a line of more than 1024 cells stopped after every step)
        self._events = np.zeros((1024 + (EVENTS_PER_CELL_STEP + 2) * n_cells, L.N_EVENT_COLS))
        self.feed_losses: dict[str, np.ndarray] = {}  # cause -> per-cell share of the feed lost
        self.dissolution_factors: dict[str, float] = {}  # cause -> factor on the line's k_diss
        self.base_k_diss = float(self.params[L.P_K_DISS])
        self._ranges = _block_ranges(n_cells, threads)
        self._workers: SpinWorkers | None = None
        self._range_events: list[np.ndarray] = []  # per range after the first (which uses self._events)
        self._saved: tuple[np.ndarray, ...] = ()  # state, rng, acc, out as of the start of a parallel call

    @property
    def n_cells(self) -> int:
        return self.state.shape[1]

    @property
    def time_s(self) -> float:
        return self.step_count * self.dt

    @property
    def nominal_current_kA(self) -> float:
        return self.params[L.P_I_NOMINAL_A] / 1e3

    def advance(self, steps: int, line_current_kA: float | np.ndarray) -> AdvanceResult:
        """Advance up to ``steps`` steps under a constant line current or one value per step (kA).

        Stops early, after a complete step, on the first event whose kind is in ``stop_on``.
        """
        return run_serially(self.advance_steps(steps, line_current_kA))

    def advance_steps(
        self, steps: int, line_current_kA: float | np.ndarray
    ) -> Generator[KernelCall, tuple[int, int], AdvanceResult]:
        """:meth:`advance` as a generator that yields each whole-line kernel call (a :class:`KernelCall`) for its
        caller to run, and is sent back ``(steps done, event rows)``: so a plant can share several lines' calls
        between threads (:class:`twin.cell.kernel_team.KernelTeam`). :func:`run_serially` runs the calls here."""
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
            raise SimulationError(f"steps = {steps!r} is invalid; expected a whole number >= 0")
        current = self._current_profile(int(steps), line_current_kA)
        self._fit_event_buffer(current)
        events: list[CellEvent] = []
        done = 0
        parallel = len(self._ranges) > 1 and self.stop_mask == 0
        while done < steps:
            if parallel:
                n, rows = self._advance_ranges(current[done:])
            else:
                n, n_events = yield KernelCall(self, current[done:])
                rows = self._events[:n_events]
            new = sorted(self._event(row, self.step_count) for row in rows) if len(rows) else []
            self.step_count += n
            done += n
            events.extend(new)
            if new:
                stopper = next((e for e in new if self.stop_mask >> EVENT_CODES[e.kind] & 1), None)
                if stopper is not None:
                    return AdvanceResult(done, self.time_s, tuple(events), stopper)
        return AdvanceResult(done, self.time_s, tuple(events), None)

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(state, rng, params, acc, out): the arrays a kernel call advances in place, for a kernel team
        (:class:`twin.cell.kernel_team.KernelTeam`) that runs this line's calls block by block."""
        return self.state, self.rng, self.params, self.acc, self.out

    def kernel_arrays_key(self) -> tuple[int, ...]:
        """Which arrays :meth:`kernel_arrays` and :attr:`event_rows` are (identities and the event rows): a
        kernel team rebuilds its view of the line when this changes."""
        return (*map(id, self.kernel_arrays()), id(self._events), self._events.shape[0])

    @property
    def event_rows(self) -> np.ndarray:
        """The event buffer a kernel call fills and :meth:`advance_steps` reads after it (rows of
        step, code, cell, value)."""
        return self._events

    def run_kernel(self, current: np.ndarray) -> tuple[int, int]:
        """One kernel call over every cell (:func:`twin.cell.kernel.advance`); (steps done, event rows)."""
        return advance_kernel(
            self.state, self.rng, self.params, current, self.dt, self.step_count, self.stop_mask, self._events,
            self.acc, self.out,
        )

    def _fit_event_buffer(self, current: np.ndarray) -> None:
        """Grow the event buffer so that a call over ``current`` cannot stop early for a full buffer, when that
        takes at most ``EVENT_BUFFER_MAX_BYTES``: the kernel then makes no restore copies (twin.cell.kernel). The
        plant's 60-step calls on 400 cells need ~1 MB; a day in one call does not fit and keeps the stops."""
        if self.stop_mask:
            return
        rows = (events_bound(self.params, current, self.step_count) + EVENTS_PER_CELL_STEP) * self.n_cells
        if rows > self._events.shape[0] and rows * L.N_EVENT_COLS * 8 <= EVENT_BUFFER_MAX_BYTES:
            self._events = np.zeros((rows, L.N_EVENT_COLS))
            self._range_events = []  # the ranges' buffers take the line buffer's shape again (_advance_ranges)

    def close(self) -> None:
        """Stop the worker threads (if any); the line can still advance, and starts them again when it does."""
        if self._workers is not None:
            self._workers.close()
            self._workers = None

    def _advance_ranges(self, current: np.ndarray) -> tuple[int, np.ndarray]:
        """One kernel call as :func:`advance_cells` on each range in parallel; (steps done, event rows)."""
        if self._workers is None:  # a spin-then-block hand-off: a forecast's call is a few ms (twin.workers)
            self._workers = SpinWorkers(len(self._ranges) - 1, name="potline-cells")
        if not self._saved:
            self._saved = (
                np.empty_like(self.state),
                np.empty_like(self.rng),
                np.empty_like(self.acc),
                np.empty_like(self.out),
            )
        if len(self._range_events) != len(self._ranges) - 1:
            self._range_events = [np.zeros_like(self._events) for _ in self._ranges[1:]]
        buffers = [self._events, *self._range_events]

        def run(r: int, limit: int) -> tuple[int, int]:
            lo, hi = self._ranges[r]
            return advance_cells(
                self.state,
                self.rng,
                self.params,
                current,
                self.dt,
                self.step_count,
                limit,
                lo,
                hi,
                buffers[r],
                self.acc,
                self.out,
                *self._saved,
            )

        results: list[tuple[int, int]] = [(0, 0)] * len(self._ranges)

        def run_into(r: int) -> None:
            results[r] = run(r, len(current))

        errors = self._workers.run([partial(run_into, r) for r in range(len(self._ranges))])
        error = next((e for e in errors if e is not None), None)
        if error is not None:
            raise error
        limit = min(n for n, _ in results)
        for r, (n, _) in enumerate(results):
            if n > limit:  # this range ran past another's event-buffer stop: back to its start, and up to that stop
                lo, hi = self._ranges[r]
                for array, saved in zip((self.state, self.rng, self.acc, self.out), self._saved, strict=True):
                    array[..., lo:hi] = saved[..., lo:hi]
                results[r] = run(r, limit)
        return limit, np.concatenate([buffers[r][:n_events] for r, (_, n_events) in enumerate(results)])

    def advance_to(self, time_s: float, line_current_kA: float) -> AdvanceResult:
        """Advance until the clock reaches ``time_s`` (rounded down to whole steps)."""
        return run_serially(self.advance_to_steps(time_s, line_current_kA))

    def advance_to_steps(
        self, time_s: float, line_current_kA: float
    ) -> Generator[KernelCall, tuple[int, int], AdvanceResult]:
        """:meth:`advance_to` as a generator of its kernel calls (:meth:`advance_steps`)."""
        steps = math.floor((time_s - self.time_s) / self.dt + 1e-9)
        return (yield from self.advance_steps(max(steps, 0), line_current_kA))

    def snapshot(self) -> CellSnapshot:
        """Copies of the per-cell arrays, named (see :mod:`twin.cell.layout`)."""
        return CellSnapshot(
            self.time_s,
            {name: self.state[row].copy() for row, name in enumerate(L.STATE_NAMES)},
            {name: self.out[row].copy() for row, name in enumerate(L.OUT_NAMES)},
            {name: self.acc[row].copy() for row, name in enumerate(L.ACC_NAMES)},
        )

    def set_cells(
        self, name: str, cells: np.ndarray | slice | int, value: float | np.ndarray, *, refresh: bool = True
    ) -> None:
        """Set one state variable (by its name in :data:`~twin.cell.layout.STATE_NAMES`) for some cells.

        The generic write for estimators (the live EnKF's analysis) and tests; plant operations use the named
        operations below, which keep the bath chemistry and heat consistent. Slow terms of the cells are
        refreshed afterwards (``refresh=False`` defers it to :meth:`refresh`).
        """
        try:
            row = L.STATE_NAMES.index(name)
        except ValueError:
            raise SimulationError(f"unknown cell state {name!r}; known: {', '.join(L.STATE_NAMES)}") from None
        self.state[row, cells] = value
        if refresh:
            self.refresh(cells)

    def refresh(self, cells: ops.Cells = None) -> None:
        """Recompute the slow terms (conductivity, liquidus, saturation, ratio, CE) of ``cells`` from their state."""
        refresh_slow_terms_of(self.state, self.params, np.asarray(ops.cell_index(self, cells, "refresh"), np.int64))

    # --- named reads -------------------------------------------------------------------------------------
    def values(self, name: str) -> np.ndarray:
        """A copy of one per-cell row by name: a state (:data:`~twin.cell.layout.STATE_NAMES`), an output
        (``OUT_NAMES``) or a running total (``ACC_NAMES``)."""
        return self._named_row(name).copy()

    def rows(self, names: tuple[str, ...]) -> np.ndarray:
        """Copies of several per-cell rows by name (as :meth:`values`), stacked into one (len(names), n_cells)
        array: a recorder's per-interval read of a line in one copy, reduced along axis 1 by one numpy call per
        statistic (bit for bit each row's own reduction)."""
        block = np.empty((len(names), self.n_cells))
        for k, name in enumerate(names):  # one row copy each; np.stack costs 3x as much in Python for 11 rows
            block[k] = self._named_row(name)
        return block

    def value(self, name: str, cell: int) -> float:
        """One cell's value by name (as :meth:`values`, 0-based ``cell``): the potroom's per-pot reads, without
        copying the row."""
        row = self._named_row(name)
        if type(cell) is not int or not 0 <= cell < self.n_cells:
            raise SimulationError(f"cell = {cell!r} is invalid; expected an integer in [0, {self.n_cells - 1}]")
        return float(row[cell])

    def _named_row(self, name: str) -> np.ndarray:
        """The row (a view) of a state, output or running total by name."""
        try:
            table, row = ROWS[name]
        except KeyError:
            raise SimulationError(f"unknown cell value {name!r}; known: {', '.join(ROWS)}") from None
        return getattr(self, table)[row]

    def parameter(self, name: str) -> float:
        """One kernel parameter by name (in the kernel's units: ``P_K_DISS`` is ``"k_diss"`` in 1/s)."""
        try:
            return float(self.params[PARAM_ROWS[name]])
        except KeyError:
            raise SimulationError(f"unknown kernel parameter {name!r}; known: {', '.join(PARAM_ROWS)}") from None

    def silence_noise(self) -> None:
        """Switch the cells' resistance noise off (ensemble members of an estimator carry it in R instead)."""
        self.params[L.P_NOISE_OHM] = 0.0

    # --- named operations (twin.cell.operations; the only way to change cells from above) ----------------
    def tap_metal(self, cells: ops.Cells, target_kg: float) -> float:
        """Tap the metal above ``target_kg``; kg tapped."""
        return ops.tap_metal(self, cells, target_kg)

    def add_alf3(self, cells: ops.Cells, kg: float | np.ndarray) -> float:
        """Add AlF3 (kg per cell); kg added."""
        return ops.add_alf3(self, cells, kg)

    def add_bath(self, cells: ops.Cells, kg: float | np.ndarray) -> float:
        """Add crushed bath (kg per cell); kg added."""
        return ops.add_bath(self, cells, kg)

    def tap_bath(self, cells: ops.Cells, kg: float | np.ndarray) -> float:
        """Tap liquid bath (kg per cell); kg removed."""
        return ops.tap_bath(self, cells, kg)

    def set_feed_loss(self, cells: ops.Cells, cause: str, fraction: float) -> np.ndarray:
        """Share of the feed lost to ``cause``; the new feed efficiency of every cell."""
        return ops.set_feed_loss(self, cells, cause, fraction)

    def set_dissolution_factor(self, cause: str, factor: float) -> float:
        """Line-wide factor on the dissolution rate for ``cause``; the new rate (1/s)."""
        return ops.set_dissolution_factor(self, cause, factor)

    def set_feed_strategy(self, cells: ops.Cells, name: str) -> None:
        ops.set_feed_strategy(self, cells, name)

    def stagger_feed_cycles(self, rng: np.random.Generator) -> None:
        """Each tracking-fed cell at its own point of the feed cycle (operations.stagger_feed_cycles)."""
        ops.stagger_feed_cycles(self, rng)

    def set_hx_duty(self, cells: ops.Cells, watts: float | np.ndarray) -> None:
        ops.set_hx_duty(self, cells, watts)

    def change_anode(self, cells: ops.Cells, noise_gain: float) -> None:
        ops.change_anode(self, cells, noise_gain)

    def raise_noise(self, cells: ops.Cells, gain: float) -> None:
        ops.raise_noise(self, cells, gain)

    def cut_out(self, cells: ops.Cells) -> None:
        ops.cut_out(self, cells)

    def cut_in(self, cells: ops.Cells) -> None:
        ops.cut_in(self, cells)

    def set_resistance_target(self, cells: ops.Cells, ohm: float | np.ndarray) -> None:
        ops.set_resistance_target(self, cells, ohm)

    def resistance_range(self) -> tuple[float, float]:
        """Valid resistance targets (Ω), see :func:`twin.cell.operations.resistance_range`."""
        return ops.resistance_range(self)

    def voltage_at_nominal(self, ohm: float | np.ndarray) -> float | np.ndarray:
        """V = BEMF + R·I_nom of a resistance target."""
        return ops.voltage_at_nominal(self, ohm)

    def resistance_for_voltage(self, volts: float | np.ndarray) -> float | np.ndarray:
        """R = (V − BEMF)/I_nom: the resistance target for a voltage at nominal current."""
        return ops.resistance_for_voltage(self, volts)

    def _current_profile(self, steps: int, line_current_kA: float | np.ndarray) -> np.ndarray:
        limit = 2.0 * self.nominal_current_kA
        if isinstance(line_current_kA, float | int) and not isinstance(line_current_kA, bool):
            # the plant's case, once per sync: a constant current checked as one Python float (the same values
            # and message as the array path below, without its half-dozen numpy calls)
            amps = float(line_current_kA) * 1e3
            if steps and not (math.isfinite(amps) and 0.0 <= amps <= limit * 1e3):
                bad = amps / 1e3
                raise SimulationError(f"line_current_kA = {bad!r} is invalid; expected a value in [0, {limit:g}] kA")
            return np.full(steps, amps)
        profile = np.broadcast_to(np.asarray(line_current_kA, dtype=float), (steps,)) * 1e3
        if profile.size and (not np.all(np.isfinite(profile)) or profile.min() < 0 or profile.max() > limit * 1e3):
            bad = float(profile[~np.isfinite(profile) | (profile < 0) | (profile > limit * 1e3)][0] / 1e3)
            raise SimulationError(f"line_current_kA = {bad!r} is invalid; expected a value in [0, {limit:g}] kA")
        return np.ascontiguousarray(profile)

    def _event(self, row: np.ndarray, step0: int) -> CellEvent:
        time_s = (step0 + int(row[0])) * self.dt
        return CellEvent(time_s, L.EVENT_NAMES[int(row[1])], int(row[2]), float(row[3]))


@dataclass(frozen=True, slots=True)
class KernelCall:
    """A whole-line kernel call that :meth:`Potline.advance_steps` asks its caller to run: ``current`` (A per
    step) from the line's present step. :meth:`run` runs it in this thread; a kernel team may run it in blocks."""

    potline: Potline
    current: np.ndarray

    def run(self) -> tuple[int, int]:
        return self.potline.run_kernel(self.current)


def run_serially(steps: Generator[KernelCall, tuple[int, int], T]) -> T:
    """Drive a generator of kernel calls (:meth:`Potline.advance_steps` and those built on it), running each
    call in this thread; its return value."""
    try:
        call = next(steps)
        while True:
            call = steps.send(call.run())
    except StopIteration as stop:
        return stop.value


def _block_ranges(n_cells: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous cell ranges of whole lane blocks (fewer if there are fewer blocks), in cell order."""
    blocks = -(-n_cells // R.LANES)
    parts = min(parts, blocks)
    edges = [min(n_cells, R.LANES * (blocks * k // parts)) for k in range(parts + 1)]
    return list(itertools.pairwise(edges))


def _stop_mask(stop_on: Iterable[str]) -> int:
    mask = 0
    for kind in stop_on:
        if kind not in EVENT_CODES:
            raise SimulationError(f"stop_on event {kind!r} is unknown; valid: {', '.join(EVENT_CODES)}")
        mask |= 1 << EVENT_CODES[kind]
    return mask
