"""The one MQTT connection module of the project: the gateway and the twin's Sparkplug host both use it.

A paho-mqtt 2.x client with its network loop on its own thread, reporting through one callback (``on_event``,
called on paho's thread: keep it short). It applies :class:`~twin_edge.mqtt_settings.MqttSettings`
(username/password, TLS with CA, client certificate and host-name check), Clean Session always (Sparkplug),
and asks ``will_provider`` for the Will right before the first CONNECT and again after every lost connection,
before paho reconnects (the edge node's NDEATH carries a new bdSeq, the host's STATE a new timestamp).

Events: :class:`Connected` (CONNACK accepted, subscriptions sent), :class:`Subscribed` (every subscription of
this connection acknowledged), :class:`Disconnected` (``clean`` when :meth:`stop` caused it), :class:`Received`.

**A connection the broker keeps closing.** Two clients with one client id take the session from each other
(MQTT 3.1.1 §3.1.4: the broker disconnects the existing client), and each reconnects at once: both links flap
every few seconds, each loss fires a Will, and nothing says why. Found by starting a second ``twin demo`` against
the broker of a running one (2026-12-07): the two hosts and the two gateways, with the same ids, took turns
for as long as both ran, logging only "lost the broker (Unspecified error)". So a link that loses
``FLAP_LOSSES`` connections within ``FLAP_WINDOW_S``, each within ``FLAP_SHORT_S`` of its CONNACK, logs an error
that names its client id and the likely causes, once per window (``flaps`` counts such losses).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from twin_edge.mqtt_settings import MqttSettings, tls_context

logger = logging.getLogger(__name__)

#: [C] a connection lost within this long of its CONNACK counts as short-lived; a takeover fight loses each one
#: within the reconnect back-off (0.2-5 s here), while a broker that is merely unreachable never gets a CONNACK
FLAP_SHORT_S = 10.0
FLAP_LOSSES = 3  # [C] this many short-lived connections ...
FLAP_WINDOW_S = 60.0  # ... within this long: the broker keeps closing the connection (module docstring)


@dataclass(frozen=True, slots=True)
class Connected:
    pass


@dataclass(frozen=True, slots=True)
class Subscribed:
    pass


@dataclass(frozen=True, slots=True)
class Disconnected:
    reason: str
    clean: bool = False  # True when this side ended the session on purpose (stop/restart)


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


LinkEvent = Connected | Subscribed | Disconnected | Received


class MqttLink:
    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        *,
        subscriptions: list[tuple[str, int]],
        on_event: Callable[[LinkEvent], None],
        will_provider: Callable[[], Will | tuple[str, bytes]],
        max_queued_messages: int = 10_000,
        on_message: Callable[[str, bytes], None] | None = None,
    ) -> None:
        """``on_message(topic, payload)``: if given, messages go there instead of ``on_event(Received(...))`` (the
        host's hot path: no event object per message)."""
        self._settings = settings
        self._subscriptions = subscriptions
        self._on_event = on_event
        self._on_message = on_message
        self._will_provider = will_provider
        # Sparkplug: Clean Session = true for every client (iiot.md §1.6).
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
        client.max_queued_messages_set(max_queued_messages)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls is not None:
            client.tls_set_context(tls_context(settings.tls))
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_subscribe = self._handle_subscribe
        client.on_message = self._handle_message
        self._client = client
        self._pending_subscriptions: set[int] = set()
        self._will_unused = False  # True between setting a Will and the CONNECT that carries it
        self._stopping = False
        self.undecodable_topics = 0  # messages whose topic is not UTF-8 (MQTT forbids it; counted, dropped)
        self.flaps = 0  # connections the broker closed within FLAP_SHORT_S of accepting them
        self._client_id = client_id
        self._connected_at: float | None = None  # monotonic time of the last CONNACK
        self._short_losses: list[float] = []  # when the recent short-lived connections were lost
        self._flap_reported_at = -FLAP_WINDOW_S

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def start(self) -> None:
        if not self._will_unused:
            self._set_will()
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping = True  # an intentional disconnect: a clean end, and it does not consume a Will
        try:
            self._client.disconnect()
            self._client.loop_stop()
        finally:
            self._stopping = False

    def restart(self) -> None:
        """Disconnect cleanly and connect again (a new session, so a new Will)."""
        self.stop()
        self.start()

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False, wait_s: float | None = None
    ) -> bool:
        """Hand a message to paho; False when the client is not connected (the caller keeps the data).

        ``wait_s``: for QoS > 0, wait up to this long for the broker's acknowledgement (False if it did not come).
        """
        if not self._client.is_connected():
            return False
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False
        if wait_s is not None and qos > 0:
            try:
                info.wait_for_publish(wait_s)
            except (RuntimeError, ValueError):
                return False
            return info.is_published()
        return True

    def _set_will(self) -> None:
        will = self._will_provider()
        if not isinstance(will, Will):
            will = Will(*will)
        self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self._will_unused = True

    # paho callbacks (network thread) ----------------------------------------------------------------------
    def _handle_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            logger.warning("broker %s:%d refused the connection: %s", self._settings.host, self._settings.port, reason)
            return
        self._will_unused = False
        self._connected_at = time.monotonic()
        self._pending_subscriptions = {client.subscribe(topic, qos=qos)[1] for topic, qos in self._subscriptions}
        self._on_event(Connected())
        if not self._subscriptions:
            self._on_event(Subscribed())

    def _handle_subscribe(self, _c: mqtt.Client, _u: object, mid: int, codes: object, _p: object) -> None:
        refused = [c for c in codes if getattr(c, "is_failure", False)] if isinstance(codes, list) else []
        if refused:  # e.g. an ACL that does not let this client read the topic
            logger.error("broker refused a subscription (%s): %s", refused, self._subscriptions)
        pending = self._pending_subscriptions
        if mid in pending:
            pending.discard(mid)
            if not pending:
                self._on_event(Subscribed())

    def _handle_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        clean = self._stopping
        if not clean:  # paho reconnects by itself: the next CONNECT needs the next Will
            self._set_will()
            self._note_loss(time.monotonic())
        self._connected_at = None
        self._on_event(Disconnected(str(reason), clean))

    def _note_loss(self, now: float) -> None:
        """Count a connection the broker closed soon after accepting it; report a run of them (module docstring)."""
        if self._connected_at is None or now - self._connected_at > FLAP_SHORT_S:
            return
        self.flaps += 1
        self._short_losses = [t for t in self._short_losses if now - t <= FLAP_WINDOW_S] + [now]
        if len(self._short_losses) >= FLAP_LOSSES and now - self._flap_reported_at > FLAP_WINDOW_S:
            self._flap_reported_at = now
            logger.error(
                "the broker %s:%d closed %d connections of client id %r within %.0f s of accepting each: another "
                "client is probably connecting with the same client id (each connection takes the session from "
                "the other), e.g. a second twin or gateway with the same ids; or the broker's ACL or limits refuse "
                "this client after it connects",
                self._settings.host, self._settings.port, len(self._short_losses), self._client_id, FLAP_SHORT_S,
            )

    def _handle_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            self.undecodable_topics += 1
            return
        if self._on_message is not None:
            self._on_message(topic, message.payload)
        else:
            self._on_event(Received(topic, message.payload, bool(message.retain)))
