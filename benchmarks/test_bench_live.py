"""Live-twin speed: a 400-cell potline's telemetry (5-s samples, 10 plant minutes) through LiveTwin, against the
ensemble forecast alone (the kernel advancing 400 × 32 members over the same span) in the same run.

Figures go to ``benchmark.extra_info``; nothing here asserts a time: the assertions only check the work was done.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from twin.cell import Potline
from twin.live import LiveTwin, PlantSource
from twin.params import load_technology

ROOT = Path(__file__).resolve().parents[1]
CELLS = 400
SPAN_S = 600
PERIOD_S = 5.0


@pytest.fixture(scope="module")
def batches():
    tech = load_technology(ROOT / "models/hal275.toml")
    src = PlantSource(tech, CELLS, seed=1)
    out = []
    t = 0.0
    while t < SPAN_S + 60:
        t += PERIOD_S
        src.advance_to(t)
        out.append(src.samples(group="potline1", node="gw01", timestamp_ms=round(t * 1000)))
    return tech, out


@pytest.fixture(scope="module")
def forecast_only_s(batches) -> float:
    tech, _ = batches
    line = Potline(tech, CELLS * 32, stop_on=())
    line.advance(30, 300.0)  # compile / load from cache outside the timing
    start = time.perf_counter()
    for _ in range(SPAN_S // 30):
        line.advance(30, 300.0)
    return time.perf_counter() - start


@pytest.mark.benchmark(group="live")
def test_live_twin_400_cells(benchmark, batches, forecast_only_s):
    tech, data = batches

    def run():
        twin = LiveTwin(tech, {"potline1": CELLS})
        for batch in data:
            twin.accept(batch)
        return twin

    twin = benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=0)
    windows = twin.tracker("potline1").windows
    assert windows >= SPAN_S // 30
    wall = benchmark.stats.stats.mean if benchmark.stats else float("nan")
    samples = sum(len(b) for b in data)
    benchmark.extra_info.update({
        "cells": CELLS, "members": 32, "windows": windows, "samples": samples,
        "ms_per_window": 1000.0 * wall / windows, "real_time_factor": windows * 30.0 / wall,
        "samples_per_s": samples / wall, "forecast_only_ms_per_window": 1000.0 * forecast_only_s / (SPAN_S // 30),
    })
