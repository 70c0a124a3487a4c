"""Which Primary Host STATEs an edge node acts on (twin_edge.primary_host.admit_state), on a clock the test sets.
The same rules on a real broker: edge/tests/test_edge_sparkplug.py."""

from __future__ import annotations

from twin_edge.gateway_counters import GatewayCounters
from twin_edge.primary_host import STATE_MAX_AHEAD_MS, admit_state
from twin_edge.sparkplug import HostState

NOW = 1_796_640_000_000


def _admit(payload: bytes, last: int = -1) -> tuple[HostState | None, GatewayCounters]:
    counters = GatewayCounters()
    return admit_state(payload, now_ms=NOW, last_timestamp=last, host_id="twin", counters=counters), counters


def test_a_valid_state_at_least_as_new_as_the_last_is_taken() -> None:
    assert _admit(HostState(True, NOW).encode())[0] == HostState(True, NOW)
    assert _admit(HostState(False, NOW).encode(), last=NOW)[0] == HostState(False, NOW)  # as new: taken
    assert _admit(HostState(False, NOW + 3_600_000).encode(), last=NOW)[0] is not None  # a lagging node's clock


def test_invalid_stale_and_far_future_states_are_ignored() -> None:
    assert _admit(b"OFFLINE")[0] is None
    assert _admit(HostState(False, NOW - 1).encode(), last=NOW)[0] is None
    state, counters = _admit(HostState(False, NOW + STATE_MAX_AHEAD_MS + 1).encode())
    assert state is None
    assert counters.states_from_the_future == 1
    assert _admit(HostState(False, NOW + STATE_MAX_AHEAD_MS).encode())[1].states_from_the_future == 0
