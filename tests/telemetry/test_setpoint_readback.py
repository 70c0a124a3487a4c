"""The host's read-back rule (twin.telemetry.setpoints.ReadbackVerifier) on hand-made samples: which samples
may settle a write, and when a mismatch or a silence becomes an alarm. No broker: the rule itself."""

from __future__ import annotations

from twin.telemetry import Quality, Sample
from twin.telemetry.setpoints import ReadbackOutcome, ReadbackVerifier

KEY = ("potline1", "gw01", "pot_001", "resistance_target_uohm")
SENT = 1_000_000


def sample(ts: int, value: object, *, quality: Quality = Quality.GOOD, historical: bool = False) -> Sample:
    return Sample(ts, *KEY[:3], KEY[3], value, quality, historical)  # type: ignore[arg-type]


def verifier() -> tuple[ReadbackVerifier, list[ReadbackOutcome]]:
    out: list[ReadbackOutcome] = []
    v = ReadbackVerifier(out.append)
    v.expect(KEY, "c1", 9.3, SENT, 10_000)
    return v, out


def test_only_a_good_live_sample_stamped_after_the_write_and_equal_to_it_confirms() -> None:
    v, out = verifier()
    v.observe(
        [
            sample(SENT - 1, 9.3),  # before the write: an older value that happens to be equal
            sample(SENT + 5, 9.3, historical=True),  # replayed from the edge's store
            sample(SENT + 5, 9.3, quality=Quality.STALE),
            sample(SENT + 5, True),  # not a number
        ]
    )
    assert out == []
    v.observe([sample(SENT + 100, 9.300000190734863)])  # 9.3 as the float32 register holds it
    assert [(o.status, o.command_id) for o in out] == [("confirmed", "c1")]
    assert v.next_deadline_ms is None


def test_a_different_value_waits_for_the_deadline_and_a_late_match_still_confirms() -> None:
    v, out = verifier()
    v.observe([sample(SENT + 10, 8.5)])  # a poll in flight during the write
    assert out == []
    v.observe([sample(SENT + 200, 9.3)])
    assert [o.status for o in out] == ["confirmed"]


def test_a_different_value_until_the_deadline_is_a_mismatch_with_the_last_value_seen() -> None:
    v, out = verifier()
    v.observe([sample(SENT + 10, 8.5)])
    v.observe([sample(SENT + 300, 8.6)])
    v.expire(SENT + 9_999)
    assert out == []
    v.expire(SENT + 10_000)
    assert [(o.status, o.observed) for o in out] == [("mismatch", 8.6)]


def test_silence_until_the_deadline_is_a_timeout_and_a_newer_write_supersedes() -> None:
    v, out = verifier()
    v.expect(KEY, "c2", 9.0, SENT + 50, 10_000)
    assert [(o.command_id, o.status) for o in out] == [("c1", "superseded")]
    v.expire(SENT + 10_050)
    assert [(o.command_id, o.status, o.observed) for o in out[1:]] == [("c2", "timeout", None)]
