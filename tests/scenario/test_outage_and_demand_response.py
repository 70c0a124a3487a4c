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
    # the restart's voltage treatment (twin.plant.restart) brings the heat back: no lasting cooling, and no
    # more than a few kelvin of extra superheat while the treatment runs
    assert before - 1.5 < late < before + 5.0
    assert short_outage.kpis["cells_freeze_risk"] == 0
    assert short_outage.kpis["longest_outage_h"] == pytest.approx(0.5)


def test_an_outage_beyond_the_freeze_limit_flags_every_cell(long_outage):
    assert long_outage.kpis["longest_outage_h"] == pytest.approx(2.5)
    assert long_outage.kpis["cells_freeze_risk"] == 24
    assert long_outage.kpis["min_superheat_K"] < 0.5  # at the liquidus (no negative superheat in a mixed bath)
    assert long_outage.kpis["cells_undercooled"] > 0


def test_the_frozen_bath_criterion_alone_flags_cells_of_a_long_outage(long_outage, short_outage):
    """Half the bath frozen marks freeze risk even where no outage rule applies (runner.FROZEN_BATH_LIMIT)."""
    from twin.scenario.runner import FROZEN_BATH_LIMIT

    assert FROZEN_BATH_LIMIT == 0.5
    ts_long = long_outage.cells.to_pydict()
    ts_short = short_outage.cells.to_pydict()
    # the hourly ledge snapshots grow far more in the long outage than in the short one
    assert max(ts_long["ledge_cm"]) > max(ts_short["ledge_cm"]) + 1.0


def _curtail(hx: bool, compensation: bool | None = None) -> str:
    extra = "heat_exchangers = true\nheat_exchanger_kW = 400.0\n" if hx else ""
    if compensation is not None:
        extra += f"compensation = {str(compensation).lower()}\n"
    return (f'[[event]]\nkind = "curtailment"\nat_h = 2.0\nduration_h = 6.0\npotline = "all"\nfraction = 0.25\n'
            f"{extra}")


@pytest.fixture(scope="module")
def baseline():
    return run_text(small_scenario_text(9.0))


@pytest.fixture(scope="module")
def curtailed():
    # the cell's own physics: the potroom's voltage compensation (on by default) is switched off here
    return run_text(small_scenario_text(9.0, _curtail(hx=False, compensation=False)))


@pytest.fixture(scope="module")
def curtailed_hx():
    return run_text(small_scenario_text(9.0, _curtail(hx=True, compensation=False)))


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


def test_exchangers_on_a_conventional_cell_cannot_add_heat(curtailed, curtailed_hx):
    """hal275 has no extraction at nominal to throttle: the exchanger's duty stays >= 0 (here 0) and the
    cell cools as without it (issue 8 item 5: the old "exchanger" turned negative and heated the cell)."""
    _, duty = _series(curtailed_hx, "S1_hx_duty_max_kW")
    assert duty.min() >= 0.0
    assert duty.max() == pytest.approx(0.0, abs=1e-9)
    t, sh = _series(curtailed, "S1_superheat_mean_K")
    t_hx, sh_hx = _series(curtailed_hx, "S1_superheat_mean_K")
    end = (t > 7.5) & (t <= 8.0)
    assert np.interp(t, t_hx, sh_hx)[end].mean() == pytest.approx(sh[end].mean(), abs=1.0)


def _hx_text(horizon_h: float, events: str = "", extra: str = "") -> str:
    return small_scenario_text(horizon_h, events, extra=extra).replace("plant_small.toml", "plant_small_hx.toml")


# +8 %: what the small plant's supply carries (at +25 % it sheds the line back to ~327 kA)
RAISE = '[[event]]\nkind = "line_current"\nat_h = 2.0\npotline = "all"\nvalue_kA = 324.0\n'
FIXED_HX = "[potroom]\nheat_exchangers = false\n"  # exchangers held at their design duty, not controlled


@pytest.fixture(scope="module")
def baseline_hx():
    return run_text(_hx_text(9.0))


@pytest.fixture(scope="module")
def curtailed_hx_plant():
    return run_text(_hx_text(9.0, _curtail(hx=False)))


@pytest.fixture(scope="module")
def curtailed_fixed_hx():
    return run_text(_hx_text(9.0, _curtail(hx=False), FIXED_HX))


@pytest.fixture(scope="module")
def raised_hx_plant():
    return run_text(_hx_text(9.0, RAISE))


@pytest.fixture(scope="module")
def raised_fixed_hx():
    return run_text(_hx_text(9.0, RAISE, FIXED_HX))


def _ledge_shift(results, baseline) -> float:
    """Mean-ledge difference from the baseline over the last hour (cm)."""
    t, ledge_base = _series(baseline, "S1_ledge_mean_cm")
    t_r, ledge = _series(results, "S1_ledge_mean_cm")
    last = t > 8.0
    return float((np.interp(t, t_r, ledge) - ledge_base)[last].mean())


def test_with_shell_heat_exchangers_a_curtailment_throttles_them_and_the_ledge_moves_less(
    baseline_hx, curtailed_hx_plant, curtailed_fixed_hx
):
    """-25 % on cells insulated for exchangers: the controller throttles the duty (never below 0) and the
    ledge grows less than with the exchangers held at their design duty."""
    _, duty_base = _series(baseline_hx, "S1_hx_duty_mean_kW")
    t_d, duty = _series(curtailed_hx_plant, "S1_hx_duty_mean_kW")
    assert duty.min() >= 0.0
    assert duty[(t_d > 3.0) & (t_d < 7.5)].mean() < duty_base[-5:].mean() - 50.0  # throttled down
    controlled = _ledge_shift(curtailed_hx_plant, baseline_hx)
    fixed = _ledge_shift(curtailed_fixed_hx, baseline_hx)
    assert fixed > 0.3  # the ledge grows on a curtailment
    assert controlled < 0.9 * fixed  # the 140 kW design duty covers about half of the -25 % heat deficit


def test_with_shell_heat_exchangers_a_current_increase_opens_them_up(baseline_hx, raised_hx_plant, raised_fixed_hx):
    """+8 % on cells insulated for exchangers: the duty rises within the capacity and the ledge melts less."""
    _, duty_base = _series(baseline_hx, "S1_hx_duty_mean_kW")
    t_d, duty = _series(raised_hx_plant, "S1_hx_duty_mean_kW")
    _, duty_max = _series(raised_hx_plant, "S1_hx_duty_max_kW")
    assert duty[(t_d > 3.0)].mean() > duty_base[-5:].mean() + 50.0
    assert duty_max.max() <= 250.0 + 1e-6
    controlled = _ledge_shift(raised_hx_plant, baseline_hx)
    fixed = _ledge_shift(raised_fixed_hx, baseline_hx)
    assert fixed < -0.3  # the ledge melts on a current increase
    assert controlled > 0.5 * fixed  # less than half the melting
    assert raised_hx_plant.kpis["hx_extracted_MWh"] > raised_fixed_hx.kpis["hx_extracted_MWh"]
