"""Case 7: the reference plant with its control loops and no events holds its operating point for 90 days.

Source: issue 8, "How we know it works" / item 7, and ../shared/docs/physics.md §1.6 [S: Entner LM 1992/93/96,
Wilson LM 1992; STARprobe, Wang et al. LM 2011]: the potroom's daily loops (temperature and superheat
measured daily, excess AlF3 sampled every few days with a reporting delay, AlF3 feed-forward + feedback,
resistance-target steps, bath level), not the cell alone, hold a potline at its operating point for years.
Bands (issue 8): bath temperature within ±3 K, ledge within ±1 cm, excess AlF3 within ±1 wt %, bath mass
within ±5 %, and no limit event that an anode effect or an outage does not explain.

How the bands are read [C]: the operating point is the technology's own (models/hal275.toml): bath 956 °C
(Qatalum [S], the loops' temperature target), excess AlF3 13.5 wt % (the AlF3 loop's target), liquid bath
5500 kg (the bath-level loop's target) and ledge 6.5 cm (mean of the derived steady ledges, 7.8 and 5.2 cm).
Each cell's daily mean is compared with it from day 5 on (the loops start from the technology's initial
state; their first samples and steps take days). A limit event is explained when an anode effect started in
the same cell within the 6 h before it (no outages in this run).

Method: models/plant_small.toml (one line of 24 HAL275 cells, all potroom loops on, routine tapping, anode
changes and feeder blockages) for 90 days, dt 5 s, slow_every 60, hourly snapshots.
"""

from __future__ import annotations

import pytest
from tests.validation.plantrun import run, window

pytestmark = pytest.mark.slow

DAYS = 90
SETTLE_DAYS = 5
OPERATING_POINT = {"bath_temp_degC": 956.0, "ledge_cm": 6.5, "alf3_wtpct": 13.5, "bath_kg": 5500.0}
BAND = {"bath_temp_degC": 3.0, "ledge_cm": 1.0, "alf3_wtpct": 1.0, "bath_kg": 0.05 * 5500.0}


def baseline():
    return window(run("plant_small", DAYS * 24.0, interval_s=3600.0), SETTLE_DAYS * 24.0, DAYS * 24.0)


FINDINGS = {  # figures of the run on 2026-12-06 (late night): additions spread over the day, the AlF3 feed-forward
    # with the bath the alumina makes (twin.plant.control); excess AlF3 now holds its band (line mean 13.2-13.6 wt %)
    "bath_temp_degC": "FINDING: the line mean holds 954.8-956.0 °C, but 37 of 2 064 cell-days (1.8 %) are more "
    "than 3 K off 956 °C (worst 5.4 K; 93 and 7.7 K while a visit put its AlF3 and crushed bath in at once)",
    "ledge_cm": "FINDING: the line mean settles from 6.9 to 6.1 cm over 60 days (superheat 7.4 -> 8.1 K as the excess "
    "AlF3 comes up to its target), and 3 of 2 064 cell-days are more than 1 cm off 6.5 cm (worst 1.07 cm). Before "
    "the thermal splitting fix the ledge thinned from 6.5 to 4.7 cm: the loops held the bottom of a 5.2-K thermal "
    "sawtooth at this 300-s cadence while the walls saw its top",
    "bath_kg": "FINDING: line mean 5551-5682 kg (up to +3.3 %); 20 of 2 064 cell-days more than 5 % off 5500 kg "
    "(worst +376 kg)",
}


@pytest.mark.parametrize(
    "column",
    [
        pytest.param(c, marks=[pytest.mark.xfail(strict=True, reason=FINDINGS[c])] if c in FINDINGS else [])
        for c in OPERATING_POINT
    ],
)
def test_each_cell_holds_the_operating_point(column: str) -> None:
    daily = baseline().daily(column)
    worst = float((daily - OPERATING_POINT[column]).abs().max().max())
    assert worst <= BAND[column], f"{column}: worst daily cell mean {worst:.2f} from {OPERATING_POINT[column]}"


def test_no_unexplained_limit_event() -> None:
    unexplained = baseline().unexplained_limit_events()
    assert unexplained.empty, unexplained.groupby("kind").size().to_dict()
