"""The host's ceiling on payload bytes held at once (twin.telemetry.byte_budget)."""

from __future__ import annotations

import threading

import pytest

from twin.telemetry.byte_budget import ByteBudget


def test_takes_what_fits_and_refuses_the_rest() -> None:
    budget = ByteBudget(100)
    assert budget.take(60)
    assert not budget.take(41)  # 60 + 41 > 100: nothing taken
    assert budget.used == 60
    assert budget.take(40)
    budget.give(60)
    assert budget.used == 40
    assert not budget.take(101)  # larger than the whole budget: never fits, not even when empty


def test_a_waiting_take_gets_the_bytes_another_thread_gives_back() -> None:
    budget = ByteBudget(100)
    assert budget.take(100)
    threading.Timer(0.05, budget.give, args=(100,)).start()
    assert budget.take(80, wait_s=5.0)
    assert budget.used == 80


def test_a_waiting_take_gives_up_after_its_wait() -> None:
    budget = ByteBudget(10)
    assert budget.take(10)
    assert not budget.take(1, wait_s=0.05)
    assert budget.used == 10


@pytest.mark.parametrize("limit", [0, -1, float("nan")])
def test_a_budget_needs_a_positive_limit(limit: float) -> None:
    with pytest.raises(ValueError, match="limit > 0"):
        ByteBudget(limit)  # type: ignore[arg-type]
