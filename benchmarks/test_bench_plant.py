"""Plant-level speed (issue 3): one simulated day of a 400-cell potline at 1 s steps with plant events,
against the bare kernel in the same run; and a 64-scenario sweep on 1 and 2 worker processes.

Figures go to ``benchmark.extra_info``; they are recorded in benchmarks/README.md. Nothing here asserts a
time: the only assertions check that the runs did their work.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from twin.cell import Potline
from twin.params import load_plant
from twin.scenario import scenario_from_text
from twin.scenario.runner import build_plant
from twin.scenario.sweep import Sweep, Variant, run_sweep

ROOT = Path(__file__).resolve().parents[1]
DAY_S = 86400
SLOW_EVERY = 60


def _day_scenario():
    text = ('[scenario]\nname = "bench-day"\nplant = "models/plant_single400.toml"\nhorizon_h = 24.0\nseed = 1\n'
            f"slow_every = {SLOW_EVERY}\n")
    return scenario_from_text(text, "bench-day", base_dir=ROOT)


@pytest.fixture(scope="module")
def kernel_day_s() -> float:
    """The bare kernel: the same 400 cells, one day in one call, same slow-term cadence."""
    tech = load_plant(ROOT / "models/plant_single400.toml").potlines[0].technology
    line = Potline(tech, 400, slow_every=SLOW_EVERY, stop_on=())
    line.advance(60, 300.0)  # compile / load from cache outside the timing
    start = time.perf_counter()
    line.advance(DAY_S, 300.0)
    return time.perf_counter() - start


@pytest.mark.benchmark(group="plant")
def test_potline_day_with_plant_events(benchmark, kernel_day_s):
    def run():
        plant = build_plant(_day_scenario())
        plant.env.run(until=DAY_S)
        plant.close_interval()  # brings the cells to the horizon (lazy sync)
        return plant

    plant = benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    line = plant.lines[0]
    assert line.potline.time_s == pytest.approx(DAY_S, abs=1)
    assert line.taps > 300
    assert line.anode_changes > 400
    wall = benchmark.stats.stats.mean if benchmark.stats else float("nan")
    benchmark.extra_info.update({
        "cells": 400, "dt_s": 1.0, "slow_every": SLOW_EVERY, "kernel_only_s": kernel_day_s,
        "plant_day_s": wall, "real_time_factor": DAY_S / wall,
        "simpy_and_event_overhead_pct": 100.0 * (wall - kernel_day_s) / kernel_day_s,
        "plant_events": line.taps + line.anode_changes + len(plant.records),
    })


def _sweep(n: int) -> Sweep:
    variants = []
    for k in range(n):
        doc = {"scenario": {"name": f"v{k}", "plant": "models/plant_small.toml", "horizon_h": 48.0, "seed": k}}
        variants.append(Variant(k, {"scenario.seed": k}, doc))
    return Sweep("bench", "bench-sweep", ROOT, tuple(variants))


@pytest.mark.benchmark(group="sweep")
@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_of_64_scenarios(benchmark, workers):
    sweep = _sweep(64)
    table = benchmark.pedantic(lambda: run_sweep(sweep, workers=workers), rounds=1, iterations=1)
    assert table.num_rows == 64
    benchmark.extra_info.update({"workers": workers, "scenarios": 64,
                                 "scenarios_per_s": 64 / benchmark.stats.stats.mean if benchmark.stats else None})
