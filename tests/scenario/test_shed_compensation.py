"""A supply shed is compensated by the potroom as a curtailment is (twin.plant.control.hold_heat_through_shed).

The reference plant (2 × 352 HAL275 cells; scenarios/unit_trip.toml, shortened) runs on one coal unit and the
300-MW tie when a second unit trips for 8 h: the dispatch sheds ~20 % of the line current. Physics.md §1.10 [C]:
without exchangers a sustained change of the line current beyond ~±5 % must be offset by the voltage to hold the
heat balance. So the same run with the shed's compensation on and off (``[potroom] shed_compensation``) must
differ as a potroom's would: the targets raised during the shed and back afterwards, the pots' heat held better
(a warmer bath at the end of the shed), the same kind of shed.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.scenario.conftest import run_text

UNIT_TRIP = """[scenario]
name = "unit_trip_short"
plant = "../../models/plant_reference.toml"
horizon_h = 20.0
seed = 42
{extra}
[[event]]
kind = "unit_trip"
at_h = 0.0
duration_h = 20.0
unit = "G3"

[[event]]
kind = "unit_trip"
at_h = 4.0
duration_h = 8.0
unit = "G1"
"""
OFF = "[potroom]\nshed_compensation = false\n"
BEFORE_H, DURING_H, END_H, AFTER_H = 3.9, 9.0, 11.9, 19.9


def _series(results) -> dict[str, np.ndarray]:
    return {name: np.asarray(values) for name, values in results.timeseries.to_pydict().items()}


def _at(ts: dict[str, np.ndarray], name: str, hour: float) -> float:
    return float(ts[name][int(np.argmin(np.abs(ts["time_h"] - hour)))])


@pytest.fixture(scope="module")
def runs() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    on = _series(run_text(UNIT_TRIP.format(extra="")))
    off = _series(run_text(UNIT_TRIP.format(extra=OFF)))
    return on, off


def test_the_trip_sheds_the_line_in_both_runs(runs) -> None:
    for ts in runs:
        before, during = _at(ts, "P1_current_kA", BEFORE_H), _at(ts, "P1_current_kA", DURING_H)
        assert during < 0.9 * before  # well outside the ±5 % a ledge absorbs


def test_the_targets_rise_during_the_shed_and_come_back_after_it(runs) -> None:
    on, off = runs
    before = _at(on, "P1_target_voltage_mean_V", BEFORE_H)
    assert _at(on, "P1_target_voltage_mean_V", DURING_H) > before + 0.1  # raised: the shed is tens of per cent
    # without the compensation only the daily loop's few-mV steps move them
    assert _at(off, "P1_target_voltage_mean_V", DURING_H) == pytest.approx(
        _at(off, "P1_target_voltage_mean_V", BEFORE_H), abs=0.03
    )
    # the shed over and the current back: the kept targets are restored (the daily loop may have moved them by
    # its few-mV steps since)
    assert abs(_at(on, "P1_current_kA", AFTER_H) - _at(on, "P1_current_kA", BEFORE_H)) < 1.0
    assert _at(on, "P1_target_voltage_mean_V", AFTER_H) == pytest.approx(before, abs=0.03)


def test_the_compensated_pots_keep_more_of_their_heat(runs) -> None:
    on, off = runs
    start = _at(on, "P1_bath_temp_mean_degC", BEFORE_H)
    assert start == pytest.approx(_at(off, "P1_bath_temp_mean_degC", BEFORE_H), abs=1e-9)  # the same run until the trip
    cooled_on = start - _at(on, "P1_bath_temp_mean_degC", END_H)
    cooled_off = start - _at(off, "P1_bath_temp_mean_degC", END_H)
    assert cooled_off > 0.0
    assert cooled_on < 0.75 * cooled_off
