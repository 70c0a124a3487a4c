"""Retained Sparkplug messages on a real Mosquitto: births, data and deaths are published with the retain flag
false (tck-id-payloads-nbirth-retain, -dbirth-retain, -ndata-retain, -ddata-retain, tck-id-topics-ddeath-mqtt), so
one the broker replays as retained is a stale copy the host refuses; the live messages beside it still count.

What Mosquitto 2.0 does (MQTT 3.1.1 §3.3.1.3, and MQTT 5 without "retain as published"): a retained message is
delivered with the retain flag set to a client that subscribes after it was published, and with the flag clear
to a client subscribed already when it is published. The second case cannot be told from a live message, and is
applied as one.
"""

from __future__ import annotations

import logging

import pytest

from twin.telemetry import CollectingSink, HostConfig, Quality, SparkplugHost
from twin_edge.testing import Recorder, unique, wait_until

from .messages import dbirth, ddata, nbirth

pytestmark = pytest.mark.mqtt


def _feed_counts(sink: CollectingSink) -> list[object]:
    return [s.value for s in sink.samples() if s.metric == "feed_count" and s.quality is Quality.GOOD]


def _clear_retained(edge: Recorder, topics: list[str]) -> None:
    """Empty retained payloads delete the broker's copies (the shared broker persists them across restarts)."""
    for topic in topics:
        edge.publish(topic, b"", qos=1, retain=True)


def test_retained_birth_and_data_from_before_the_host_subscribed_are_refused(
    broker: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """A client leaves an NBIRTH, a DBIRTH and a DDATA (feed_count 5) retained before the host starts: the broker
    replays them to the host as retained; none is applied (the node is not born, nothing reaches the sink), each
    is counted (``retained_refused``) and logged once for its topic. The node's normal birth and data that follow
    are applied: the birth's 0, then 7, never the stale 5."""
    group = unique("g")
    topics = [f"spBv1.0/{group}/{kind}" for kind in ("NBIRTH/gw", "DBIRTH/gw/pot_001", "DDATA/gw/pot_001")]
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/gw")
    sink = CollectingSink()
    host = SparkplugHost(HostConfig(host_id=unique("host"), broker_port=broker[1], group_ids=(group,)), sink)
    try:
        for topic, payload in zip(topics, (nbirth(0), dbirth(0, 1), ddata(0, 2, 5)), strict=True):
            edge.publish(topic, payload, qos=1, retain=True)
        with caplog.at_level(logging.WARNING, logger="twin.telemetry"):
            host.start()
            assert host.wait_online(5)
            wait_until(lambda: host.counters["retained_refused"] == 3)
            assert not host.node_online(group, "gw")
            assert sink.samples() == []

            edge.publish(topics[0], nbirth(1), qos=1)
            edge.publish(topics[1], dbirth(0, 1), qos=1)
            edge.publish(topics[2], ddata(0, 2, 7), qos=1)
            wait_until(lambda: 7 in _feed_counts(sink))
        assert _feed_counts(sink) == [0, 7]
        assert host.device_online(group, "gw", "pot_001")
        counters = host.counters
        assert counters["retained_refused"] == 3
        assert counters["rebirths_requested"] == 0  # the stale DDATA never reached the node's session
        assert counters["internal_errors"] == 0
        warnings = sorted(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
        assert len(warnings) == 3, warnings
        for text, (topic, rule) in zip(
            warnings,
            sorted(zip(topics, ("nbirth", "dbirth", "ddata"), strict=True)),
            strict=True,
        ):
            assert text.startswith(f"'{topic}': retained message refused, not applied (tck-id-payloads-{rule}-retain")
    finally:
        host.stop()
        _clear_retained(edge, topics)
        edge.close()


def test_a_retained_publish_reaches_a_subscriber_as_live_and_a_later_one_as_retained(broker: tuple[str, int]) -> None:
    """A client publishes a DDATA with the retain flag set while the host is subscribed. Mosquitto hands it to the
    subscribers already there with the flag clear (a recorder beside the host sees that), so the host applies it
    as the live message it cannot be told from. The broker keeps it, though: a host subscribing later gets it with
    the flag set and refuses it (counted, no rebirth asked for a DDATA of a node it never saw born)."""
    group = unique("g")
    topics = [f"spBv1.0/{group}/DDATA/gw/pot_001"]
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/gw")
    watcher = Recorder(*broker, topics[0])
    sink, later_sink = CollectingSink(), CollectingSink()
    host = SparkplugHost(HostConfig(host_id=unique("host"), broker_port=broker[1], group_ids=(group,)), sink)
    later = SparkplugHost(HostConfig(host_id=unique("host"), broker_port=broker[1], group_ids=(group,)), later_sink)
    try:
        host.start()
        assert host.wait_online(5)
        edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth(0), qos=1)
        edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", dbirth(0, 1), qos=1)
        edge.publish(topics[0], ddata(0, 2, 5), qos=1, retain=True)
        wait_until(lambda: 5 in _feed_counts(sink))
        (seen,) = watcher.wait_for(lambda ms: len(ms) == 1)
        assert seen.retain is False  # Mosquitto: retained, but live to a subscriber already there
        assert host.counters["retained_refused"] == 0

        later.start()
        assert later.wait_online(5)
        wait_until(lambda: later.counters["retained_refused"] == 1)
        assert later_sink.samples() == []
        assert later.counters["rebirths_requested"] == 0
        assert later.counters["decoded"] == 0  # refused on arrival, never queued
    finally:
        later.stop()
        host.stop()
        _clear_retained(edge, topics)
        watcher.close()
        edge.close()
