"""Case 4b: the modulation windows with shell heat exchangers (TRIMET ±25 % for 48 h and 0 for 1 h; EnPot ±30 %).

Sources (../shared/docs/physics.md §1.10):
* TRIMET Essen "virtual battery", trimet.eu press releases 2017-01-13 and 2019-05-16 [S]: line power ±25 % for
  up to 48 h, and down to zero for up to 1 h, with a controllable shell heat exchanger (Bergische Universität
  Wuppertal).
* EnPot / Energia Potior, energiapotior.com 2016, thechemicalengineer.com [S]: shell heat exchangers allow up to
  ±30 % "at the turn of a dial" (sustained), against ±5 % for conventional cells (M. Dorreen).

How the bands are read [C]: the claim is that the cells come through the modulation: no limit event
(freeze_risk, bath_hot, ledge_thin, ledge_thick) that an anode effect does not explain, from the start of the
event until 48 h after it ends, and the exchanger duty stays within [0, capacity] (an exchanger only removes
heat).

Method: models/plant_small_hx.toml (24 cells of the exchanger variant hal275_hx, 250 kW exchangers, the
potroom's exchanger controller and loops on), with the grid tie's import limit raised to 60 MW so that the
increases are not shed for want of supply; the event starts at 72 h (after the controller's reference
period), dt 5 s, slow_every 60.
"""

from __future__ import annotations

import pytest
from tests.validation.plantrun import run, window

pytestmark = pytest.mark.slow

START_H = 72.0
CAPACITY_KW = 250.0


def _change(value_kA: float, hours: float) -> str:
    return (
        f'[[event]]\nkind = "line_current"\nat_h = {START_H}\npotline = "all"\nvalue_kA = {value_kA}\n'
        f'[[event]]\nkind = "line_current"\nat_h = {START_H + hours}\npotline = "all"\nvalue_kA = 300.0\n'
    )


def _cut(fraction: float, hours: float) -> str:
    return (
        f'[[event]]\nkind = "curtailment"\nat_h = {START_H}\nduration_h = {hours}\npotline = "all"\n'
        f"fraction = {fraction}\n"
    )


def _outage(hours: float) -> str:
    return f'[[event]]\nkind = "outage"\nat_h = {START_H}\nduration_h = {hours}\npotline = "all"\n'


def _xfail(reason: str) -> list:
    return [pytest.mark.xfail(strict=True, reason=f"FINDING: {reason}")]


CASES = [
    pytest.param(
        _cut(0.25, 48.0),
        48.0,
        id="TRIMET-25%-48h",
        # passes on the default 240-s grid and on 60-s, 120-s, 300-s grids and exact sync alike (seed 1: bath down to
        # 899-900 °C, the thickest ledge 11.8 cm, measured 2026-12-06). Before that day's fix of the thermal
        # update's splitting (twin.cell.thermal) the verdict turned on the grid: ledge_thick in 2-3 of 24 cells on
        # finer grids, freeze_risk with exact sync, because the call ends flushed the losses at different points
        # of the thermal sawtooth; it was a non-strict xfail "on the edge" (docs/validation.md 4g)
    ),
    pytest.param(
        _change(375.0, 48.0),
        48.0,
        id="TRIMET+25%-48h",
        marks=_xfail(
            "+25 % for 48 h on hal275_hx: ledge_thin in all 24 cells (mean ledge down to 0.07 cm) with the "
            "exchangers at their 250 kW capacity"
        ),
    ),
    pytest.param(_outage(1.0), 1.0, id="TRIMET-0-1h"),
    pytest.param(
        _cut(0.30, 48.0),
        48.0,
        id="EnPot-30%-48h",
        marks=_xfail(
            "-30 % for 48 h on hal275_hx: freeze_risk and ledge_thick in all 24 cells (mean ledge to 15.8 cm)"
        ),
    ),
    pytest.param(
        _change(390.0, 48.0),
        48.0,
        id="EnPot+30%-48h",
        marks=_xfail(
            "+30 % for 48 h on hal275_hx: bath_hot and ledge_thin in all 24 cells (bath up to 1021 °C) with the "
            "exchangers at capacity"
        ),
    ),
]


@pytest.mark.parametrize(("events", "hours"), CASES)
def test_cells_come_through_the_modulation_window(events: str, hours: float) -> None:
    end = START_H + hours + 48.0
    w = window(run("plant_small_hx", end, events, import_max_MW=60.0), START_H, end)
    duty = w.cells.hx_duty_kW
    assert duty.min() >= 0.0
    assert duty.max() <= CAPACITY_KW + 1e-6
    unexplained = w.unexplained_limit_events()
    assert unexplained.empty, unexplained.groupby("kind").size().to_dict()
