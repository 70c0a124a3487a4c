"""Run a sweep's variants in batches on any ``concurrent.futures`` executor, streaming results as tasks finish.

A task is a batch of whole scenarios (performance.md §3.3, design.md "a task is a whole scenario or a batch of
them"): local worker processes by default, or a Dask cluster through :mod:`twin.scenario.dask_executor`. The
driver (this process) is the only writer: it writes each finished task's rows as one Parquet part
(:mod:`twin.scenario.sweep_store`) in order of completion, so results are on disk as soon as they exist. A task lost
with its worker is rerun by the cluster (Dask reschedules it); its rows are written once, when a result arrives.
A resumed sweep skips the variants already in its directory. At most ``max(64, 4 × slots)`` tasks are handed
to the executor at a time; the rest wait in the driver. A variant whose scenario fails costs only itself:
it is reported, not written, and a resume tries it again.

The sweep file format is :mod:`twin.scenario.sweep_file`.
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from twin.errors import ScenarioError, SimulationError, TwinError
from twin.scenario.runner import run_scenario
from twin.scenario.spec import scenario_from_dict
from twin.scenario.sweep_file import Sweep, Variant, load_sweep
from twin.scenario.sweep_store import MemoryResults, PartsDirectory

__all__ = [
    "Sweep",
    "SweepIncompleteError",
    "SweepRun",
    "Variant",
    "auto_batch",
    "auto_batches",
    "execute_sweep",
    "load_sweep",
    "run_sweep",
]

Progress = Callable[[int, int], None]  # (variants finished, including resumed ones; variants in the sweep)
#: automatic batches shrink as the sweep runs (guided self-scheduling by factoring, Hummel, Schonberg & Flynn,
#: "Factoring: a method for scheduling parallel loops", CACM 35(8), 1992): each task takes 1/(FACTOR x slots) of
#: the variants still to hand out, at most MAX_AUTO_BATCH, so the sweep starts with few large tasks (few
#: round trips) and ends with one-variant tasks (the slots finish within about one variant of each other)
FACTOR = 2
MAX_AUTO_BATCH = 32
MAX_BATCH = 10_000
#: tasks handed to the executor at a time (per slot, and at least): the rest wait in the driver, so a sweep of
#: 100 000 variants does not put every scenario document into the executor's queue at once
IN_FLIGHT_PER_SLOT = 4
MIN_IN_FLIGHT = 64


@dataclass(frozen=True)
class BatchResult:
    """What a task returns: the KPIs of the variants that ran, the errors of those that failed, where it ran."""

    kpis: Mapping[int, Mapping[str, Any]]
    errors: Mapping[int, str]
    ran_by: str


@dataclass(frozen=True)
class SweepRun:
    """The outcome of :func:`execute_sweep`: every finished variant (including resumed ones) and the rest."""

    table: pa.Table
    ran: tuple[int, ...]
    resumed: tuple[int, ...]
    failed: Mapping[int, str]
    batch: int
    tasks: int


class SweepIncompleteError(SimulationError):
    """Some variants failed; the others' results are in ``run.table`` (and in the sweep directory)."""

    def __init__(self, run: SweepRun) -> None:
        first = min(run.failed)
        super().__init__(
            f"{len(run.failed)} of {run.table.num_rows + len(run.failed)} variants failed "
            f"(variant {first}: {run.failed[first]}); a resumed sweep tries them again"
        )
        self.run = run


def run_batch(items: Sequence[tuple[int, Mapping[str, Any]]], origin: str, base_dir: str) -> BatchResult:
    """Run each ``(variant number, scenario document)`` in turn; one failure costs only its variant."""
    kpis: dict[int, Mapping[str, Any]] = {}
    errors: dict[int, str] = {}
    for index, document in items:
        try:
            scenario = scenario_from_dict(document, f"{origin} variant {index}", base_dir=Path(base_dir))
            kpis[index] = run_scenario(scenario).kpis
        except TwinError as exc:
            errors[index] = str(exc)
        except Exception as exc:
            errors[index] = f"{type(exc).__name__}: {exc}"
    return BatchResult(kpis, errors, f"{socket.gethostname()}:{os.getpid()}")


def _single_thread_numba() -> None:
    os.environ["NUMBA_NUM_THREADS"] = "1"  # one scenario per worker core (performance.md §3.3)


def max_local_workers() -> int:
    """How many worker processes a sweep may start on this machine: 4 per CPU. Sweeps are CPU-bound, so more
    processes than cores add memory (each imports the twin and compiles or loads its kernels: ≥ 130 MB before
    its first variant, measured 2026-12-07), not speed; `--dask-local 500` on a 2-core machine started 500."""
    return 4 * (os.cpu_count() or 1)


def auto_batches(variants: int, slots: int) -> list[int]:
    """Variants per task, in submission order, when no batch is given: ``ceil(rest / (FACTOR x slots))`` of the
    variants not yet handed out, between 1 and MAX_AUTO_BATCH; the sizes add up to ``variants``."""
    sizes: list[int] = []
    rest = variants
    while rest > 0:
        size = max(1, min(MAX_AUTO_BATCH, math.ceil(rest / (FACTOR * max(1, slots)))))
        sizes.append(size)
        rest -= size
    return sizes


