"""Outages and demand response on the small plant (issue 3).

Expectations and their sources:
* during a total outage the cells cool, superheat falls and the ledge grows; a short outage recovers
  after restart; outages beyond the industry's two-hour freeze rule (Aluminium Association of India,
  physics.md §1.9; plant file ``freeze_risk_hours``) flag every cell of the line at freeze risk;
* without shell heat exchangers a sustained change of line current beyond the ±5 % window shifts the
  heat balance (Dorreen, physics.md §1.10): superheat falls and ledge grows; with exchangers sized as
  EnPot/TRIMET (±25–30 %) the balance holds.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.scenario.conftest import run_text, small_scenario_text


def _series(results, name):
    ts = results.timeseries.to_pydict()
    return np.array(ts["time_h"]), np.array(ts[name])


def _outage(at_h: float, hours: float) -> str:
    return f'[[event]]\nkind = "outage"\nat_h = {at_h}\nduration_h = {hours}\npotline = "all"\n'


@pytest.fixture(scope="module")
def short_outage():
    return run_text(small_scenario_text(10.0, _outage(2.0, 0.5)))


@pytest.fixture(scope="module")
def long_outage():
    return run_text(small_scenario_text(6.0, _outage(2.0, 2.5)))


def test_cells_cool_superheat_falls_and_ledge_grows_during_an_outage(short_outage):
    t, superheat = _series(short_outage, "S1_superheat_mean_K")
    _, temp = _series(short_outage, "S1_bath_temp_mean_degC")
    _, ledge = _series(short_outage, "S1_ledge_mean_cm")
    before = (t > 1.5) & (t <= 2.0)
    during = (t > 2.05) & (t <= 2.5)
    assert temp[during][-1] < temp[before].mean() - 2.0
    assert superheat[during][-1] < superheat[before].mean() - 2.0
    assert ledge[during][-1] > ledge[before][-1]
    _, current = _series(short_outage, "S1_current_kA")
    assert np.all(current[during] == 0.0)


def test_a_short_outage_recovers_after_restart_without_freeze_risk(short_outage):
    t, superheat = _series(short_outage, "S1_superheat_mean_K")
    before = superheat[(t > 1.5) & (t <= 2.0)].mean()
    late = superheat[t > 8.0].mean()
    assert abs(late - before) < 1.5
    assert short_outage.kpis["cells_freeze_risk"] == 0
    assert short_outage.kpis["longest_outage_h"] == pytest.approx(0.5)


def test_an_outage_beyond_the_freeze_limit_flags_every_cell(long_outage):
    assert long_outage.kpis["longest_outage_h"] == pytest.approx(2.5)
    assert long_outage.kpis["cells_freeze_risk"] == 24
    assert long_outage.kpis["min_superheat_K"] < 0.0
    assert long_outage.kpis["cells_undercooled"] == 24


def test_the_frozen_bath_criterion_alone_flags_cells_of_a_long_outage(long_outage, short_outage):
    """Half the bath frozen marks freeze risk even where no outage rule applies (runner.FROZEN_BATH_LIMIT)."""
    from twin.scenario.runner import FROZEN_BATH_LIMIT

    assert FROZEN_BATH_LIMIT == 0.5
    ts_long = long_outage.cells.to_pydict()
    ts_short = short_outage.cells.to_pydict()
    # the hourly ledge snapshots grow far more in the long outage than in the short one
    assert max(ts_long["ledge_cm"]) > max(ts_short["ledge_cm"]) + 1.0


def _curtail(hx: bool) -> str:
    extra = "heat_exchangers = true\nheat_exchanger_kW = 400.0\n" if hx else ""
    return (f'[[event]]\nkind = "curtailment"\nat_h = 2.0\nduration_h = 6.0\npotline = "all"\nfraction = 0.25\n'
            f"{extra}")


@pytest.fixture(scope="module")
def baseline():
    return run_text(small_scenario_text(9.0))


@pytest.fixture(scope="module")
def curtailed():
    return run_text(small_scenario_text(9.0, _curtail(hx=False)))


@pytest.fixture(scope="module")
def curtailed_hx():
    return run_text(small_scenario_text(9.0, _curtail(hx=True)))


def test_minus_25_percent_for_6_h_without_heat_exchangers_cools_the_cells(baseline, curtailed):
    t, sh_base = _series(baseline, "S1_superheat_mean_K")
    t_cut, sh_cut = _series(curtailed, "S1_superheat_mean_K")
    _, ledge_base = _series(baseline, "S1_ledge_mean_cm")
    _, ledge_cut = _series(curtailed, "S1_ledge_mean_cm")
    sh_cut, ledge_cut = np.interp(t, t_cut, sh_cut), np.interp(t, t_cut, ledge_cut)  # align on time
    end = (t > 7.5) & (t <= 8.0)
    assert sh_cut[end].mean() < sh_base[end].mean() - 3.0
    assert ledge_cut[end].mean() > ledge_base[end].mean() + 0.5
    t_cut, current = _series(curtailed, "S1_current_kA")
    assert current[(t_cut > 3) & (t_cut < 7)].max() == pytest.approx(225.0)


def test_with_shell_heat_exchangers_the_heat_balance_holds(baseline, curtailed_hx):
    t, sh_base = _series(baseline, "S1_superheat_mean_K")
    t_hx, sh_hx = _series(curtailed_hx, "S1_superheat_mean_K")  # events add interval boundaries: align on time
    _, ledge_base = _series(baseline, "S1_ledge_mean_cm")
    _, ledge_hx = _series(curtailed_hx, "S1_ledge_mean_cm")
    window = (t > 2.0) & (t <= 8.0)
    sh_hx_on_t = np.interp(t, t_hx, sh_hx)
    ledge_hx_on_t = np.interp(t, t_hx, ledge_hx)
    assert np.max(np.abs(sh_hx_on_t[window] - sh_base[window])) < 1.5
    assert abs(ledge_hx_on_t[window][-1] - ledge_base[window][-1]) < 0.3
