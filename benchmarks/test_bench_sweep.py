"""Sweep scaling on a Dask cluster of separate processes (issue 12 item 5): the same Monte-Carlo variants on one
`dask worker` and then on two (a second worker joined to the same `dask scheduler`), in the same run, with the
in-process serial time of the same variants as the floor. Target: 2 workers >= 1.9x one.

Untimed (``--benchmark-disable``, CI) it is a smoke test: 6 one-hour variants. Timed (``--benchmark-enable``)
it runs ``TWIN_BENCH_SWEEP_N`` variants (default 32) of 24 h each from ``sweeps/monte_carlo_1000.toml``, in
``TWIN_BENCH_SWEEP_ROUNDS`` alternating rounds (default 3; one round of 1 000 variants took 2.8 min on
2 cores, after the ~100-s serial floor).
``TWIN_BENCH_SWEEP_1000=1`` adds the whole 1 000-variant sweep on the two workers. Figures go to ``extra_info``
and benchmarks/README.md; nothing asserts a time.
"""

from __future__ import annotations

import os
import platform
import statistics
import time

import dask
import pytest
from tests.scenario.test_sweep_dask import ROOT, DaskProcesses, mc_sweep_file

from twin.scenario import run_scenario
from twin.scenario.dask_executor import dask_executor
from twin.scenario.spec import scenario_from_dict
from twin.scenario.sweep import execute_sweep, load_sweep, run_batch

#: the same tasks on 1 and 2 workers, only the worker count changes: the automatic (shrinking) batches for 2
#: slots, or a fixed batch from ``TWIN_BENCH_SWEEP_BATCH`` (2 was the fixed batch before the automatic one)
BATCH = int(os.environ["TWIN_BENCH_SWEEP_BATCH"]) if os.environ.get("TWIN_BENCH_SWEEP_BATCH") else None
SLOTS = 2


def _cpu() -> str:
    for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115 - a short read of a proc file
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _positive_env(name: str, default: str) -> int:
    """A whole number >= 1 from the environment; anything else stops the run with the variable and its value."""
    text = os.environ.get(name, default)
    if not text.isdigit() or int(text) < 1:
        raise pytest.UsageError(f"{name}={text!r}: a whole number, 1 or more")
    return int(text)


@pytest.fixture(scope="module")
def timed(request) -> bool:
    options = request.config.option
    return not (getattr(options, "benchmark_disable", False) and not getattr(options, "benchmark_enable", False))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, timed):
    n, horizon = (_positive_env("TWIN_BENCH_SWEEP_N", "32"), 24.0) if timed else (6, 1.0)
    return load_sweep(mc_sweep_file(tmp_path_factory.mktemp("bench-sweep"), samples=n, horizon_h=horizon))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    processes = DaskProcesses(tmp_path_factory.mktemp("bench-dask"))
    try:
        yield processes
    finally:
        processes.stop()


@pytest.fixture(scope="module")
def rounds(timed) -> int:
    """Timed rounds from ``TWIN_BENCH_SWEEP_ROUNDS``, checked before any cluster or serial run starts."""
    return _positive_env("TWIN_BENCH_SWEEP_ROUNDS", "3") if timed else 1


def _warm(executor, sweep) -> None:
    """Every worker imports twin and loads the compiled kernels before the clock starts."""
    first = sweep.variants[0]
    executor.client.run(run_batch, [(first.index, first.document)], sweep.origin, str(sweep.base_dir))


@pytest.fixture(scope="module")
def serial_s(sweep) -> float:
    """The same variants one after another in this process: the floor any executor is compared with."""
    scenarios = [scenario_from_dict(v.document, "bench", base_dir=sweep.base_dir) for v in sweep.variants]
    run_scenario(scenarios[0])  # compile / load from the cache outside the timing
    start = time.perf_counter()
    for scenario in scenarios:
        run_scenario(scenario)
    return time.perf_counter() - start


