"""Which STATE messages of its Primary Host an edge node acts on (Sparkplug 3.0, tck-id-message-flow-edge-node-
birth-publish-phid-wait-timestamp and tck-id-operational-behavior-edge-node-termination-host-offline-timestamp).

A STATE that is not valid JSON STATE, or older than the last one taken, is ignored. So is one stamped more than
``STATE_MAX_AHEAD_MS`` ahead of this node's clock: taken, it would be the timestamp every later STATE had to reach,
and no honest host could, so one hostile publish (a spoofed offline STATE stamped years ahead) would keep the
node waiting for good. What to do with a STATE that is taken (birth, or NDEATH and a new session) is
:class:`twin_edge.gateway.EdgeGateway`'s.
"""

from __future__ import annotations

import logging

from twin_edge.errors import SparkplugError
from twin_edge.gateway_counters import GatewayCounters
from twin_edge.sparkplug import HostState, decode_state

logger = logging.getLogger(__name__)

#: [C] how far past this node's clock a primary host's STATE timestamp is taken. Generous on purpose: an edge box
#: without NTP, or with a drifting real-time clock, may lag the host by minutes to hours, and refusing its host's
#: STATE would keep it from ever publishing; a day still refuses the absurd stamps (years ahead, 2**63) that would
#: otherwise strand the node for good. The twin's host follows a foreign STATE at most a minute past its own clock
#: (twin.telemetry.host_state.MAX_AHEAD_MS).
STATE_MAX_AHEAD_MS = 24 * 3600 * 1000


def admit_state(
    payload: bytes, *, now_ms: int, last_timestamp: int, host_id: str | None, counters: GatewayCounters
) -> HostState | None:
    """The STATE in ``payload`` if this node, its clock at ``now_ms``, acts on it (module docstring), else None
    (logged; one from too far ahead counted in ``counters.states_from_the_future``)."""
    try:
        state = decode_state(payload)
    except SparkplugError as exc:
        logger.warning("invalid STATE ignored: %s", exc)
        return None
    ahead_ms = state.timestamp - now_ms
    if ahead_ms > STATE_MAX_AHEAD_MS:
        counters.states_from_the_future += 1
        logger.warning(
            "STATE of %s stamped %d s ahead of this node's clock ignored (at most %d s is taken): a hostile "
            "publisher, or this node's clock is wrong",
            host_id, ahead_ms // 1000, STATE_MAX_AHEAD_MS // 1000,
        )
        return None
    if state.timestamp < last_timestamp:
        logger.info("stale STATE (timestamp %d) ignored", state.timestamp)
        return None
    return state
