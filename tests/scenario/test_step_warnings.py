"""A run whose kernel step or slow-term cadence is beyond what docs/physics.md §6a measured says so in its
results' warnings (never a silent loss of accuracy): ``dt_s = 10`` with the default ``slow_every = 60`` holds the
slow terms for 600 s, where the 1-min voltage's p95 deviation is 23 mV against ~1 mV at 60 s."""

from __future__ import annotations

from tests.scenario.conftest import run_text, small_scenario_text


def warnings_of(extra: str) -> list[str]:
    return run_text(small_scenario_text(1.0, extra=extra)).meta["warnings"]


def test_a_coarse_step_with_the_default_cadence_warns_and_names_the_fix() -> None:
    warnings = warnings_of("dt_s = 10.0")
    assert len(warnings) == 1
    assert "scenario.slow_every = 60 at dt_s = 10 holds the slow terms" in warnings[0]
    assert "for 600 s" in warnings[0]
    assert "slow_every = 6 keeps it near 60 s" in warnings[0]
    assert "test.toml" in warnings[0]  # the scenario file it comes from


def test_a_coarse_step_on_the_sixty_second_cadence_does_not_warn() -> None:
    assert warnings_of("dt_s = 10.0\nslow_every = 6") == []
    assert warnings_of("dt_s = 5.0\nslow_every = 24") == []  # 120 s: the longest cadence without a warning


def test_a_step_above_ten_seconds_warns_even_on_its_cadence() -> None:
    warnings = warnings_of("dt_s = 20.0\nslow_every = 3")
    assert len(warnings) == 1
    assert "scenario.dt_s = 20 s is coarser than 10 s" in warnings[0]


def test_a_long_cadence_at_the_default_step_warns() -> None:
    warnings = warnings_of("slow_every = 300")
    assert len(warnings) == 1
    assert "holds the slow terms (thermal network, liquidus, CE) for 300 s" in warnings[0]
