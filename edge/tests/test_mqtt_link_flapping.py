"""Two clients with one client id take the MQTT session from each other, and a link says so
(twin_edge.mqtt_link, "A connection the broker keeps closing"). On a real Mosquitto."""

from __future__ import annotations

import logging

import pytest

from twin_edge.mqtt_link import FLAP_LOSSES, MqttLink, Will
from twin_edge.mqtt_settings import MqttSettings
from twin_edge.testing import unique, wait_until

pytestmark = pytest.mark.mqtt


def _link(port: int, client_id: str) -> MqttLink:
    settings = MqttSettings(port=port, reconnect_min_s=0.2, reconnect_max_s=0.5)
    return MqttLink(settings, client_id, subscriptions=[], on_event=lambda _e: None,
                    will_provider=lambda: Will(f"{client_id}/will", b"gone"))


def test_two_clients_with_one_id_are_reported(broker: tuple[str, int], caplog: pytest.LogCaptureFixture) -> None:
    client_id = unique("same-id-")
    first, second = _link(broker[1], client_id), _link(broker[1], client_id)
    with caplog.at_level(logging.ERROR, logger="twin_edge.mqtt_link"):
        first.start()
        wait_until(lambda: first.connected)
        second.start()
        try:
            wait_until(lambda: first.flaps + second.flaps >= FLAP_LOSSES + 1, timeout=30)
            wait_until(lambda: any("same client id" in r.getMessage() and client_id in r.getMessage()
                                   for r in caplog.records), timeout=30)
        finally:
            first.stop()
            second.stop()


def test_a_steady_connection_and_a_clean_restart_are_not_flapping(
    broker: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    link = _link(broker[1], unique("alone-"))
    with caplog.at_level(logging.ERROR, logger="twin_edge.mqtt_link"):
        link.start()
        try:
            wait_until(lambda: link.connected)
            for _ in range(FLAP_LOSSES + 1):  # restarts end the session on purpose: not the broker closing it
                link.restart()
                wait_until(lambda: link.connected)
        finally:
            link.stop()
    assert link.flaps == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
