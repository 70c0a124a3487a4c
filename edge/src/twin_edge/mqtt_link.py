"""A paho-mqtt 2.x client running its network loop on its own thread, reporting events through one callback.

The edge node's Will (NDEATH with bdSeq) must change on every new CONNECT, so the link asks ``will_provider``
for the Will right before the first connect and again after every lost connection, before paho reconnects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from twin_edge.config import MqttSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Connected:
    pass


@dataclass(frozen=True, slots=True)
class Disconnected:
    reason: str


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes


LinkEvent = Connected | Disconnected | Received


class MqttLink:
    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        *,
        subscriptions: list[tuple[str, int]],
        on_event: Callable[[LinkEvent], None],
        will_provider: Callable[[], tuple[str, bytes]],
    ) -> None:
        self._settings = settings
        self._subscriptions = subscriptions
        self._on_event = on_event
        self._will_provider = will_provider
        # Sparkplug: Clean Session = true for every client (iiot.md §1.6).
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
        client.max_queued_messages_set(10_000)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        self._client = client
        self._will_unused = False  # True between setting a Will and the CONNECT that carries it
        self._stopping = False

    def start(self) -> None:
        if not self._will_unused:
            self._set_will()
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s)
        self._client.loop_start()

    def stop(self) -> None:
        self._stopping = True  # an intentional disconnect does not consume a bdSeq
        try:
            self._client.disconnect()
            self._client.loop_stop()
        finally:
            self._stopping = False

    def restart(self) -> None:
        """Disconnect cleanly and connect again (a new session, so a new Will and bdSeq)."""
        self.stop()
        self.start()

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> bool:
        """Hand a message to paho; False when the client is not connected (the caller keeps the data)."""
        if not self._client.is_connected():
            return False
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def _set_will(self) -> None:
        topic, payload = self._will_provider()
        self._client.will_set(topic, payload, qos=1, retain=False)
        self._will_unused = True

    # paho callbacks (network thread) ----------------------------------------------------------------------
    def _handle_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            logger.warning("broker refused the connection: %s", reason)
            return
        self._will_unused = False
        for topic, qos in self._subscriptions:
            client.subscribe(topic, qos=qos)
        self._on_event(Connected())

    def _handle_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if not self._stopping:  # paho reconnects by itself: the next CONNECT needs the next bdSeq
            self._set_will()
        self._on_event(Disconnected(str(reason)))

    def _handle_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        self._on_event(Received(message.topic, message.payload))
