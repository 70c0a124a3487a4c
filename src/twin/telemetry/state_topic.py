"""The host's own STATE topic, kept (Sparkplug 3.0 "Host Application Session Establishment"): the online STATE
published once the subscriptions stand, the offline one on a clean stop, and what the host does when its topic
reads anything else while it is connected.

* Offline, or not a STATE at all (a Sparkplug 2.2 ``OFFLINE``, garbage): republish online at once
  (tck-id-message-flow-hid-sparkplug-state-message-delivered), with the reason logged by
  :meth:`twin.telemetry.host_state.OwnState.explain_offline`; a payload that is no STATE counts as
  ``state_repaired``.
* Offline and *newer* than this host's timestamp (another client published it): edge nodes that saw it take no
  online STATE older than it, so the link starts a new session whose timestamp is newer
  (``state_sessions_renewed``; why and within which bound: :mod:`twin.telemetry.host_state`). The restart runs on a
  thread of its own: stopping the link joins paho's network thread, which may be waiting for room in the ingest
  worker's full queue to hand it the disconnect, and the worker is the thread that finds the STATE.

:class:`twin.telemetry.host.SparkplugHost` owns one; the timestamps are :class:`~twin.telemetry.host_state.OwnState`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from twin.telemetry.host_state import MAX_AHEAD_MS, OwnState
from twin.telemetry.samples import IngestCounters
from twin_edge.errors import SparkplugError
from twin_edge.mqtt_link import MqttLink
from twin_edge.sparkplug import HostState, decode_state

logger = logging.getLogger(__name__)


class StateTopicKeeper:
    """Publishes and repairs ``own``'s topic over ``link``; ``stopping()`` says whether the host is stopping."""

    def __init__(
        self, own: OwnState, link: MqttLink, counters: IngestCounters, stopping: Callable[[], bool]
    ) -> None:
        self._own = own
        self._link = link
        self._counters = counters
        self._stopping = stopping
        self._renewal: threading.Thread | None = None  # a new session being started

    def publish_online(self) -> None:
        """The online STATE with the current connection's timestamp (QoS 1, retained)."""
        self._link.publish(self._own.topic, self._own.payload(online=True), qos=1, retain=True)

    def publish_offline(self, wait_s: float) -> bool:
        """The offline STATE of a clean stop, after a new session being started has finished starting (so that the
        stop that follows ends it). False only if connected and the broker did not acknowledge it within ``wait_s``
        (when not connected, the broker has published the Will already)."""
        if self._renewal is not None:
            self._renewal.join(wait_s)
        offline = self._own.payload(online=False)
        if not self._link.connected:
            return True
        return self._link.publish(self._own.topic, offline, qos=1, retain=True, wait_s=wait_s)

    def handle(self, payload: bytes) -> None:
        """A message on our STATE topic (module docstring)."""
        try:
            state: HostState | None = decode_state(payload)
        except SparkplugError as exc:
            # Something else is retained on our STATE topic (e.g. Sparkplug 2.2's plain ``OFFLINE``, or an empty
            # payload): edge nodes waiting for our online STATE would wait forever, so it is replaced like an
            # offline STATE.
            self._counters.malformed += 1
            self._counters.state_repaired += 1
            logger.warning("%s; republishing own online STATE", exc)
            state = None
        if (state is not None and state.online) or self._stopping() or not self._link.connected:
            return
        if state is not None and self._own.outdated_by(state):
            self._renew_session(state)
            return
        if state is not None:
            self._own.explain_offline(state)
        self.publish_online()

    def _renew_session(self, state: HostState) -> None:
        if self._own.follow(state):
            self._counters.state_sessions_renewed += 1
            logger.warning(
                "own STATE reads offline while connected, with timestamp %d, newer than this host's (another "
                "client published it): edge nodes that saw it would ignore its online STATE; starting a new session "
                "with a newer timestamp",
                state.timestamp,
            )
            if self._renewal is None or not self._renewal.is_alive():
                self._renewal = threading.Thread(target=self._restart_link, name="twin-host-renew", daemon=True)
                self._renewal.start()
            return
        logger.error(
            "an offline STATE on %s carries timestamp %d, more than %d s past this host's clock: not followed. Edge "
            "nodes that saw it ignore this host's online STATE until they restart. Let only this host publish on "
            "its STATE topic (a broker ACL, docs/telemetry.md)",
            self._own.topic,
            state.timestamp,
            MAX_AHEAD_MS // 1000,
        )
        self.publish_online()

    def _restart_link(self) -> None:
        self._link.stop()
        if not self._stopping():  # the host was not stopped meanwhile
            self._link.start()
