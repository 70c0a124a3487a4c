"""The replay loop's feedback: what a crossed limit does to the next solve's bounds."""

from __future__ import annotations

import pytest

from twin.optimise.inputs import load_inputs
from twin.optimise.loop import tightened
from twin.optimise.plan import reduced_models
from twin.optimise.problem import line_data
from twin.optimise.replay import Violation

from .conftest import MODELS


@pytest.fixture(scope="module")
def hx_inputs():
    return load_inputs(MODELS / "plant_small_hx.toml")


def test_thin_ledge_raises_margin_lowers_current_ceiling_and_duty_floor(hx_inputs):
    v = Violation("S1", "ledge_min", 1.5, 2.0, 6.0)
    m = tightened({}, (v,), hx_inputs)["S1"]
    disp = hx_inputs.dispatch.potlines[0]
    assert m["ledge_margin_cm"] == pytest.approx(disp["ledge_margin_cm"] + 0.5 + 0.25)
    assert m["current_max_fraction"] == pytest.approx(1.0 + 0.5 * (disp["current_max_fraction"] - 1.0))
    assert "current_min_fraction" not in m
    assert m["duty_min_step"] == 1
    models = reduced_models(hx_inputs, 0.25)
    line = line_data(hx_inputs, models, 0.25, {"S1": m})[0]
    design = models["S1"].D_nom_kW
    assert line.D_min_kW == pytest.approx(design / 2)  # halved toward the design duty from 0
    assert line.D_max_kW == pytest.approx(250.0)
    assert line.I_max_kA == pytest.approx(300.0 * m["current_max_fraction"])
    again = tightened({"S1": m}, (v,), hx_inputs)["S1"]
    assert again["duty_min_step"] == 2
    assert again["ledge_margin_cm"] > m["ledge_margin_cm"]


def test_cold_bath_raises_current_floor_and_lowers_duty_ceiling(hx_inputs):
    m = tightened({}, (Violation("S1", "superheat", 1.2, 2.0, 10.0),), hx_inputs)["S1"]
    assert m["superheat_margin_K"] == pytest.approx(1.0 + 0.8 + 0.5)
    assert m["current_min_fraction"] == pytest.approx(0.9)
    assert m["duty_max_step"] == 1


def test_ae_rate_narrows_both_sides_without_a_duty_change(hx_inputs):
    m = tightened({}, (Violation("S1", "ae_rate", 0.5, 0.3, 48.0),), hx_inputs)["S1"]
    assert m["current_min_fraction"] == pytest.approx(0.9)
    assert m["current_max_fraction"] == pytest.approx(1.05)
    assert "duty_min_step" not in m
    assert "duty_max_step" not in m
