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

:class:`OwnState` keeps the T's; :class:`twin.telemetry.host.SparkplugHost` publishes and repairs.
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
        self._lock = threading.Lock()

    def will(self) -> Will:
        """The Will of a new connection: offline, with a new timestamp (remembered as ours)."""
        with self._lock:
            self._timestamp = self._clock_ms()
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