@pytest.mark.benchmark(group="sweep-dask")
def test_sweep_on_two_dask_workers_against_one(benchmark, rounds, cluster, sweep, serial_s, tmp_path):
    """Rounds alternate one worker (the other is told to stay out) and both, so both see the same machine load;
    the ratio of the fastest runs is the scaling, the medians show the spread. The CPU time the workers got per
    wall second (``cores_obtained``) tells a busy machine from an overhead: on a free 2-core machine it is ~1 and
    ~2, and the speed-up follows it. ``cpu_bound_speedup`` is the one worker's CPU seconds over the busiest of the
    two workers' CPU seconds: the speed-up if each worker had a core to itself (load balance and Dask's own work
    included, the machine's other jobs excluded). It is derived, not a wall-clock measurement."""
    cluster.add_worker()
    cluster.add_worker()
    times: dict[int, list[float]] = {1: [], 2: []}
    cores: dict[int, list[float]] = {1: [], 2: []}  # CPU seconds the workers got per wall second
    busiest: dict[int, list[float]] = {1: [], 2: []}  # CPU seconds of the busiest worker
    tables = []
    shape: dict[str, int] = {}
    load_before = os.getloadavg()
    with dask_executor(cluster.address, None) as executor:
        executor.client.wait_for_workers(2, timeout=120)
        _warm(executor, sweep)
        first = sorted(executor.client.nthreads())[0]
        executors = {1: executor.client.get_executor(workers=[first], allow_other_workers=False), 2: executor}

        def worker_cpu_s() -> dict[str, float]:
            return executor.client.run(time.process_time)  # worker address -> its CPU seconds so far

        def one_pair() -> None:
            for n in (1, 2):
                cpu, start = worker_cpu_s(), time.perf_counter()
                run = execute_sweep(
                    sweep, executors[n], out=tmp_path / f"{n}-{len(times[n])}", batch=BATCH, slots=SLOTS
                )
                shape.update(batch=run.batch, tasks=run.tasks)
                times[n].append(time.perf_counter() - start)
                used = {w: t - cpu[w] for w, t in worker_cpu_s().items()}
                cores[n].append(sum(used.values()) / times[n][-1])
                busiest[n].append(max(used.values()))
                assert run.failed == {}
                tables.append(run.table.to_pylist())

        benchmark.pedantic(one_pair, rounds=rounds, iterations=1, warmup_rounds=0)
    assert all(table == tables[0] for table in tables)  # the same results whatever the worker count
    assert len(tables[0]) == len(sweep.variants)
    one, two = min(times[1]), min(times[2])
    benchmark.extra_info.update(
        {
            "variants": len(sweep.variants),
            "horizon_h": sweep.variants[0].document["scenario"]["horizon_h"],
            "cells": 24,
            "batch_fixed": BATCH,
            "largest_batch": shape["batch"],
            "tasks": shape["tasks"],
            "serial_in_process_s": serial_s,
            "one_worker_s": times[1],
            "two_workers_s": times[2],
            "speedup_2_over_1_best": one / two,
            "speedup_2_over_1_median": statistics.median(times[1]) / statistics.median(times[2]),
            "one_worker_over_serial": one / serial_s,
            "cores_obtained_one_worker": cores[1],
            "cores_obtained_two_workers": cores[2],
            "worker_cpu_s_one": busiest[1],
            "busiest_worker_cpu_s_two": busiest[2],
            "cpu_bound_speedup": [a / b for a, b in zip(busiest[1], busiest[2], strict=True)],
            "variants_per_s_two_workers": len(sweep.variants) / two,
            "loadavg_1min_before_after": [load_before[0], os.getloadavg()[0]],
            "cpus": os.cpu_count(),
            "cpu": _cpu(),
            "dask": dask.__version__,
        }
    )


@pytest.mark.benchmark(group="sweep-dask")
@pytest.mark.skipif(os.environ.get("TWIN_BENCH_SWEEP_1000") != "1", reason="set TWIN_BENCH_SWEEP_1000=1 (minutes)")
def test_monte_carlo_1000_on_two_dask_workers(benchmark, cluster, tmp_path):
    sweep = load_sweep(ROOT / "sweeps/monte_carlo_1000.toml")
    while len(cluster.processes) < 3:  # the scheduler and two workers
        cluster.add_worker()
    with dask_executor(cluster.address, None) as executor:
        executor.client.wait_for_workers(2, timeout=120)
        _warm(executor, sweep)
        run = benchmark.pedantic(
            lambda: execute_sweep(sweep, executor, out=tmp_path / "mc1000", slots=executor.slots),
            rounds=1,
            iterations=1,
            warmup_rounds=0,
        )
    assert run.failed == {}
    assert run.table.num_rows == 1000
    wall = benchmark.stats.stats.mean if benchmark.stats else float("nan")
    benchmark.extra_info.update(
        {
            "variants": 1000,
            "workers": 2,
            "batch": run.batch,
            "tasks": run.tasks,
            "wall_s": wall,
            "variants_per_s": 1000 / wall,
            "cpu": _cpu(),
            "loadavg_1min_after": os.getloadavg()[0],
        }
    )