def auto_batch(variants: int, slots: int) -> int:
    """The largest automatic batch (the first): what :class:`SweepRun` reports as ``batch``."""
    return max(auto_batches(variants, slots), default=1)


def execute_sweep(
    sweep: Sweep,
    executor: Executor | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    batch: int | None = None,
    slots: int | None = None,
) -> SweepRun:
    """Run the sweep's variants not yet in ``out`` in batches; write each finished task's rows at once.

    ``executor`` defaults to ``workers`` local processes; ``slots`` (tasks the executor runs at once, default
    ``workers``) sizes the automatic ``batch``. With ``out`` the results stream to that directory (``resume``
    continues one that holds parts of the same sweep); without it they are kept in memory.
    """
    if batch is not None and not 1 <= batch <= MAX_BATCH:
        raise ScenarioError(f"--batch = {batch!r} is invalid; expected an integer in [1, {MAX_BATCH}]")
    sink = PartsDirectory(out, sweep.name, resume=resume) if out is not None else MemoryResults()
    resumed = _check_resumed(sweep, sink.finished(), out)
    todo = [v for v in sweep.variants if v.index not in resumed]
    sizes = [batch] * math.ceil(len(todo) / batch) if batch else auto_batches(len(todo), slots or workers)
    starts = list(itertools.accumulate(sizes, initial=0))
    batches = [todo[a:b] for a, b in itertools.pairwise(starts)]
    size = max(sizes, default=batch or 1)
    types = _settings_types(sweep.variants)
    total, done = len(sweep.variants), len(resumed)
    if progress is not None:
        progress(done, total)
    own = executor is None and bool(batches)
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_single_thread_numba) if own else executor
    queue = iter(batches)
    pending: dict[Future[BatchResult], list[Variant]] = {}
    ran: list[int] = []
    failed: dict[int, str] = {}

    def submit_next() -> None:
        chunk = next(queue, None)
        if chunk is not None:
            items = [(v.index, v.document) for v in chunk]
            pending[pool.submit(run_batch, items, sweep.origin, str(sweep.base_dir))] = chunk

    try:
        for _ in range(max(MIN_IN_FLIGHT, IN_FLIGHT_PER_SLOT * (slots or workers))):
            submit_next()
        while pending:
            for future in wait(list(pending), return_when=FIRST_COMPLETED).done:
                chunk = pending.pop(future)
                submit_next()
                try:
                    result = future.result()
                except Exception as exc:
                    failed.update({v.index: f"task lost: {type(exc).__name__}: {exc}" for v in chunk})
                else:
                    finished = [v for v in chunk if v.index in result.kpis]
                    if finished:
                        table = _part_table(finished, result.kpis, types)
                        sink.write(table, {v.index: v.digest for v in finished}, result.ran_by)
                        ran.extend(v.index for v in finished)
                    failed.update(result.errors)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    finally:
        for future in pending:
            future.cancel()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
    return SweepRun(
        sink.table(), tuple(sorted(ran)), tuple(sorted(resumed)), dict(sorted(failed.items())), size, len(batches)
    )


def run_sweep(
    sweep: Sweep,
    executor: Executor | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    **options: Any,
) -> pa.Table:
    """:func:`execute_sweep` for callers that need every variant: the table, or :class:`SweepIncompleteError`."""
    run = execute_sweep(sweep, executor, workers, progress, **options)
    if run.failed:
        raise SweepIncompleteError(run)
    return run.table


def _check_resumed(sweep: Sweep, finished: Mapping[int, str], out: str | Path | None) -> set[int]:
    by_index = {v.index: v for v in sweep.variants}
    for index, digest in sorted(finished.items()):
        variant = by_index.get(index)
        if variant is None:
            raise ScenarioError(
                f"--out {out}: holds variant {index}, which {sweep.origin} does not have; choose another --out"
            )
        if variant.digest != digest:
            raise ScenarioError(
                f"--out {out}: variant {index} was run with another scenario ({sweep.origin} or its base scenario "
                "changed since); choose another --out"
            )
    return set(finished)


def _settings_types(variants: Sequence[Variant]) -> dict[str, pa.DataType]:
    """One Arrow type per setting over the whole sweep, so every part has the same columns and types."""
    keys = list(dict.fromkeys(key for v in variants for key in v.settings))
    return {key: pa.array([v.settings.get(key) for v in variants]).type for key in keys}


def _part_table(
    variants: Sequence[Variant], kpis: Mapping[int, Mapping[str, Any]], types: Mapping[str, pa.DataType]
) -> pa.Table:
    """Variant number, its settings (``set:`` columns) and its KPIs (float64 where numeric), one row each."""
    columns: dict[str, pa.Array] = {"variant": pa.array([v.index for v in variants], pa.int64())}
    for key, kind in types.items():
        columns[f"set:{key}"] = pa.array([v.settings.get(key) for v in variants], kind)
    names = list(dict.fromkeys(name for v in variants for name in kpis[v.index]))
    for name in names:
        values = [kpis[v.index].get(name) for v in variants]
        numeric = all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in values if x is not None)
        columns[name] = (
            pa.array([None if x is None else float(x) for x in values], pa.float64()) if numeric else (pa.array(values))
        )
    return pa.table(columns)
