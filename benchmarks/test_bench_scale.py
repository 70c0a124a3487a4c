"""Memory and size (issue 12 item 7): a fleet of 100 000 cells through one kernel call, against the arithmetic
ceiling (benchmarks/ceiling.py) on as many cells in the same run, and the bytes each cell costs in the state
the kernel works on and in a run's results.

Bytes per cell come from the arrays' shapes (exact, no timing); the results' figure from a short scenario of
the small plant: the Arrow ``cells`` table (one row per cell and hour) and the peak Python memory of the run
(tracemalloc), both per cell-hour. Figures go to ``extra_info`` and benchmarks/README.md; nothing is asserted
about time.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from ceiling import ceiling_rate

from twin.cell import Potline
from twin.cell import layout as L
from twin.params import load_technology
from twin.scenario import run_scenario, scenario_from_text

ROOT = Path(__file__).resolve().parents[1]
N_FLEET = 100_000
SLOW_EVERY = 60


def bytes_per_cell(line: Potline) -> dict[str, float]:
    """What one cell costs in the driver's arrays and, during a call, in the kernel's restore copies."""
    n = line.n_cells
    resident = {
        "state": line.state.nbytes / n,
        "rng": line.rng.nbytes / n,
        "totals": line.acc.nbytes / n,
        "outputs": line.out.nbytes / n,
        "event_buffer": line._events.nbytes / n,  # 1024 + 5 rows per cell, 4 float64 each
    }
    # twin.cell.kernel.advance copies state, rng, totals and outputs (to restore cells after a stop) and keeps
    # two int64 and one bool per cell while it runs
    during_call = (line.state.nbytes + line.rng.nbytes + line.acc.nbytes + line.out.nbytes) / n + 8 + 8 + 1
    return {
        **{f"bytes_per_cell_{k}": v for k, v in resident.items()},
        "bytes_per_cell_resident": sum(resident.values()),
        "bytes_per_cell_during_call_extra": during_call,
    }


@pytest.mark.benchmark(group="scale")
def test_fleet_of_100000_cells_in_one_call(benchmark):
    steps = 10 if benchmark.disabled else 600
    tech = load_technology(ROOT / "models/hal275.toml")
    fleet = Potline(tech, N_FLEET, seed=1, slow_every=SLOW_EVERY, stop_on=())
    fleet.advance(SLOW_EVERY, 300.0)  # compiled and warm
    elapsed: list[float] = []

    def run() -> None:
        start = time.perf_counter()
        result = fleet.advance(steps, 300.0)
        elapsed.append(time.perf_counter() - start)
        assert result.steps_done == steps

    benchmark.pedantic(run, rounds=1 if benchmark.disabled else 3, iterations=1)
    v = fleet.out[L.O_V_CELL]
    assert np.all((v > 3.8) & (v < 4.6))  # every cell of the fleet at its operating point
    rate = N_FLEET * steps / min(elapsed)
    ceiling = ceiling_rate(N_FLEET, steps, rounds=1 if benchmark.disabled else 3)
    benchmark.extra_info.update(
        {
            "cells": N_FLEET,
            "steps": steps,
            "slow_every": SLOW_EVERY,
            "cell_steps_per_s": rate,
            "ceiling_cell_steps_per_s": ceiling,
            "fraction_of_ceiling": rate / ceiling,
            **bytes_per_cell(fleet),
        }
    )


def _run_peak_bytes(hours: int) -> tuple[int, int, float]:
    """(peak Python bytes of the run, cell rows, Arrow bytes per cell row) of the 400-cell line for ``hours``."""
    text = (
        f'[scenario]\nname = "bytes"\nplant = "models/plant_single400.toml"\nhorizon_h = {hours}.0\nseed = 1\n'
        f"slow_every = {SLOW_EVERY}\n"
    )
    scenario = scenario_from_text(text, "bytes", base_dir=ROOT)
    tracemalloc.start()
    try:
        results = run_scenario(scenario)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rows = results.cells.num_rows
    assert rows == 400 * hours  # one row per cell and hour
    return peak, rows, results.cells.nbytes / rows


@pytest.mark.benchmark(group="scale")
def test_results_bytes_per_cell_hour(benchmark):
    """What a run's per-cell results cost: the Arrow ``cells`` table per row (cell-hour), and the run's peak
    Python memory per extra cell-hour (the slope between a 2-h and a 6-h run of the 400-cell line: the fixed
    cost of the plant cancels; the recorder keeps each cell-hour as a Python dict until the run ends)."""
    if benchmark.disabled:  # CI: one short run, a smoke test
        benchmark.pedantic(lambda: _run_peak_bytes(1), rounds=1, iterations=1)
        return
    _run_peak_bytes(1)  # one-time allocations (imports, caches) outside the comparison
    runs: dict[int, tuple[int, int, float]] = {}
    benchmark.pedantic(lambda: runs.update({h: _run_peak_bytes(h) for h in (2, 6)}), rounds=1, iterations=1)
    (peak2, rows2, _), (peak4, rows4, table4) = runs[2], runs[6]
    benchmark.extra_info.update(
        {
            "cells": 400,
            "results_table_bytes_per_cell_hour": table4,
            "run_peak_python_bytes_per_cell_hour": (peak4 - peak2) / (rows4 - rows2),
            "run_peak_python_bytes_6h": peak4,
        }
    )
