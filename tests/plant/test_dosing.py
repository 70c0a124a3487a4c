"""A visit's AlF3 and crushed bath go into the pot over the day, not in one charge (twin.plant.dosing).

Found in the baseline golden run (docs/validation.md, 2026-12-06): the daily visit put the day's ≈ 50 kg of AlF3
and up to a few hundred kg of crushed bath into a pot at once, and its liquids paid their heat at that instant:
≈ 12 K within one 5-min interval. Point-fed pots dose AlF3 through their feeder (Dupuis, GéniSim 2006: the
deficit is an hourly rate fed to the cell) and crushed bath goes in with the anode cover.

* The queue's arithmetic, by hand: an order is fed at order/spread per second, never past what was ordered; an
  order on top of a pending one spreads the sum anew; a spread of 0 feeds at once; a withdrawal takes only
  what is pending.
* On the small plant over two days, the same plant file with ``addition_spread_h`` 0 and 24: with one charge a
  pot falls ≥ 8 K within 15 minutes (the finding); spread over the day, no pot falls half as much. The
  potroom orders the same AlF3 either way (within 5 %): the spread changes when it goes in, not how much.
* Nothing is lost or made: every kg ordered is either in the pots (the line's totals) or pending, to
  round-off; an outage stops the feeding and it resumes with the current.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from twin.plant.dosing import Dosing
from twin.scenario import scenario_from_text
from twin.scenario.runner import build_plant

HOUR_S = 3600.0
MODELS = Path(__file__).resolve().parents[2] / "models"


def test_an_order_is_fed_at_its_rate_and_never_past_it():
    dosing = Dosing(4, spread_s=100.0)
    assert dosing.order(2, 50.0) == 0.0  # nothing at once
    cells, kg = dosing.take(20.0)
    assert cells.tolist() == [2]
    assert kg.tolist() == [10.0]
    assert dosing.pending(2) == 40.0
    dosing.order(2, 10.0)  # 50 kg pending again, spread anew: 0.5 kg/s
    cells, kg = dosing.take(60.0)
    assert kg.tolist() == [30.0]
    cells, kg = dosing.take(1000.0)
    assert kg.tolist() == [20.0]
    assert dosing.pending(2) == 0.0
    assert dosing.take(1000.0)[0].size == 0
    assert dosing.ordered_kg.tolist() == [0.0, 0.0, 60.0, 0.0]


def test_a_spread_of_zero_feeds_at_once_and_a_withdrawal_takes_only_what_is_pending():
    at_once = Dosing(2, spread_s=0.0)
    assert at_once.order(1, 7.5) == 7.5
    assert at_once.pending(1) == 0.0
    assert at_once.take(10.0)[0].size == 0
    dosing = Dosing(2, spread_s=10.0)
    dosing.order(0, 50.0)
    assert dosing.cancel(0, 30.0) == 30.0
    assert dosing.pending(0) == 20.0
    assert dosing.cancel(0, 100.0) == 20.0
    assert dosing.pending(0) == 0.0
    assert dosing.ordered_kg[0] == 0.0
    with pytest.raises(ValueError, match="spread_s"):
        Dosing(1, spread_s=-1.0)


def _plant(tmp_path: Path, spread_h: float, events: str = ""):
    """plant_small with ``addition_spread_h`` set, quiet measurements, no protective AlF3 (an exact ledger)."""
    text = (MODELS / "plant_small.toml").read_text()
    text, count = re.subn(r"addition_spread_h = \{ value = [0-9.]+", f"addition_spread_h = {{ value = {spread_h}", text)
    assert count == 1
    text = text.replace('technology = "', f'technology = "{MODELS.as_posix()}/')
    name = f"plant_spread_{spread_h:g}.toml"
    (tmp_path / name).write_text(text)
    scenario = (
        f'[scenario]\nname = "t"\nplant = "{name}"\nhorizon_h = 100\nseed = 3\n'
        f"[potroom]\nmeasurement_noise = false\nprotection = false\n{events}"
    )
    return build_plant(scenario_from_text(scenario, "t.toml", base_dir=tmp_path))


def _run(plant, hours: np.ndarray) -> np.ndarray:
    """Each pot's bath temperature at ``hours``."""
    line = plant.lines[0]
    temps = []
    for h in hours:
        plant.env.run(until=h * HOUR_S)
        plant.sync()
        temps.append(line.potline.values("temperature_degC").copy())
    return np.array(temps)


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dosing")
    hours = np.arange(0.25, 48.01, 0.25)
    runs = {}
    for spread in (0.0, 24.0):
        plant = _plant(tmp, spread)
        runs[spread] = (plant.lines[0], _run(plant, hours))
    return runs


