"""The interval's power balance books what the dispatch set: its curtailment of the renewables, and no money for
power the tie could not carry.

The reference plant (2 × 352 HAL275 cells, 3 × 350 MW coal at 40 % minimum load, a 300-MW tie, 100 MW of solar)
loses both potlines for an hour at 10:00. Its coal units ramp down at 1.5 %/min (physics.md §5) to their
minimum stable load, 3 × 140 MW: more than the tie can export, so the dispatch curtails the solar entirely
(twin.plant.power.dispatch: coal to its minimum first, then the renewables). Until 2026-12-07 the interval's
balance counted the solar as available anyway (80 MW more booked as export beyond the tie), and paid the export
revenue on everything booked as export, including what lay beyond the tie's limit.
"""

from __future__ import annotations

import pytest
from tests.scenario.conftest import DATA, reference_scenario_text

from twin.scenario import scenario_from_text
from twin.scenario.runner import build_plant

HOUR_S = 3600.0
OUTAGE = reference_scenario_text(11.5, """[[event]]
kind = "outage"
at_h = 10.0
duration_h = 1.0
potline = "all"
""")


@pytest.fixture(scope="module")
def plant():
    plant = build_plant(scenario_from_text(OUTAGE, "test.toml", base_dir=DATA))
    plant.env.run(until=11.5 * HOUR_S)
    return plant


def _available_MW(plant, rec) -> float:
    hour = int((rec.start_s % 86400.0) // HOUR_S)
    return plant.spec.renewables["capacity_MW"] * plant.spec.renewables["profile"][hour]


def test_the_solar_counts_in_full_while_the_tie_takes_the_surplus(plant) -> None:
    before = [r for r in plant.records if r.start_s >= 9.0 * HOUR_S and r.end_s <= 10.0 * HOUR_S]
    assert before
    for rec in before:
        assert rec.excess_MW == 0.0
        assert rec.renewables_MW == pytest.approx(_available_MW(plant, rec), abs=1e-9)
        assert _available_MW(plant, rec) > 0.0


def test_the_solar_curtailed_in_the_outage_is_not_booked(plant) -> None:
    during = [r for r in plant.records if r.start_s >= 10.0 * HOUR_S and r.end_s <= 11.0 * HOUR_S]
    assert during
    for rec in during:
        assert rec.demand_MW == 0.0
        assert _available_MW(plant, rec) > 0.0
        assert min(rec.coal_MW) >= 0.4 * 350.0 - 1e-9  # at or above minimum stable load: the tie is over-full
        assert rec.renewables_MW == 0.0
        assert rec.export_MW == pytest.approx(sum(rec.coal_MW), rel=1e-12)  # the balance closes without the solar


def test_only_the_export_the_tie_carries_earns(plant) -> None:
    grid = plant.spec.grid
    excess_seen = False
    for rec in plant.records:
        hours = (rec.end_s - rec.start_s) / HOUR_S
        carried = min(rec.export_MW, grid["export_max_MW"])
        expected = carried * hours * rec.tariff_per_MWh * grid["export_price_fraction"]
        assert rec.export_revenue == pytest.approx(expected, rel=1e-12, abs=1e-9)
        excess_seen = excess_seen or rec.excess_MW > 0.0
    assert excess_seen  # the outage's coal at minimum load is beyond the tie
