"""A run whose bath leaves the fitted range of the liquidus says so in its results (issue 8 item 2: never a
silent extrapolation). A 4-h outage freezes enough cryolite out of HAL275's bath that the residual melt passes
Solheim's 20 wt % of excess AlF3 (docs/physics.md §7); a healthy day does not."""

from __future__ import annotations

from tests.scenario.conftest import run_text, small_scenario_text

OUTAGE = '[[event]]\nkind = "outage"\nat_h = 1.0\nduration_h = 4.0\npotline = "all"\n'


def test_a_long_outage_warns_that_the_bath_left_the_liquidus_range() -> None:
    results = run_text(small_scenario_text(6.0, OUTAGE))
    kinds = results.events.column("kind").to_pylist()
    assert "liquidus_out_of_range" in kinds
    warnings = results.meta["warnings"]
    assert len(warnings) >= 1
    assert "Solheim" in warnings[0]
    assert "not extrapolated" in warnings[0]


def test_a_healthy_run_has_no_range_warning() -> None:
    results = run_text(small_scenario_text(6.0))
    assert "liquidus_out_of_range" not in results.events.column("kind").to_pylist()
    assert results.meta["warnings"] == []