def test_spread_over_the_day_a_visit_no_longer_cools_a_pot_at_once(two_days):
    def largest_fall(temps: np.ndarray) -> float:
        return float(-np.diff(temps, axis=0).min())

    once, spread = (largest_fall(two_days[s][1]) for s in (0.0, 24.0))
    assert once >= 8.0  # the finding: ≈ 12 K within an interval
    assert spread <= 0.5 * once
    ordered = [float(two_days[s][0].control.added_kg.sum()) for s in (0.0, 24.0)]
    assert ordered[1] == pytest.approx(ordered[0], rel=0.05)


def test_every_kg_ordered_is_in_the_pots_or_pending(two_days):
    for spread in (0.0, 24.0):
        line = two_days[spread][0]
        control = line.control
        alf3, bath = control.alf3_dosing, control.bath_dosing
        assert float(control.added_kg.sum()) == pytest.approx(line.alf3_added_kg + alf3.pending_kg.sum(), rel=1e-12)
        assert float(bath.ordered_kg.sum()) == pytest.approx(line.bath_added_kg + bath.pending_kg.sum(), rel=1e-12)
        assert line.alf3_added_kg > 0.0
        assert line.bath_added_kg > 0.0
        if spread == 0.0:
            assert alf3.pending_kg.sum() == 0.0
            assert bath.pending_kg.sum() == 0.0
        else:  # the last day's orders are still going in
            assert alf3.pending_kg.sum() > 0.0


def test_an_outage_stops_the_feeding_and_it_resumes_with_the_current(tmp_path):
    outage = '[[event]]\nkind = "outage"\nat_h = 30.0\nduration_h = 1.0\npotline = "all"\n'
    plant = _plant(tmp_path, 24.0, outage)
    line = plant.lines[0]
    fed = []
    for h in (29.75, 30.1, 30.9, 31.5):  # on the second day, the first orders in
        plant.env.run(until=h * HOUR_S)
        plant.sync()
        fed.append(line.alf3_added_kg)
    assert fed[1] == fed[2]  # no current, no feeding (the visits go on ordering)
    assert fed[0] < fed[1] < fed[3]
    assert fed[2] < fed[3]
    assert line.control.alf3_dosing.pending_kg.sum() > 0.0


def test_what_is_due_goes_in_at_the_dose_interval_not_at_every_sync(tmp_path):
    """A dose every ``addition_dose_interval_min`` (15 min in the plant files): over an hour of 240-s syncs the
    line's fed total moves four or five times, not fifteen."""
    plant = _plant(tmp_path, 24.0)
    line = plant.lines[0]
    interval_min = line.control.settings["addition_dose_interval_min"]
    assert interval_min == 15.0
    plant.env.run(until=26.0 * HOUR_S)
    plant.sync()
    fed = [line.alf3_added_kg]
    for k in range(1, 16):  # 15 grid points of 240 s: one hour
        plant.env.run(until=26.0 * HOUR_S + 240.0 * k)
        plant.sync()
        fed.append(line.alf3_added_kg)
    moves = int(np.count_nonzero(np.diff(fed)))
    assert 4 <= moves <= 5
    assert fed[-1] > fed[0]
