"""The live twin forecasts at most ``LiveConfig.max_catch_up_s`` of model time in one call, whatever the
timestamps: a first sample stamped 1970 made ``tick()`` forecast every 30-s window from 1970 to now (56 years:
it never returned and held the twin's lock, so ingest stopped too), and sparse old timestamps or a long telemetry
outage made one call forecast hours. Within the bound every window is still forecast."""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pytest
from tests.live.conftest import GROUP

from twin.live import LiveConfig, LiveTwin
from twin.params import Technology
from twin.telemetry import Quality, Sample


def _sample(ts_ms: int, metric: str, value: float, device: str = "pot_001") -> Sample:
    return Sample(ts_ms, GROUP, "gw01", device, metric, value, Quality.GOOD, False)


def _pair(ts_ms: int, volts: float = 4.2) -> list[Sample]:
    return [_sample(ts_ms, "line_current_kA", 300.0), _sample(ts_ms, "cell_voltage_V", volts)]


def _windows_due(start_s: float, now_s: float, cfg: LiveConfig) -> int:
    """Windows a catch-up from window ``start_s`` to ``now_s`` processes (those ending lateness_s before now)."""
    return math.floor((now_s - cfg.lateness_s - start_s) / cfg.window_s)


def test_a_first_sample_stamped_1970_does_not_make_tick_forecast_56_years(
    tech: Technology, caplog: pytest.LogCaptureFixture
) -> None:
    now_ms = int(time.time() * 1000)
    cfg = LiveConfig()
    twin = LiveTwin(tech, {GROUP: 2}, cfg, epoch_ms=now_ms)
    twin.accept([_sample(0, "cell_voltage_V", 4.2)])  # 1970-01-01, model time -1.8e9 s
    with caplog.at_level(logging.WARNING, logger="twin.live.line"):
        twin.tick(now_ms=now_ms + 60_000)
    tracker = twin.tracker(GROUP)
    assert tracker.catch_ups_skipped == 1
    assert tracker.late == 1  # the 1970 sample was left behind
    bound = math.ceil(cfg.max_catch_up_s / cfg.window_s) + 1
    assert 0 < tracker.windows <= bound
    assert tracker.window_start + tracker.window_s + cfg.lateness_s > 60.0  # caught up to the clock
    assert tracker.skipped_s > 1.7e9
    assert "max_catch_up_s = 900 s" in caplog.text
    assert "potline 1" in caplog.text


def test_sparse_old_timestamps_in_one_batch_cost_at_most_the_bound(tech: Technology) -> None:
    """Ten days of samples 15 min apart in one message: one jump, then at most max_catch_up_s of forecast."""
    cfg = LiveConfig()
    twin = LiveTwin(tech, {GROUP: 1}, cfg)
    batch = [s for k in range(960) for s in _pair(k * 900_000)]
    twin.accept(batch)
    tracker = twin.tracker(GROUP)
    newest_s = 959 * 900.0
    assert tracker.catch_ups_skipped == 1
    assert tracker.windows <= math.ceil(cfg.max_catch_up_s / cfg.window_s) + 1
    assert tracker.late >= 2 * 958  # every pair older than the bound
    assert tracker.window_start <= newest_s < tracker.window_start + 2 * cfg.window_s + cfg.lateness_s


def test_an_outage_within_the_bound_is_forecast_window_by_window(tech: Technology) -> None:
    cfg = LiveConfig()
    twin = LiveTwin(tech, {GROUP: 1}, cfg)
    for k in range(1, 13):  # one minute of telemetry
        twin.accept(_pair(k * 5_000))
    tracker = twin.tracker(GROUP)
    start, windows = tracker.window_start, tracker.windows
    outage_end_s = 60.0 + 0.9 * cfg.max_catch_up_s
    twin.accept(_pair(int(outage_end_s * 1000)))
    assert tracker.catch_ups_skipped == 0
    assert tracker.windows - windows == _windows_due(start, outage_end_s, cfg)


def test_after_a_long_outage_the_filter_jumps_and_assimilates_again(tech: Technology) -> None:
    cfg = LiveConfig()
    twin = LiveTwin(tech, {GROUP: 2}, cfg)
    for k in range(1, 121):  # ten minutes of telemetry for both pots
        twin.accept([*_pair(k * 5000), _sample(k * 5000, "cell_voltage_V", 4.25, device="pot_002")])
    tracker = twin.tracker(GROUP)
    analyses = tracker.analyses
    back_ms = (600 + 2 * 3600) * 1000  # two hours without telemetry
    for k in range(60):
        ts = back_ms + k * 5_000
        twin.accept([*_pair(ts), _sample(ts, "cell_voltage_V", 4.25, device="pot_002")])
    assert tracker.catch_ups_skipped == 1
    assert tracker.skipped_s == pytest.approx(2 * 3600 - cfg.max_catch_up_s, abs=2 * cfg.window_s)
    assert tracker.analyses > analyses  # the filter runs on the new telemetry
    mean, std = twin.estimates(GROUP)["alumina_wtpct"]
    assert np.all(np.isfinite(mean))
    assert np.all(np.isfinite(std))
