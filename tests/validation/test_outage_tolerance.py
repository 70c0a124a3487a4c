"""Case 3: outage tolerance of a HAL275 cell, from a settled state, against published plant practice.

Sources:
* H. A. Øye and M. Sørlie, "Power failure, temporary pot shutdown, restart and repair", Aluminium
  International Today 2011, https://aluminiumtoday.com/features/power-failure-temporary-pot-shutdown-restart-and-repair
  [S] (physics.md §1.9): "Total loss of power for half an hour ... no problem. Stops for two to four hours are
  manageable while five hours or more causes large problems with loss of cell life."
* Hydro Høyanger, 24 July 2017 (NPK via sunnmoringen.no) [S]: power lost at 16:47, ramp-up from 18:00 (1 h 13 min),
  "well within the margins"; more than two hours means a larger restart operation.
* Hydro Årdal, storm "Tor" 2016 (nrk.no, 2017-11) [S]: three hours without power, 38 of 326 pots destroyed
  (9 replaced, the rest repaired): most pots came through a 3-h outage.

How the bands are read [C]: "no problem" and "manageable" mean the kernel does not raise ``freeze_risk`` (more
of the nominal bath frozen out than the technology's ``frozen_bath_max_fraction``, 0.5 for hal275: the anodes
lose contact) during the outage or after the restart, the restart at full current does not raise ``bath_hot``,
and the bath temperature comes back to within 2 K of an unperturbed twin within 12 h (half an hour) or 48 h
(two to four hours). "Large problems" means ``freeze_risk`` is raised.

Method: two hal275 cells settled three days (harness), line current 0 for the outage with no bath additions,
then nominal current for 48 h under the routine operations; the twin runs the same operations at nominal
current throughout. dt 5 s, slow_every 60.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from tests.validation.harness import Trace, settled
from tests.validation.plantrun import run, window

from twin.errors import SimulationError

RECOVERY_K = 2.0
AFTER_H = 48.0


@dataclass(frozen=True)
class Outage:
    hours: float
    frozen_fraction_end: float  # of the nominal bath, at the end of the outage
    t_drop_K: float  # liquids temperature below the twin at the end of the outage
    freeze_risk_during: bool  # raised during the outage
    freeze_risk: bool  # raised during the outage or after the restart
    bath_hot_after: bool
    restart_finite: bool  # the restart ran its 48 h with finite cell states
    recovery_h: float  # first time after restart within RECOVERY_K of the twin (inf if never)


@cache
def outage(hours: float) -> Outage:
    base = settled("hal275")
    twin = base.copy()
    twin_trace = twin.run(hours + AFTER_H, twin.nominal_kA)
    cells = base.copy()
    during = cells.run(hours, 0.0, routine=False)
    frozen = float(cells.frozen_fraction().max())
    after = Trace()
    try:
        cells.run(AFTER_H, cells.nominal_kA, trace=after)
        finite = bool(np.isfinite(after.series("temperature_degC")).all())
    except SimulationError:  # the harness's AlF3 addition refuses a non-finite amount from a non-finite cell
        finite = False
    n_out = len(during.t_h)
    t_twin = twin_trace.series("temperature_degC")
    t_after = after.series("temperature_degC") if after.t_h else np.array([])
    gap = np.abs(t_after - t_twin[n_out : n_out + t_after.size])
    close = np.nonzero(gap < RECOVERY_K)[0] if finite else np.array([], dtype=int)
    during_kinds = {e.kind for e in during.events}
    after_kinds = {e.kind for e in after.events}
    return Outage(
        hours=hours,
        frozen_fraction_end=frozen,
        t_drop_K=float(t_twin[n_out - 1] - during.series("temperature_degC")[-1]),
        freeze_risk_during="freeze_risk" in during_kinds,
        freeze_risk="freeze_risk" in during_kinds | after_kinds,
        bath_hot_after="bath_hot" in after_kinds,
        restart_finite=finite,
        recovery_h=float(after.time_h()[close[0]]) if close.size else float("inf"),
    )


def test_half_an_hour_is_no_problem() -> None:
    """Øye & Sørlie: half an hour without power is no problem."""
    o = outage(0.5)
    assert not o.freeze_risk
    assert not o.bath_hot_after
    assert o.restart_finite
    assert o.recovery_h <= 12.0


def test_hoyanger_1h13_restart_within_margins() -> None:
    """Hydro Høyanger 2017: 1 h 13 min without power, restarted "well within the margins"."""
    o = outage(1.2)
    assert not o.freeze_risk
    assert not o.bath_hot_after
    assert o.restart_finite
    assert o.recovery_h <= AFTER_H


@pytest.mark.parametrize(
    "hours",
    [
        2.0,
        3.0,  # passes narrowly: 48.7 % of the bath frozen against the 50 % limit
        pytest.param(
            4.0,
            marks=pytest.mark.xfail(
                strict=True,
                reason="FINDING: a 4-h outage freezes 77 % of hal275's bath; freeze_risk at 3.1 h; "
                "Øye & Sørlie: manageable",
            ),
        ),
    ],
)
def test_two_to_four_hours_are_manageable(hours: float) -> None:
    """Øye & Sørlie: two to four hours are manageable (restart possible, bath recovers)."""
    o = outage(hours)
    assert not o.freeze_risk, f"{hours} h: {o.frozen_fraction_end:.0%} of the bath frozen"
    assert not o.bath_hot_after
    assert o.restart_finite
    assert o.recovery_h <= AFTER_H


def test_five_hours_cause_large_problems() -> None:
    """Øye & Sørlie: five hours or more cause large problems (the kernel's freeze risk is raised)."""
    assert outage(5.0).freeze_risk_during


def test_restart_after_five_hours_stays_finite() -> None:
    """Restarts after 5 h (Zhao, Yan & Gao LM 2011) and 8.5 h (Tremblay & Leblanc 1989) are published."""
    assert outage(5.0).restart_finite


# --- the same outages on the plant, with the potroom's restart procedure ---------------------------------------
#
# models/plant_small.toml (24 HAL275 cells, all potroom loops, the plant layer's restart procedure: current ramp
# and voltage treatment, twin.plant.restart), outage at 72 h, 72 h after it. Published restarts after 5 h (Zhao,
# Yan & Gao, LM 2011, a 300 kA potline) and 8.5 h (Tremblay & Leblanc 1989, 180 kA) [S citations, physics.md
# §1.9] mean a run through a 5-h outage must at least complete with the cells in a physical state.

PLANT_OUTAGE_AT_H = 72.0


def _plant_outage(hours: float):
    events = f'[[event]]\nkind = "outage"\nat_h = {PLANT_OUTAGE_AT_H}\nduration_h = {hours}\npotline = "all"\n'
    end = PLANT_OUTAGE_AT_H + hours + 72.0
    return window(run("plant_small", end, events, interval_s=600.0), PLANT_OUTAGE_AT_H, end)


def _kinds(w) -> set[str]:
    return set(w.events.kind) if not w.events.empty else set()


@pytest.mark.slow
@pytest.mark.parametrize(
    "hours",
    [
        0.5,
        2.0,
        pytest.param(
            3.0,
            marks=pytest.mark.xfail(
                strict=True,
                reason="FINDING: on the plant a 3-h outage raises freeze_risk in every cell (down to 1852 kg of liquid "
                "bath, 66 % frozen) although the kernel-level run passes narrowly (49.2 %)",
            ),
        ),
        pytest.param(
            4.0,
            marks=pytest.mark.xfail(
                strict=True,
                reason="FINDING: on the plant a 4-h outage raises freeze_risk and ledge_thick in every cell (liquid "
                "bath down to 771 kg, 86 % frozen)",
            ),
        ),
    ],
)
def test_plant_restarts_after_half_an_hour_to_four_hours(hours: float) -> None:
    w = _plant_outage(hours)
    assert not _kinds(w) & {"freeze_risk", "bath_hot"}
    assert w.cells.bath_temp_degC.between(850.0, 1000.0).all()


@pytest.mark.slow
def test_plant_five_hour_outage_raises_freeze_risk_and_completes() -> None:
    w = _plant_outage(5.0)
    assert "freeze_risk" in _kinds(w)
    assert np.isfinite(w.cells.bath_temp_degC).all()
