"""Case 4: the ±5 % current window of conventional cells, and what lies outside it without exchangers.

Sources:
* M. Dorreen (University of Auckland) for EnPot/Energia Potior, energiapotior.com (2016) and
  thechemicalengineer.com [S] (physics.md §1.10): conventional cells tolerate about ±5 % power modulation; shell
  heat exchangers (EnPot) extend it to ±30 %, TRIMET's to ±25 % for up to 48 h [S trimet.eu 2019-05-16].
* physics.md §1.6 [S/C]: the ledge, not the bath temperature, absorbs a change of heat input; issue 8 / physics.md
  §1.10: real cells shed a sustained change of that size (e.g. +5.7 %) through the ledge: "a few kelvin of
  superheat and centimetres of ledge". physics.md §1.6 [C]: "a model whose liquidus slides tens of K in a day is
  wrong".
* physics.md §1.10 [C]: beyond ~±5 % without exchangers the cell leaves its window (ledge thin or thick, freeze).

How the bands are read [C]: inside the window (±5 %, +5.7 %) the superheat moves by at most 5 K, the mean ledge by
at most 5 cm, both ledges stay inside the technology's [ledge_min, ledge_max], no limit event is raised, and the
liquidus moves by less than 20 K in the first day ("tens of K" read as two tens or more; physics.md's own
dilution arithmetic, 1.5 K per cm of ledge into 10 t of bath, scales to ≈ 4 K per cm for hal275's 5.4 t bath
and 510 kg/cm of ledge, so a 3-cm ledge change moves the liquidus ≈ 12 K legitimately).
Outside it (±15 %, ±25 %) a limit event is raised within
four days: ledge_thin or bath_hot for an increase, ledge_thick or freeze_risk for a decrease.

Method: two cells of each technology settled three days (harness), then four days at the stepped current with an
unchanged resistance target, against an unstepped twin from the same state with the same routine operations;
the quantities are stepped minus twin. The kernel alone has no AlF3 feedback (the harness adds back only what was
booked as lost), so differences isolate the step. The same ±5 % and +5.7 % steps are then run on the plant with
the potroom's loops (models/plant_small.toml, step at 72 h, ten days after), where the AlF3 loop corrects the
bath chemistry as a smelter does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from tests.validation.harness import settled, technology
from tests.validation.plantrun import Window, run, window

DAYS = 4.0
LIMIT_KINDS = ("freeze_risk", "bath_hot", "ledge_thin", "ledge_thick")


@dataclass(frozen=True)
class StepResponse:
    max_superheat_change_K: float
    ledge_change_cm: float  # mean of both levels, end of run
    ledge_min_cm: float
    ledge_max_cm: float
    liquidus_change_24h_K: float
    temperature_change_K: float  # end of run
    limit_events: tuple[str, ...]  # kinds raised in the stepped run but not in the twin


@cache
def step(tech: str, fraction: float) -> StepResponse:
    base = settled(tech)
    twin = base.copy()
    ref = twin.run(DAYS * 24.0, twin.nominal_kA)
    cells = base.copy()
    run = cells.run(DAYS * 24.0, cells.nominal_kA * (1.0 + fraction))

    def diff(name: str) -> np.ndarray:
        return run.series(name) - ref.series(name)

    ledge = (diff("ledge_bath_cm") + diff("ledge_metal_cm")) / 2.0
    day = int(np.searchsorted(run.time_h(), 24.0))
    ref_kinds = {e.kind for e in ref.events}
    both = np.concatenate([run.series("ledge_bath_cm"), run.series("ledge_metal_cm")])
    return StepResponse(
        max_superheat_change_K=float(np.max(np.abs(diff("superheat_K")))),
        ledge_change_cm=float(ledge[-1]),
        ledge_min_cm=float(both.min()),
        ledge_max_cm=float(both.max()),
        liquidus_change_24h_K=float(diff("liquidus_degC")[day]),
        temperature_change_K=float(diff("temperature_degC")[-1]),
        limit_events=tuple(sorted({e.kind for e in run.events if e.kind in LIMIT_KINDS} - ref_kinds)),
    )


def _xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"FINDING: {reason}")


INSIDE = [
    pytest.param("hal275", -0.05, id="hal275-5%"),
    pytest.param("hal275", 0.05, id="hal275+5%"),
    pytest.param("hal275", 0.057, id="hal275+5.7%"),
    pytest.param("cell500", -0.05, id="cell500-5%"),
    pytest.param("cell500", 0.05, id="cell500+5%"),
    pytest.param("cell500", 0.057, id="cell500+5.7%"),
    pytest.param("cellmodel126", -0.05, id="cellmodel126-5%"),
    pytest.param("cellmodel126", 0.05, id="cellmodel126+5%"),
    pytest.param("cellmodel126", 0.057, id="cellmodel126+5.7%"),
]
FINDINGS: dict[str, str] = {
    "cell500-5%": "cell500 -5 %: superheat -11.7 K, ledge +6.3 cm (shen-y21's weak film, 822 W/m2K, puts most of "
    "the deficit into superheat and a slowly growing ledge)",
    "cell500+5%": "cell500 +5 %: superheat +10.0 K, ledge_thin and bath_hot (ledge down to 1.3 cm from 4.3 cm)",
    "cell500+5.7%": "cell500 +5.7 %: superheat +11.0 K, ledge_thin and bath_hot (ledge down to 1.0 cm from 4.3 cm)",
    "cellmodel126-5%": "cellmodel126 -5 %: ledge_thick (16.7 cm > 15 cm; its bath-level ledge is already 12.1 cm at "
    "nominal)",
}


def _marked(params: list, findings: dict[str, str]) -> list:
    out = []
    for p in params:
        reason = findings.get(p.id)
        out.append(pytest.param(*p.values, id=p.id, marks=[_xfail(reason)] if reason else []))
    return out


@pytest.mark.parametrize(("tech", "fraction"), _marked(INSIDE, FINDINGS))
def test_inside_the_window_the_ledge_absorbs_the_step(tech: str, fraction: float) -> None:
    r = step(tech, fraction)
    t = technology(tech)
    assert r.max_superheat_change_K <= 5.0, r
    assert abs(r.ledge_change_cm) <= 5.0, r
    assert r.ledge_min_cm >= t.number("thermal.ledge_min_cm"), r
    assert r.ledge_max_cm <= t.number("thermal.ledge_max_cm"), r
    assert not r.limit_events, r


LIQUIDUS_FINDINGS: dict[str, str] = {
    "hal275-5%": "hal275 -5 %: liquidus -23.0 K in a day (bath -33 K after 4 days): 3.5 cm of ledge freezes with "
    "20 % entrapped bath and the remaining 5.4 t bath acidifies",
    "cellmodel126-5%": "cellmodel126 -5 %: liquidus -23.0 K in a day (bath -37 K after 4 days), same mechanism on a "
    "1.7 t bath",
}


@pytest.mark.parametrize(("tech", "fraction"), _marked(INSIDE, LIQUIDUS_FINDINGS))
def test_inside_the_window_the_liquidus_does_not_slide(tech: str, fraction: float) -> None:
    r = step(tech, fraction)
    assert abs(r.liquidus_change_24h_K) < 20.0, r


@pytest.mark.parametrize(
    ("fraction", "kinds"),
    [
        pytest.param(-0.25, {"ledge_thick", "freeze_risk"}, id="-25%"),
        pytest.param(-0.15, {"ledge_thick", "freeze_risk"}, id="-15%"),
        pytest.param(0.15, {"ledge_thin", "bath_hot"}, id="+15%"),
        pytest.param(0.25, {"ledge_thin", "bath_hot"}, id="+25%"),
    ],
)
def test_outside_the_window_the_cell_leaves_it_without_exchangers(fraction: float, kinds: set[str]) -> None:
    r = step("hal275", fraction)
    assert kinds & set(r.limit_events), r


PLANT_STEP_AT_H = 72.0
PLANT_DAYS_AFTER = 10


@cache
def plant_step(value_kA: float | None) -> Window:
    hours = PLANT_STEP_AT_H + 24.0 * PLANT_DAYS_AFTER
    events = (
        f'[[event]]\nkind = "line_current"\nat_h = {PLANT_STEP_AT_H}\npotline = "all"\nvalue_kA = {value_kA}\n'
        if value_kA is not None
        else ""
    )
    return window(run("plant_small", hours, events, interval_s=3600.0), PLANT_STEP_AT_H, hours)


@pytest.mark.slow
@pytest.mark.parametrize(
    "value_kA",
    [
        pytest.param(
            285.0,
            id="-5%",
            marks=pytest.mark.xfail(
                strict=True,
                reason="FINDING: the -5 % step's liquidus falls 25.9 K in the first day (2026-12-07; 21.5 K on "
                "2026-12-06 on the 240-s default sync grid, band < 20 K): the ledge's cryolite-rich freezing "
                "acidifies a 5.5-t bath (docs/validation.md 4e)",
            ),
        ),
        pytest.param(315.0, id="+5%"),
        pytest.param(317.1, id="+5.7%"),
    ],
)
def test_inside_the_window_with_the_potroom_loops(value_kA: float) -> None:
    """The same steps on models/plant_small.toml (24 HAL275 cells, all potroom loops), minus the unstepped run.

    Line means of the daily cell means; limit events are allowed only where an anode effect explains them
    (tests/validation/plantrun.py); the liquidus is bath temperature minus superheat, hourly line means.
    """
    stepped, twin = plant_step(value_kA), plant_step(None)
    for column, band in (("superheat_K", 5.0), ("ledge_cm", 5.0)):
        change = stepped.daily(column).mean(axis=1) - twin.daily(column).mean(axis=1)
        assert float(change.abs().max()) <= band, (column, change.round(2).tolist())

    def liquidus(w: Window) -> np.ndarray:
        c = w.cells.assign(liquidus=w.cells.bath_temp_degC - w.cells.superheat_K)
        return c.groupby("time_h").liquidus.mean().to_numpy()

    slide = liquidus(stepped) - liquidus(twin)
    assert abs(slide[23]) < 20.0, f"liquidus moved {slide[23]:.1f} K in the first day"
    unexplained = stepped.unexplained_limit_events()
    assert unexplained.empty, unexplained.groupby("kind").size().to_dict()
