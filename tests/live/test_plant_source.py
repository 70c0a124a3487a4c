"""The plant-backed PLC source: the signals the simulated PLCs expect, its clock, noise and faults."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import SimulationError
from twin.live import PlantSource
from twin.params import Technology
from twin_edge.simplc import POT_LAYOUT


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_read_follows_the_clock_at_the_given_speed(tech: Technology) -> None:
    clock = FakeClock()
    src = PlantSource(tech, 3, speed=60.0, clock=clock, seed=1)
    clock.now += 10.0
    values = src.read(0)
    assert src.time_s == pytest.approx(600.0)
    assert set(values) == {s.name for s in POT_LAYOUT}
    assert 3.5 < values["cell_voltage_V"] < 5.0
    assert values["line_current_kA"] == pytest.approx(300.0, abs=0.5)
    r = (values["cell_voltage_V"] - 1.65) / (values["line_current_kA"] * 1e3) * 1e6
    assert values["pseudo_resistance_uohm"] == pytest.approx(r)
    assert values["feed_count"] > 0  # 10 plant minutes: a shot every ~70 s


def test_counters_never_decrease_and_plant_never_runs_backwards(tech: Technology) -> None:
    src = PlantSource(tech, 2, seed=2)
    src.advance_to(1800)
    first = src.measure_all()
    src.advance_to(900)  # backwards: ignored
    assert src.time_s == pytest.approx(1800)
    src.advance_to(3600)
    second = src.measure_all()
    for a, b in zip(first, second, strict=True):
        assert b["feed_count"] >= a["feed_count"]
        assert b["beam_count"] >= a["beam_count"]


def test_bath_temperature_is_a_sparse_dip_sample(tech: Technology) -> None:
    src = PlantSource(tech, 1, seed=3, bath_temp_period_s=3600.0)
    src.advance_to(60)
    a = src.measure_all()[0]["bath_temp_degC"]
    src.advance_to(1800)
    assert src.measure_all()[0]["bath_temp_degC"] == a  # held between dips
    src.advance_to(3700)
    b = src.measure_all()[0]["bath_temp_degC"]
    assert b != a
    assert abs(b - src.truth()["temperature_degC"][0]) < 5.0  # a noisy sample of the true temperature


def test_sensor_faults(tech: Technology) -> None:
    src = PlantSource(tech, 2, seed=4)
    src.advance_to(60)
    src.sensor_fault(0, "stuck")
    held = src.measure_all()[0]["cell_voltage_V"]
    src.advance_to(600)
    assert src.measure_all()[0]["cell_voltage_V"] == held
    src.sensor_fault(1, "bias", bias_V=0.5)
    readings = [src.measure_all()[1]["cell_voltage_V"] - src.truth()["v_cell"][1] for _ in range(50)]
    assert np.mean(readings) == pytest.approx(0.5, abs=0.01)
    src.clear_faults(0)
    src.advance_to(700)
    assert src.measure_all()[0]["cell_voltage_V"] != held


def test_stuck_feeder_starves_the_cell_while_the_counter_runs(tech: Technology) -> None:
    src = PlantSource(tech, 2, seed=5, warmup_s=3000)
    src.stick_feeder(0)
    before = src.measure_all()
    src.advance_to(900)
    after = src.measure_all()
    truth = src.truth()
    assert truth["feed_efficiency"].tolist() == [0.0, 1.0]
    assert after[0]["feed_count"] > before[0]["feed_count"]  # the controller still commands shots
    assert truth["alumina_wtpct"][0] < truth["alumina_wtpct"][1]


def test_anode_problem_raises_voltage_noise(tech: Technology) -> None:
    src = PlantSource(tech, 2, seed=6, sensor_noise=False)
    src.anode_problem(1, noise_gain=5.0)
    v = []
    for t in range(30, 3600, 30):
        src.advance_to(t)
        v.append(src.truth()["v_cell"])
    d = np.diff(np.asarray(v), axis=0).std(axis=0)
    assert d[1] > 3 * d[0]


def test_line_current_profile(tech: Technology) -> None:
    src = PlantSource(tech, 1, seed=7, sensor_noise=False, line_current_kA=lambda t: 300.0 if t < 600 else 270.0)
    src.advance_to(300)
    assert src.measure_all()[0]["line_current_kA"] == pytest.approx(300.0)
    src.advance_to(900)
    assert src.measure_all()[0]["line_current_kA"] == pytest.approx(270.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.stick_feeder(5), "pot_index"),
        (lambda s: s.sensor_fault(0, "drift"), "mode"),
        (lambda s: s.anode_problem(-1), "pot_index"),
    ],
)
def test_bad_fault_requests_are_refused(tech: Technology, call, message: str) -> None:
    src = PlantSource(tech, 2)
    with pytest.raises(SimulationError, match=message):
        call(src)


def test_bad_speed_is_refused(tech: Technology) -> None:
    with pytest.raises(SimulationError, match="speed"):
        PlantSource(tech, 1, speed=0.0)
