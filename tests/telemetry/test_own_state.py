"""The host's STATE timestamps (twin.telemetry.host_state.OwnState), on a clock the test sets: which offline
STATEs outdate the host's session and what timestamp its next session takes. The broker-level behaviour is in
tests/telemetry/test_end_to_end.py."""

from __future__ import annotations

import json

from twin.telemetry.host_state import MAX_AHEAD_MS, OwnState
from twin_edge.sparkplug import HostState


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def _will_timestamp(own: OwnState) -> int:
    return json.loads(own.will().payload)["timestamp"]


def test_an_own_will_or_an_older_state_does_not_outdate_the_session() -> None:
    clock = Clock(1_000_000)
    own = OwnState("twin", clock)
    first = _will_timestamp(own)
    clock.now_ms += 5_000
    second = _will_timestamp(own)  # a reconnect: a new session
    assert second > first
    assert not own.outdated_by(HostState(False, first))  # the lost connection's Will, replayed: ours
    assert not own.outdated_by(HostState(False, second - 1))  # older than ours: edge nodes ignore it
    assert not own.outdated_by(HostState(True, second + 10))  # online is not the death of a session
    assert not own.outdated_by(HostState(False, second))  # as new as ours: edge nodes take our online STATE too
    assert own.outdated_by(HostState(False, second + 1))  # newer: they would not
    assert own.outdated_by(HostState(False, second + 10))


def test_the_next_session_is_newer_than_a_followed_state() -> None:
    clock = Clock(2_000_000)
    own = OwnState("twin", clock)
    _will_timestamp(own)
    foreign = HostState(False, clock.now_ms + MAX_AHEAD_MS // 2)  # ahead, within what the host follows
    assert own.follow(foreign)
    renewed = _will_timestamp(own)
    assert renewed == foreign.timestamp + 1  # the clock is behind it: just past it
    assert not own.outdated_by(HostState(False, renewed - 1))
    clock.now_ms = foreign.timestamp + 1_000
    assert _will_timestamp(own) == clock.now_ms  # once the clock has passed it, the clock's own time again


def test_a_state_from_beyond_the_bound_is_not_followed() -> None:
    clock = Clock(3_000_000)
    own = OwnState("twin", clock)
    before = _will_timestamp(own)
    assert not own.follow(HostState(False, clock.now_ms + MAX_AHEAD_MS + 1))
    clock.now_ms += 1
    assert _will_timestamp(own) == before + 1  # the clock's, unchanged by the refused STATE
