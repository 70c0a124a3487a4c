"""One corrupt reading costs only itself: a value outside the signal's plausible range (twin.live.line.PLAUSIBLE)
or a feed-counter jump beyond what the feeders can deliver is refused and counted, and the twin's estimates are
exactly those of the same telemetry without it. Before, one cell voltage of ±1e300, a bath temperature of
-1e300 or a feed-count jump of 10^6 made that cell's ensemble NaN for good, and a bath temperature of 1e300
pulled its estimate 45 K up."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from tests.live.conftest import GROUP, run_plant

from twin.live import LiveTwin
from twin.live.line import PLAUSIBLE
from twin.params import Technology
from twin.telemetry import Quality, Sample

STEPS = 240  # 20 minutes of 5-s samples
BAD_AT = 121


def _sample(ts_ms: int, metric: str, value: float, device: str = "pot_001") -> Sample:
    return Sample(ts_ms, GROUP, "gw01", device, metric, value, Quality.GOOD, False)


def _stream(k: int, feed_count: float) -> list[Sample]:
    ts = k * 5_000
    return [
        _sample(ts, "line_current_kA", 300.0 + 0.1 * math.sin(k)),
        _sample(ts, "cell_voltage_V", 4.2 + 2e-3 * math.sin(0.7 * k)),
        _sample(ts, "cell_voltage_V", 4.25 + 2e-3 * math.cos(0.9 * k), device="pot_002"),
        _sample(ts, "feed_count", feed_count),
        _sample(ts, "feed_count", 50 + k // 14, device="pot_002"),
    ]


def _run(tech: Technology, extra: dict[int, list[Sample]] | None = None, counts=lambda k: 100 + k // 14) -> LiveTwin:
    twin = LiveTwin(tech, {GROUP: 2})
    for k in range(1, STEPS):
        twin.accept(_stream(k, counts(k)))
        if extra and k in extra:
            twin.accept(extra[k])
    return twin


def _same_estimates(a: LiveTwin, b: LiveTwin) -> bool:
    ea, eb = a.estimates(GROUP), b.estimates(GROUP)
    return all(np.array_equal(ea[k][0], eb[k][0]) and np.array_equal(ea[k][1], eb[k][1]) for k in ea)


@pytest.fixture(scope="module")
def clean(tech: Technology) -> LiveTwin:
    return _run(tech)


BAD = [
    ("cell_voltage_V", 1e300), ("cell_voltage_V", -1e300), ("cell_voltage_V", math.inf), ("cell_voltage_V", 61.0),
    ("line_current_kA", 1e300), ("line_current_kA", -50.0), ("bath_temp_degC", 1e300), ("bath_temp_degC", -1e300),
    ("bath_temp_degC", 25.0), ("pseudo_resistance_uohm", 1e300), ("metal_height_cm", -1e300),
    ("feed_count", -1.0), ("beam_count", 1e18), ("anode_effect", 1e300), ("cell_voltage_V", math.nan),
]


@pytest.mark.parametrize(("metric", "value"), BAD)
def test_an_implausible_reading_is_refused_and_costs_only_itself(
    tech: Technology, clean: LiveTwin, metric: str, value: float, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="twin.live.line"):
        twin = _run(tech, {BAD_AT: [_sample(BAD_AT * 5_000 + 1, metric, value)]})
    assert twin.counters["implausible"] == 1
    assert twin.counters["accepted"] == clean.counters["accepted"]
    assert _same_estimates(twin, clean)
    low, high = PLAUSIBLE[metric]
    assert f"pot 1 {metric} = " in caplog.text
    assert f"(expected {low:g} to {high:g})" in caplog.text


@pytest.mark.parametrize(
    ("metric", "value"),
    [("cell_voltage_V", 35.0), ("cell_voltage_V", 0.0), ("line_current_kA", 0.0), ("bath_temp_degC", 962.0),
     ("metal_height_cm", 20.0), ("pseudo_resistance_uohm", 95.0), ("anode_effect", 1.0)],
)
def test_readings_a_working_potline_has_are_taken(
    tech: Technology, clean: LiveTwin, metric: str, value: float
) -> None:
    """An anode effect's 35 V, a cut-out pot's 0 V, an outage's 0 kA, a dip at 962 °C, a 20-cm metal pad."""
    twin = _run(tech, {BAD_AT: [_sample(BAD_AT * 5_000 + 1, metric, value)]})
    assert twin.counters["implausible"] == 0
    assert twin.counters["accepted"] == clean.counters["accepted"] + 1


@pytest.mark.parametrize("jump", [1e6, 1e15, 500.0])
def test_a_feed_counter_glitch_is_a_re_baseline(tech: Technology, jump: float) -> None:
    """A jump beyond what the feeders can deliver gives exactly the estimates of a counter reset (a PLC restart
    from zero) at the same sample: nothing fed, the increments after it fed as before."""
    base = lambda k: 100 + k // 14  # noqa: E731
    glitch = _run(tech, counts=lambda k: base(k) + (jump if k >= BAD_AT else 0))
    reset = _run(tech, counts=lambda k: base(k) - (base(BAD_AT) if k >= BAD_AT else 0))
    assert glitch.tracker(GROUP).counter_glitches == 1
    assert reset.tracker(GROUP).counter_glitches == 0
    assert _same_estimates(glitch, reset)
    for k, (mean, std) in glitch.estimates(GROUP).items():
        assert np.all(np.isfinite(mean)), k
        assert np.all(np.isfinite(std)), k


def test_a_few_shots_more_are_fed_not_taken_as_a_glitch(tech: Technology) -> None:
    """Three shots more than the steady count within one window is within the feeders' reach: fed."""
    base = lambda k: 100 + k // 14  # noqa: E731
    extra = _run(tech, counts=lambda k: base(k) + (3 if k >= BAD_AT else 0))
    reset = _run(tech, counts=lambda k: base(k) - (base(BAD_AT) if k >= BAD_AT else 0))
    assert extra.tracker(GROUP).counter_glitches == 0
    assert extra.estimates(GROUP)["undissolved_kg"][0][0] > reset.estimates(GROUP)["undissolved_kg"][0][0]


def test_a_simulated_plant_trips_neither_check(tech: Technology) -> None:
    """Two hours of the model plant's own telemetry (its feed control, noise and anode effects): no reading is
    implausible and no feed-count step is a glitch."""
    run = run_plant(tech, n_cells=6, hours=2.0, seed=4)
    assert run.twin.counters["implausible"] == 0
    assert run.twin.tracker(GROUP).counter_glitches == 0
    assert run.twin.counters["accepted"] > 0


@pytest.mark.parametrize("value", [10**400, "4.2 V", b"\x00", None, [4.2]])
def test_a_value_that_is_not_a_number_costs_only_itself(tech: Technology, value: object) -> None:
    """An integer beyond a float (OverflowError), text, bytes, a list: ignored; the good reading beside it taken."""
    twin = LiveTwin(tech, {GROUP: 1})
    bad = Sample(1_000, GROUP, "gw01", "pot_001", "cell_voltage_V", value, Quality.GOOD, False)  # type: ignore[arg-type]
    twin.accept([bad, _sample(1_000, "cell_voltage_V", 4.2)])
    assert twin.counters["accepted"] == 1
    assert twin.counters["ignored"] + twin.counters["stale"] == 1
    assert twin.tracker(GROUP).latest[0]["cell_voltage_V"] == 4.2
