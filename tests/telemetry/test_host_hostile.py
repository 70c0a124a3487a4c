"""Hostile traffic on a real Mosquitto: what a client makes up (node names here) cannot grow the host's memory
without bound, and the real edge nodes keep working beside it."""

from __future__ import annotations

import os
import time

import pytest

from twin.telemetry import CollectingSink, HostConfig, Quality, SparkplugHost, samples
from twin_edge.testing import Recorder, unique

from .messages import dbirth, ddata, nbirth

pytestmark = pytest.mark.mqtt


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_made_up_edge_node_names_stay_within_max_edge_nodes(
    broker: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 made-up edge nodes (births, DATA before any birth, garbage) beside a real one: the host holds state for
    at most ``max_edge_nodes`` nodes and per-node drop labels for at most ``MAX_NODE_LABELS`` (the rest under
    ``(other)``); the real node, forgotten on the way, is asked for a rebirth by its next DATA and works again."""
    monkeypatch.setattr(samples, "MAX_NODE_LABELS", 4)
    group = unique("g")
    sink = CollectingSink()
    host = SparkplugHost(
        HostConfig(host_id=unique("host"), broker_port=broker[1], group_ids=(group,), max_edge_nodes=5), sink
    )
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/gw")
    host.start()
    try:
        assert host.wait_online(5)
        edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth(0), qos=1)
        edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", dbirth(0, 1), qos=1)
        wait_until(lambda: host.device_online(group, "gw", "pot_001"))
        for i in range(20):
            edge.publish(f"spBv1.0/{group}/NBIRTH/fake{i}", nbirth(0), qos=1)
            edge.publish(f"spBv1.0/{group}/DBIRTH/fake{i}/pot_{i:03d}", dbirth(0, 1), qos=1)
            edge.publish(f"spBv1.0/{group}/DDATA/unborn{i}/pot_001", ddata(0, 2, 1), qos=1)
            edge.publish(f"spBv1.0/{group}/NDATA/junk{i}", os.urandom(64), qos=1)
        wait_until(lambda: host.counters["received"] >= 2 + 80 + 1)  # + its own STATE
        wait_until(lambda: host.queue_depth == 0)
        assert host.edge_nodes <= 5
        counters = host.counters
        assert counters["nodes_forgotten"] >= 56
        assert counters["malformed"] >= 20
        labels = [k for k in counters if k.startswith("dropped{")]
        assert len(labels) <= 4 + 1  # (other) counts the rest, per reason
        assert counters['dropped{node="(other)",reason="malformed"}'] >= 16
        assert not host.node_online(group, "gw")  # forgotten: its metrics went STALE
        assert any(s.node == "gw" and s.quality is Quality.STALE for s in sink.samples())

        edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 2, 5), qos=1)
        edge.wait_for(lambda ms: len(ms) == 1)  # NCMD Node Control/Rebirth
        edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth(1), qos=1)
        edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", dbirth(0, 1), qos=1)
        edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 2, 6), qos=1)
        wait_until(lambda: any(s.node == "gw" and s.metric == "feed_count" and s.value == 6 for s in sink.samples()))
        assert counters["internal_errors"] == 0
    finally:
        edge.close()
        host.stop()
