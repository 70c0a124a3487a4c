"""The Host Application's own STATE (Sparkplug 3.0, "Host Application Session Establishment").

The CONNECT carries the Will ``spBv1.0/STATE/<host_id>`` = ``{"online": false, "timestamp": T}`` (QoS 1,
retained); after subscribing, the host publishes ``{"online": true, "timestamp": T}`` (QoS 1, retained) with the
same T (tck-id-host-topic-phid-birth-payload-timestamp); if it ever sees its own STATE offline while connected
it republishes online (tck-id-message-flow-hid-sparkplug-state-message-delivered; it replaces anything else
retained there too, e.g. a Sparkplug 2.2 ``OFFLINE``); on a clean stop it publishes offline before
disconnecting.

What an offline STATE seen while connected means, from its T:

* one of this host's earlier T: every CONNECT carries a new T, so after a lost connection the broker published
  that connection's Will and replays it, retained, when the host subscribes again: expected, INFO;
* older than this host object and delivered retained (:meth:`OwnState.note_replayed`): the Will of an earlier run
  of this host (the twin restarted after a crash or a kill), replayed at the first subscription: expected, INFO;
* anything else was published by another client (live, it reaches the host with the retain flag clear, MQTT 3.1.1
  §3.3.1.3): a warning.

**A foreign offline STATE newer than ours strands the edge nodes.** An edge node ends its session on an
offline STATE and then takes only a STATE whose timestamp is at least the last it saw
(tck-id-message-flow-edge-node-birth-publish-phid-wait-timestamp, -termination-host-offline-timestamp; our
gateway, :mod:`twin_edge.gateway`, does the same). Republishing online with our T, older than the foreign one,
then leaves every edge node that saw it waiting for good: found by publishing ``{"online": false, "timestamp":
<now>}`` on the demo's STATE topic with mosquitto_pub (2026-12-07): the gateway ended its session and sent nothing
more. So the host starts a new session instead (:meth:`OwnState.outdated_by`, :meth:`OwnState.follow`), whose
Will and online STATE carry a T newer than the foreign one. It follows no further than ``MAX_AHEAD_MS`` (a
minute) past its own clock: a STATE from further ahead is not a clock's skew but a hostile or broken publisher,
and chasing it would stamp our STATE with a made-up time; that is logged as an error naming the remedy (only
the host may publish on its STATE topic: a broker ACL, docs/telemetry.md).

:class:`OwnState` keeps the T's; :class:`twin.telemetry.state_topic.StateTopicKeeper` publishes and repairs.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from twin_edge.errors import SparkplugError
from twin_edge.mqtt_link import Will
from twin_edge.sparkplug import HostState, StateTopic, decode_state

logger = logging.getLogger(__name__)

WILLS_KEPT = 64  # the Will timestamps of this many connections (or earlier runs) are known (the oldest forgotten)
#: [C] how far past the host's clock a foreign STATE's timestamp is followed (module docstring): NTP keeps a
#: plant's clocks within milliseconds to seconds of each other, so a minute is far beyond a working publisher's
#: skew; and it stays well inside the day our gateway takes (twin_edge.primary_host.STATE_MAX_AHEAD_MS), so the
#: timestamp the host takes on is one an edge node whose clock lags the host's by hours still accepts
MAX_AHEAD_MS = 60 * 1000


class OwnState:
    """The host's STATE timestamps: the current one, its Wills' and earlier runs'. Thread-safe: the MQTT thread
    makes Wills and notes replays, the worker explains what it sees."""

    def __init__(self, host_id: str, clock_ms: Callable[[], int]) -> None:
        self.topic = str(StateTopic(host_id))
        self._clock_ms = clock_ms
        self._timestamp = clock_ms()
        self._started_ms = self._timestamp  # older timestamps are an earlier run's
        self._wills: deque[int] = deque(maxlen=WILLS_KEPT)  # this host's Will timestamps, newest last
        self._earlier_runs: deque[int] = deque(maxlen=WILLS_KEPT)  # earlier runs' Will timestamps, found retained
        self._newer_than = -1  # the next connection's timestamp must exceed this (a foreign STATE's, :meth:`follow`)
        self._lock = threading.Lock()

    def will(self) -> Will:
        """The Will of a new connection: offline, with a new timestamp (remembered as ours): the clock's, or just
        past a foreign STATE's that :meth:`follow` took on."""
        with self._lock:
            self._timestamp = max(self._clock_ms(), self._newer_than + 1)
            self._wills.append(self._timestamp)
            timestamp = self._timestamp
        return Will(self.topic, HostState(False, timestamp).encode(), qos=1, retain=True)

    def payload(self, online: bool) -> bytes:
        """The STATE payload for the current connection."""
        return HostState(online, self._timestamp).encode()

    def note_replayed(self, payload: bytes) -> None:
        """A STATE on our topic delivered with the retain flag set (replayed at our subscription): an offline one
        older than this object is an earlier run's Will (module docstring). Not a STATE: left to the worker."""
        try:
            state = decode_state(payload)
        except SparkplugError:
            return
        if not state.online and state.timestamp < self._started_ms:
            with self._lock:
                self._earlier_runs.append(state.timestamp)

    def outdated_by(self, state: HostState) -> bool:
        """Whether ``state`` is an offline STATE newer than our current timestamp: edge nodes that saw it ignore
        our online STATE (module docstring). One as new as ours is not: they take an online STATE with the same
        timestamp. None of our or our earlier runs' Wills is newer than the current connection's."""
        with self._lock:
            return not state.online and state.timestamp > self._timestamp

    def follow(self, state: HostState) -> bool:
        """Make the next connection's timestamp newer than ``state``'s; False (and nothing changes) if that
        would put it more than ``MAX_AHEAD_MS`` past our clock."""
        if state.timestamp > self._clock_ms() + MAX_AHEAD_MS:
            return False
        with self._lock:
            self._newer_than = max(self._newer_than, state.timestamp)
        return True

    def explain_offline(self, state: HostState) -> None:
        """Log why our STATE reads offline while we are connected (module docstring): INFO when expected."""
        with self._lock:
            ours = state.timestamp in self._wills and state.timestamp != self._timestamp
            earlier_run = state.timestamp in self._earlier_runs
        if earlier_run:
            logger.info(
                "own STATE reads offline from the Will of an earlier run of this host (timestamp %d, found retained "
                "at subscribe); republishing online",
                state.timestamp,
            )
        elif ours:
            logger.info(
                "own STATE reads offline from the Will of a lost connection (timestamp %d); republishing online",
                state.timestamp,
            )
        else:
            logger.warning(
                "own STATE reads offline while connected, with timestamp %d, which no earlier connection of this "
                "host used (another client published it); republishing online",
                state.timestamp,
            )
