"""An edge node's seq order (twin.telemetry.seq_order) on its own: whatever order messages arrive in, each comes
out once, in seq order, across the 255 -> 0 wrap, and every held byte goes back to the budget."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from twin.telemetry.byte_budget import ByteBudget
from twin.telemetry.seq_order import MAX_HELD, Offer, SeqOrder


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(1, 100), st.randoms(use_true_random=False))
def test_any_arrival_order_comes_out_in_seq_order(birth: int, n: int, rng) -> None:
    budget = ByteBudget(10**9)
    order: SeqOrder[int] = SeqOrder(1000, budget)
    order.restart(birth)
    sent = [(birth + 1 + k) % 256 for k in range(n)]  # n messages after the birth, possibly wrapping
    arrival = sent[:]
    rng.shuffle(arrival)
    out: list[int] = []
    for seq in arrival:
        outcome, ready = order.offer(seq, seq, lambda: 10, now_ms=0)
        assert outcome in (Offer.READY, Offer.HELD)
        out.extend(ready)
    out.extend(order.give_up())  # nothing is missing: nothing is left to give up on
    assert out == sent
    assert budget.used == 0
    assert order.deadline_ms is None
    assert order.expected == (birth + 1 + n) % 256


def test_a_gap_given_up_lets_the_rest_out_in_order_and_moves_past_it() -> None:
    budget = ByteBudget(10**9)
    order: SeqOrder[str] = SeqOrder(2000, budget)
    order.restart(254)  # expects 255
    for seq in (2, 0, 3):  # 255 and 1 missing
        assert order.offer(seq, f"m{seq}", lambda: 7, now_ms=100) == (Offer.HELD, [])
    assert order.deadline_ms == 2100  # from the first message held
    assert budget.used == 21
    assert order.give_up() == ["m0", "m2", "m3"]
    assert order.expected == 4
    assert budget.used == 0
    assert order.offer(1, "late", lambda: 7, now_ms=200) == (Offer.LATE, [])


def test_the_seq_space_bounds_the_count_and_the_budget_the_bytes() -> None:
    order: SeqOrder[int] = SeqOrder(1000, ByteBudget(10**9))
    order.restart(0)  # expects 1
    outcomes = [order.offer(2 + k, k, lambda: 1, now_ms=0)[0] for k in range(MAX_HELD + 1)]
    assert outcomes[:MAX_HELD] == [Offer.HELD] * MAX_HELD  # seqs 2..128: 1..127 ahead of the expected 1
    assert outcomes[MAX_HELD] is Offer.LATE  # 129 is 128 ahead: as far behind (mod 256), so "behind"
    small: SeqOrder[int] = SeqOrder(1000, ByteBudget(15))
    small.restart(0)
    assert small.offer(2, 2, lambda: 10, now_ms=0)[0] is Offer.HELD
    assert small.offer(3, 3, lambda: 10, now_ms=0)[0] is Offer.FULL  # 20 bytes > 15
    assert small.give_up() == [2, 3]
    assert small.budget.used == 0


def test_a_second_copy_of_a_held_message_is_dropped_and_its_bytes_are_not_taken() -> None:
    """A QoS 1 resend (or a hostile client) repeats a message that is held ahead of a gap: the first copy is kept,
    the copies are late, and once the gap is filled the host's budget is back where it was. (The copies used to
    replace the held one without giving its bytes back: the shared budget leaked for the life of the process.)"""
    budget = ByteBudget(10**9)
    order: SeqOrder[str] = SeqOrder(2000, budget)
    order.restart(0)  # expects 1
    assert order.offer(3, "first", lambda: 600, now_ms=0) == (Offer.HELD, [])
    for copy in range(2):
        assert order.offer(3, f"copy{copy}", lambda: 600, now_ms=10) == (Offer.LATE, [])
    assert budget.used == 600
    assert order.offer(2, "m2", lambda: 600, now_ms=20) == (Offer.HELD, [])
    assert order.offer(1, "m1", lambda: 600, now_ms=30) == (Offer.READY, ["m1", "m2", "first"])
    assert budget.used == 0
    order.offer(6, "held", lambda: 600, now_ms=40)
    order.offer(6, "again", lambda: 600, now_ms=40)
    order.forget()
    assert budget.used == 0
