"""The reduced potline model identified from the twin's own cells, and its error on runs not used for fitting."""

from __future__ import annotations

import numpy as np
import pytest

from twin.optimise.identify import identify
from twin.params import load_technology

from .conftest import MODELS


@pytest.fixture(scope="module")
def hal275():
    return identify(load_technology(MODELS / "hal275.toml"), duty_capacity_kW=0.0, current_range_kA=(285.0, 315.0))


@pytest.fixture(scope="module")
def hal275_hx():
    return identify(load_technology(MODELS / "hal275_hx.toml"), duty_capacity_kW=250.0,
                    current_range_kA=(240.0, 330.0))


def test_signs_follow_the_heat_balance(hal275, hal275_hx):
    for m in (hal275, hal275_hx):
        assert 0.9 < m.a_x < 1.0  # the ledge relaxes over hours (physics.md §4: 63 % in ~10 h)
        assert m.bI_x < 0  # more current, more heat, a thinner ledge
        assert m.sx < 0  # a thicker ledge goes with a colder, less superheated bath
        assert 1.4 < m.e_V < 3.0
        assert m.r_V > 0
        assert 4.1 < m.e_V + m.r_V * 300 < 4.3  # the regulated 4.2 V at nominal
    assert hal275_hx.bD_x > 0  # more exchanger duty, a thicker ledge
    assert hal275.bD_x == 0.0  # no exchanger, no duty term


def test_held_out_error(hal275, hal275_hx):
    """Open-loop error over 36 h on the two runs not used for fitting, against what the twin itself did.

    The conventional cell within ±5 % is close to linear; the exchanger cell over 80-110 % and 0-250 kW is not
    (its superheat least of all), so only its ledge and power are held to a bound here: the replay loop, not
    the reduced model, is what keeps its schedules inside the limits (test_replay.py)."""
    for m, ledge_rmse, power_pct in ((hal275, 0.25, 1.5), (hal275_hx, 1.0, 4.0)):
        assert set(m.errors) == {"random_steps", "time_of_use_day"}
        for err in m.errors.values():
            assert err["ledge_cm_rmse"] < ledge_rmse
            assert err["ledge_cm_rmse"] < 0.3 * err["ledge_cm_range"]
            assert err["power_rmse_pct"] < power_pct
            assert np.isfinite(err["superheat_K_rmse"])
    for err in hal275.errors.values():
        assert err["superheat_K_rmse"] < 1.0
        assert err["temp_degC_rmse"] < 0.2 * err["temp_degC_range"]


def test_simulate_is_the_fitted_recursion(hal275):
    current = np.array([300.0, 290.0, 290.0, 310.0])
    sim = hal275.simulate(current, np.zeros(4))
    x = 0.0
    for k, i in enumerate(current):
        x = hal275.a_x * x + hal275.bI_x * (i - 300.0)
        assert sim["x"][k] == pytest.approx(x)
    assert sim["ledge_cm"] == pytest.approx(hal275.ledge0_cm + sim["x"])
