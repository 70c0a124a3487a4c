"""The power-supply dispatch: balance, unit limits, shortfall, heat rate (twin.plant.power)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.params import load_plant
from twin.plant.power import dispatch, heat_rate_GJ_per_MWh

PLANT = load_plant("models/plant_reference.toml")


@settings(max_examples=200, deadline=None)
@given(
    demand=st.floats(0, 2000),
    prev=st.lists(st.floats(0, 350), min_size=3, max_size=3),
    up=st.lists(st.booleans(), min_size=3, max_size=3),
    renew=st.floats(0, 100),
    tariff=st.floats(0, 200),
)
def test_balance_closes_and_units_stay_within_their_limits(demand, prev, up, renew, tariff):
    """coal + renewables used + import − export + shortfall = demand, every case (design.md, issue 3)."""
    d = dispatch(demand, PLANT.coal_units, prev, up, 300.0, renew, PLANT.grid, tariff)
    assert d.supply_MW + d.shortfall_MW == pytest.approx(demand, abs=1e-6)
    for unit, p, p0, avail in zip(PLANT.coal_units, d.coal_MW, prev, up, strict=True):
        if not avail:
            assert p == 0.0
            continue
        assert p <= unit["capacity_MW"] + 1e-9
        if p0 > 0:  # a running unit moves at most its ramp rate in the interval
            assert abs(p - p0) <= unit["ramp_MW_per_min"] * 5 + 1e-9
    assert d.import_MW <= PLANT.grid["import_max_MW"] + 1e-6 or d.shortfall_MW == 0.0
    assert d.renewables_MW + d.curtailed_MW == pytest.approx(renew)


def test_shortfall_when_units_and_grid_cannot_cover_demand():
    """Two of three 350 MW units out and a 300 MW tie cannot carry 1000 MW."""
    d = dispatch(1000.0, PLANT.coal_units, [350, 0, 0], [True, False, False], 300.0, 0.0, PLANT.grid, 70.0)
    assert d.coal_MW == (350.0, 0.0, 0.0)
    assert d.import_MW == pytest.approx(300.0)
    assert d.shortfall_MW == pytest.approx(350.0)


def test_heat_rate_is_linear_between_min_load_and_full_load():
    """Part-load penalty interpolated between the plant file's two heat rates (physics.md §5)."""
    unit = PLANT.coal_units[0]
    p_min = unit["min_stable_fraction"] * unit["capacity_MW"]
    assert heat_rate_GJ_per_MWh(unit, p_min) == pytest.approx(unit["heat_rate_min_GJ_per_MWh"])
    assert heat_rate_GJ_per_MWh(unit, unit["capacity_MW"]) == pytest.approx(unit["heat_rate_full_GJ_per_MWh"])
    mid = heat_rate_GJ_per_MWh(unit, (p_min + unit["capacity_MW"]) / 2)
    assert mid == pytest.approx((unit["heat_rate_min_GJ_per_MWh"] + unit["heat_rate_full_GJ_per_MWh"]) / 2)
