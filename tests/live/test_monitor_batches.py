"""The live twin's per-window work done for all cells at once gives what it gives cell by cell.

* ``noise_ratios`` (every cell's noise test, each window) against a plain-Python reference of the formula in
  ``CellMonitor.noise_ratio``'s docstring (second differences, median and 1.4826·MAD, 4-σ inliers, the
  first-order-noise expectation), on cells with beam-move steps, constant readings, a gap in the sampling,
  readings not yet full, and a mix of sampling periods;
* ``PotlineTracker.cell_of`` (every sample) against ``twin.telemetry.cell_address``, and the memory it keeps
  bounded however many device names a client makes up.
"""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

from twin.live import LiveConfig
from twin.live.alarms import AlarmBook, AlarmConfig, CellMonitor, noise_ratios
from twin.live.line import PotlineTracker
from twin.telemetry import cell_address

NOISE_V, TAU_S, SENSOR_V = 0.02, 30.0, 0.004


def reference_noise_ratio(readings: list[tuple[float, float]], full: int) -> float:
    if len(readings) < full:
        return math.nan
    t = [r[0] for r in readings]
    v = [r[1] for r in readings]
    d2 = [v[k + 1] - 2.0 * v[k] + v[k - 1] for k in range(1, len(v) - 1)]
    step = statistics.median(b - a for a, b in itertools.pairwise(t))
    if not step > 0:
        return math.nan
    centre = statistics.median(d2)
    sigma = 1.4826 * statistics.median(abs(x - centre) for x in d2)
    inliers = [x for x in d2 if abs(x - centre) <= 4.0 * sigma] if sigma > 0 else d2
    rho = math.exp(-step / TAU_S)
    expected = NOISE_V**2 * (6.0 - 8.0 * rho + 2.0 * rho**2) + 6.0 * SENSOR_V**2
    return statistics.fmean((x - centre) ** 2 for x in inliers) / expected


def _monitor(cfg: AlarmConfig, readings) -> CellMonitor:
    monitor = CellMonitor(cfg)
    monitor.readings.extend(readings)
    return monitor


def _cells(cfg: AlarmConfig) -> list[list[tuple[float, float]]]:
    rng = np.random.default_rng(4)
    n = cfg.noise_readings
    t5 = 5.0 * np.arange(n)
    noisy = 4.2 + NOISE_V * rng.standard_normal(n)
    stepped = noisy.copy()
    stepped[n // 2 :] += 0.15  # a beam move: second differences with two large outliers
    gap = t5.copy()
    gap[20:] += 300.0  # a 5-min gap in the readings (a gateway outage)
    return [
        list(zip(t5, noisy, strict=True)),
        list(zip(t5, stepped, strict=True)),
        list(zip(t5, np.full(n, 4.25), strict=True)),  # constant: MAD 0, every second difference kept
        list(zip(gap, 4.3 + 3 * NOISE_V * rng.standard_normal(n), strict=True)),  # noisier, with a gap
        list(zip(2.0 * np.arange(n), noisy[::-1], strict=True)),  # another sampling period
        list(zip(t5[:40], noisy[:40], strict=True)),  # not full yet
        [],
    ]


def test_noise_ratios_of_many_cells_equal_the_per_cell_formula() -> None:
    cfg = AlarmConfig()
    cells = _cells(cfg)
    monitors = [_monitor(cfg, r) for r in cells]
    ratios = noise_ratios(monitors, NOISE_V, TAU_S, SENSOR_V)
    expected = [reference_noise_ratio(r, cfg.noise_readings) for r in cells]
    np.testing.assert_allclose(ratios, expected, rtol=1e-12, equal_nan=True)
    assert np.isfinite(ratios[:5]).all()
    assert np.isnan(ratios[5:]).all()
    assert 6.0 < ratios[3] / ratios[0] < 14.0  # three times the (white) noise: about nine times the variance
    # one cell alone (what CellMonitor.noise_ratio asks) gives the value it gets among the others
    for monitor, ratio in zip(monitors, ratios, strict=True):
        alone = monitor.noise_ratio(NOISE_V, TAU_S, SENSOR_V)
        assert alone == ratio or (math.isnan(alone) and math.isnan(ratio))


def test_noise_ratios_of_cells_with_different_reading_counts() -> None:
    """Monitors of two configurations (30 and 60 readings) in one call: each against its own count."""
    short, long_ = AlarmConfig(noise_readings=30), AlarmConfig()
    rng = np.random.default_rng(9)
    series = [list(zip(5.0 * np.arange(n), 4.2 + NOISE_V * rng.standard_normal(n), strict=True)) for n in (30, 60)]
    monitors = [_monitor(short, series[0]), _monitor(long_, series[1])]
    ratios = noise_ratios(monitors, NOISE_V, TAU_S, SENSOR_V)
    np.testing.assert_allclose(ratios, [reference_noise_ratio(series[0], 30), reference_noise_ratio(series[1], 60)],
                               rtol=1e-12)


def _tracker(tech, n_cells: int = 12) -> PotlineTracker:
    return PotlineTracker("potline1", "P1", tech, n_cells, LiveConfig(), AlarmBook(), lambda t: None)


@pytest.mark.parametrize("device", ["pot_001", "pot_1", "pot_012", "pot_12", "pot_000012", "pot_0", "pot_13",
                                    "pot_1234567", "pot_x", "gw01", "", "POT_003", " pot_003", None])
def test_cell_of_follows_the_naming_convention(tech, device) -> None:
    tracker = _tracker(tech)
    number = cell_address("potline1", device, "cell_voltage_V").cell
    expected = number - 1 if number is not None and 1 <= number <= 12 else None
    assert tracker.cell_of(device) == expected
    assert tracker.cell_of(device) == expected  # and again, from the memory


def test_device_names_a_client_makes_up_do_not_grow_the_memory(tech) -> None:
    tracker = _tracker(tech)
    for k in range(20_000):  # out of range, malformed, or valid
        tracker.cell_of(f"pot_{k}")
        tracker.cell_of(f"pot_{k:03d}")
        tracker.cell_of(f"pot_{k:06d}")
        tracker.cell_of(f"node-{k}")
    # only valid names are kept, one per cell: pot_001 … pot_012 (pot_1 and pot_000001 name no cell)
    assert sorted(tracker._cells_by_device) == [f"pot_{k:03d}" for k in range(1, 13)]
