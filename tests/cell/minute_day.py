"""One simulated day of four HAL275 cells from the same start and seed, sampled every minute: the shared run of
the step-size test (tests/cell/test_step_size.py) and the slow_every accuracy benchmark
(benchmarks/test_bench_kernel.py), which compare such days run with different numerics."""

from __future__ import annotations

import numpy as np

from twin.cell import Potline
from twin.cell import layout as L
from twin.params import Technology

MINUTES = 1440
CURRENT_KA = 300.0


def day_by_minute(
    tech: Technology, *, dt_s: float = 1.0, slow_every: int = 60, fixed_feeding: bool = False, noise: bool = True
) -> dict[str, np.ndarray]:
    """Each minute's mean cell voltage ``V`` (V), the bath temperature ``T`` (°C) and dissolved alumina ``Al2O3``
    (wt %) at each minute's end, and the day's ``metal`` (kg), per cell. ``dt_s`` must divide 60 s; with
    ``slow_every`` steps dividing a minute's steps too, each minute's call ends on a whole cadence, so the day is
    the path of one long call."""
    steps_per_minute = round(60.0 / dt_s)
    line = Potline(tech, 4, dt=dt_s, seed=5, slow_every=slow_every, stop_on=())
    if not noise:
        line.silence_noise()
    if fixed_feeding:
        line.set_cells("feed_strategy", slice(None), float(L.FEED_FIXED))
    volt_seconds, temps, alumina = [], [], []
    for _ in range(MINUTES):
        line.advance(steps_per_minute, CURRENT_KA)
        volt_seconds.append(line.acc[L.A_VOLTAGE_SECONDS].copy())
        temps.append(line.state[L.S_TEMP_DEGC].copy())
        alumina.append(line.out[L.O_ALUMINA_WTPCT].copy())
    volts = np.diff(np.array(volt_seconds), axis=0, prepend=0.0) / 60.0
    return {"V": volts, "T": np.array(temps), "Al2O3": np.array(alumina), "metal": line.acc[L.A_AL_PRODUCED_KG].copy()}
