"""Case 6: further published dynamic behaviour with numbers: response times and amperage creep.

Sources:
* ../shared/docs/physics.md §1.6 [C/R]: expected time constants "superheat 0.5-1 h, ledge hours to 1-3 days,
  lining weeks" (computed from the thermal masses and film conductances; recalled literature values, tagged
  [C/R] there: weak bands, checked here because they are the only published numbers for these responses).
* physics.md §1.10 [S]: EMAL DX potlines raised from 350 to 388 kA at 0.35-2.0 kA/week with the potroom
  compensating (Pillai et al., "Amperage increase in DX potlines at EMAL").
* physics.md §3 V9 (shen-y21 500 -> 480 kA at t = 121 min) is a model-to-model case with no published output
  numbers; it is not run (docs/validation.md).

How the bands are read [C]:
* ledge: after a ±5 % step (harness runs, stepped minus twin) the mean ledge change reaches 63 % of its day-4
  value between 1 h and 72 h;
* superheat: after a +10 % step with fixed feeding (so that the tracking feed cycle does not move the liquidus)
  the superheat change reaches 63 % of its 3-h value between 0.5 h and 1 h;
* amperage creep: 2 kA/week (the top of EMAL's range) for four weeks on models/plant_small.toml with the
  potroom's compensation on keeps the line's daily mean bath temperature within 956 ± 3 K (the baseline band
  of issue 8) and raises no freeze_risk, bath_hot or ledge_thick.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from tests.validation.harness import settled
from tests.validation.plantrun import run, window


def _t63(t_h: np.ndarray, change: np.ndarray, final: float) -> float:
    reached = np.nonzero(np.abs(change) >= 0.632 * abs(final))[0]
    return float(t_h[reached[0]]) if reached.size else float("inf")


@cache
def ledge_t63(tech: str, fraction: float) -> float:
    base = settled(tech)
    twin, cells = base.copy(), base.copy()
    ref = twin.run(96.0, twin.nominal_kA)
    run_ = cells.run(96.0, cells.nominal_kA * (1.0 + fraction))

    def mean_ledge(trace) -> np.ndarray:
        return (trace.series("ledge_bath_cm") + trace.series("ledge_metal_cm")) / 2.0

    change = mean_ledge(run_) - mean_ledge(ref)
    return _t63(run_.time_h(), change, change[-1])


@cache
def superheat_t63(tech: str) -> float:
    base = settled(tech)
    base.line.set_feed_strategy(None, "fixed")
    twin, cells = base.copy(), base.copy()
    ref = twin.run(4.0, twin.nominal_kA)
    run_ = cells.run(4.0, cells.nominal_kA * 1.10)
    t = run_.time_h()
    change = run_.series("superheat_K") - ref.series("superheat_K")
    at_3h = float(np.mean(change[(t >= 2.5) & (t <= 3.5)]))
    return _t63(t, change, at_3h)


@pytest.mark.parametrize("fraction", [-0.05, 0.05])
@pytest.mark.parametrize("tech", ["hal275", "cell500", "cellmodel126"])
def test_ledge_responds_in_hours_to_days(tech: str, fraction: float) -> None:
    assert 1.0 <= ledge_t63(tech, fraction) <= 72.0


SUPERHEAT_FINDINGS: dict[str, str] = {
    "cell500": "FINDING (2026-12-06): cell500's superheat reaches 63 % in 1.08 h (> 1 h), at the weak band's edge: "
    "1.00 h before the fix of the thermal update's splitting, which read the liquids at the bottom of a ~5-K "
    "sawtooth at this 300-s cadence (cellmodel126, 0.33 h then, now passes at 0.67 h)",
}


@pytest.mark.parametrize(
    "tech",
    [
        pytest.param(
            t, marks=[pytest.mark.xfail(strict=True, reason=SUPERHEAT_FINDINGS[t])] if t in SUPERHEAT_FINDINGS else []
        )
        for t in ("hal275", "cell500", "cellmodel126")
    ],
)
def test_superheat_time_constant(tech: str) -> None:
    tau = superheat_t63(tech)
    assert 0.5 <= tau <= 1.0, f"{tech}: superheat reaches 63 % in {tau:.2f} h"


@pytest.mark.slow
def test_amperage_creep_with_compensation_holds_the_bath() -> None:
    creep = (
        '[[event]]\nkind = "amperage_creep"\nat_h = 120.0\npotline = "all"\nrate_kA_per_week = 2.0\n'
        "until_h = 792.0\ncompensation = true\n"
    )
    w = window(run("plant_small", 1128.0, creep, interval_s=3600.0), 120.0, 1128.0)
    line_mean = w.daily("bath_temp_degC").mean(axis=1)
    assert float((line_mean - 956.0).abs().max()) <= 3.0
    kinds = set(w.events.kind) if not w.events.empty else set()
    assert not kinds & {"freeze_risk", "bath_hot", "ledge_thick"}
