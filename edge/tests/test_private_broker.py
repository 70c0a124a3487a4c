"""The private test broker restarts on its port (tests stop it to make an outage) and says why when it cannot."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from twin_edge.testing import PrivateBroker, broker_reachable


def _ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_its_ports_lie_below_the_ephemeral_range_so_a_restart_finds_them_free() -> None:
    broker = PrivateBroker()
    low, _ = _ephemeral_range()
    assert broker.port < low
    assert broker.port2 < low
    broker.start()
    try:
        assert broker_reachable("127.0.0.1", broker.port)
        broker.stop()
        assert not broker_reachable("127.0.0.1", broker.port)
        broker.start()
        assert broker_reachable("127.0.0.1", broker.port)
    finally:
        broker.stop()


def test_a_broker_that_cannot_listen_fails_with_its_log() -> None:
    broker = PrivateBroker()
    with socket.socket() as squatter:  # bound, not listening: connections are refused, mosquitto's bind fails
        squatter.bind(("127.0.0.1", broker.port))
        with pytest.raises(RuntimeError, match=f"port {broker.port}.*its log"):
            broker.start()
