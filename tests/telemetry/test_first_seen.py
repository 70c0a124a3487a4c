"""FirstSeen: a refusal is logged once per key, within bounded memory (twin.telemetry.first_seen)."""

from __future__ import annotations

from twin.telemetry.first_seen import FirstSeen


def test_each_key_is_logged_once() -> None:
    seen = FirstSeen()
    assert [seen.first(k) for k in ("a", "b", "a", "a", "b", "c")] == [True, True, False, False, False, True]


def test_keys_beyond_the_bound_are_not_remembered_and_logged_now_and_then() -> None:
    """A client making up topics or device ids cannot grow the memory: beyond ``max_keys`` new keys are logged
    at the 1st, 10th and 100th time and every 10 000th, as the host's other unbounded refusals are."""
    seen = FirstSeen(max_keys=3)
    assert [seen.first(k) for k in range(3)] == [True, True, True]
    logged = [n for n in range(1, 20_001) if seen.first(f"made-up-{n}")]
    assert logged == [1, 10, 100, 10_000, 20_000]
    assert len(seen._seen) == 3
    assert seen.first(0) is False  # what was remembered stays so
