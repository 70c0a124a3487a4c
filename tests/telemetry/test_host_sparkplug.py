"""Host Application behaviour on a real Mosquitto, named after Sparkplug 3.0 conformance (tck-id) assertions."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from twin.errors import TelemetryError
from twin.telemetry import AsyncSampleStream, CollectingSink, HostConfig, Quality, Sample, SparkplugHost
from twin_edge.sparkplug import REBIRTH_METRIC, decode_payload
from twin_edge.testing import PrivateBroker, Recorder, unique, wait_until

from .messages import dbirth, ddata, nbirth, ndeath
from .partition import PartitionableRelay

pytestmark = pytest.mark.mqtt


@pytest.fixture
def ids() -> tuple[str, str]:
    return unique("g"), unique("host")


@pytest.fixture
def host(broker: tuple[str, int], ids: tuple[str, str]) -> Iterator[tuple[SparkplugHost, CollectingSink]]:
    group, host_id = ids
    sink = CollectingSink()
    h = SparkplugHost(
        HostConfig(
            host_id=host_id, broker_port=broker[1], group_ids=(group,), reorder_timeout_s=0.3, max_payload_bytes=10_000
        ),
        sink,
    )
    h.start()
    assert h.wait_online(5)
    yield h, sink
    h.stop()


@pytest.fixture
def edge(broker: tuple[str, int], ids: tuple[str, str]) -> Iterator[Recorder]:
    """A hand-driven edge node: publishes what the test says and records NCMDs sent to it."""
    rec = Recorder(*broker, f"spBv1.0/{ids[0]}/NCMD/#")
    yield rec
    rec.close()


def counts(sink: CollectingSink) -> list[int]:
    return [s.value for s in sink.samples() if s.metric == "feed_count" and s.quality is Quality.GOOD]  # type: ignore[misc]


def born(edge: Recorder, group: str, bdseq: int = 0) -> None:
    edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth(bdseq))
    edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", dbirth(0, 1))


def test_tck_id_host_topic_phid_birth_payload(broker: tuple[str, int], ids: tuple[str, str]) -> None:
    """tck-id-host-topic-phid-birth-qos/-retain/-payload, tck-id-host-topic-phid-death-payload (Will): the online
    STATE is retained at QoS 1; when the host dies abruptly the broker publishes the retained offline Will with
    the *same* timestamp (tck-id-host-topic-phid-birth-payload-timestamp)."""
    group, host_id = ids
    code = (
        f"import time; from twin.telemetry import *; h = SparkplugHost(HostConfig(host_id={host_id!r}, "
        f"broker_port={broker[1]}, group_ids=({group!r},)), CollectingSink()); h.start(); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    rec = Recorder(*broker, f"spBv1.0/STATE/{host_id}")
    try:
        rec.wait_for(lambda ms: any(json.loads(m.payload)["online"] for m in ms if m.payload))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        rec.wait_for(lambda ms: any(not json.loads(m.payload)["online"] for m in ms if m.payload))
    finally:
        if proc.poll() is None:
            proc.kill()
        rec.close()
    online, offline = (json.loads(m.payload) for m in rec.messages()[:2])
    assert online["online"] is True
    assert offline["online"] is False
    assert online["timestamp"] == offline["timestamp"]
    assert abs(online["timestamp"] / 1000 - time.time()) < 120
    assert all(m.qos == 1 for m in rec.messages()[:2])
    # A late subscriber sees the offline STATE as retained.
    late = Recorder(*broker, f"spBv1.0/STATE/{host_id}")
    try:
        (retained,) = late.wait_for(lambda ms: len(ms) == 1)
        assert retained.retain
        assert json.loads(retained.payload)["online"] is False
    finally:
        late.publish(f"spBv1.0/STATE/{host_id}", b"", qos=1, retain=True)
        late.close()


def test_tck_id_operational_behavior_host_application_death_on_clean_stop(
    broker: tuple[str, int], ids: tuple[str, str]
) -> None:
    """tck-id-operational-behavior-host-application-termination (intentional disconnect): offline STATE,
    retained, is published before DISCONNECT; then tck-id-message-flow-hid-sparkplug-state-message-delivered:
    a host that sees its own STATE offline while connected republishes online."""
    group, host_id = ids
    rec = Recorder(*broker, f"spBv1.0/STATE/{host_id}")
    h = SparkplugHost(HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(group,)), CollectingSink())
    try:
        h.start()
        assert h.wait_online(5)
        rec.wait_for(lambda ms: len(ms) == 1)
        rec.publish(
            f"spBv1.0/STATE/{host_id}", json.dumps({"online": False, "timestamp": 1}).encode(), qos=1, retain=True
        )
        rec.wait_for(lambda ms: len(ms) >= 3 and json.loads(ms[-1].payload)["online"])
        h.stop()
        rec.wait_for(lambda ms: not json.loads(ms[-1].payload)["online"])
    finally:
        rec.publish(f"spBv1.0/STATE/{host_id}", b"", qos=1, retain=True)
        rec.close()


def _state(payload: bytes) -> tuple[bool, int] | None:
    """(online, timestamp) of a JSON STATE payload; None for anything else."""
    try:
        doc = json.loads(payload)
        return doc["online"], doc["timestamp"]
    except (ValueError, TypeError, KeyError):
        return None


def test_own_will_seen_after_a_reconnect_is_expected_and_a_foreign_offline_state_is_not(
    private_broker: PrivateBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """tck-id-message-flow-hid-sparkplug-state-message-delivered after a lost connection: the host's link is cut,
    the broker publishes its Will (offline, the connection's timestamp T1), the host reconnects with a new
    timestamp and, subscribing again, gets that offline STATE replayed. It republishes online, as ever, but this
    is the expected sequence and no warning (it used to log "own STATE reads offline while connected" at WARNING
    after every reconnect). An offline STATE with a timestamp the host never used, and a payload that is no STATE,
    published by another client while the host is connected, still are warnings."""
    group, host_id = unique("g"), unique("host")
    topic = f"spBv1.0/STATE/{host_id}"
    relay = PartitionableRelay(private_broker.port)
    states = Recorder("127.0.0.1", private_broker.port, topic)
    config = HostConfig(
        host_id=host_id, broker_port=relay.port, group_ids=(group,), keepalive_s=1, reconnect_min_s=0.2,
        reconnect_max_s=1.0,
    )
    h = SparkplugHost(config, CollectingSink())

    def logged(text: str, level: int) -> bool:
        return any(text in r.getMessage() and r.levelno == level for r in caplog.records)

    try:
        with caplog.at_level(logging.INFO, logger="twin.telemetry"):
            h.start()
            assert h.wait_online(5)
            (first,) = states.wait_for(lambda ms: len(ms) == 1)
            online, t1 = _state(first.payload) or (None, None)
            assert online is True
            relay.cut()
            states.wait_for(lambda ms: _state(ms[-1].payload) == (False, t1))  # the broker published the Will
            wait_until(lambda: not h.wait_online(0))  # and the host noticed the loss
            relay.heal()
            assert h.wait_online(10)
            wait_until(lambda: logged(f"own STATE reads offline from the Will of a lost connection (timestamp {t1})",
                                      logging.INFO))
            states.wait_for(lambda ms: (_state(ms[-1].payload) or (None,))[0] is True)  # online again, retained
            assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "STATE" in r.msg] == []

            states.publish(topic, json.dumps({"online": False, "timestamp": 1}).encode(), qos=1, retain=True)
            wait_until(lambda: logged("own STATE reads offline while connected, with timestamp 1, which no earlier "
                                      "connection of this host used", logging.WARNING))
            states.publish(topic, b"OFFLINE", qos=1, retain=True)
            wait_until(lambda: logged("STATE payload b'OFFLINE' is invalid", logging.WARNING))
            wait_until(lambda: h.counters["state_repaired"] >= 1)
            # repaired: an online STATE follows the invalid payload (not necessarily right after it: on a loaded
            # machine the host's 1-s keepalive may lapse and its reconnect republish online once more)
            states.wait_for(lambda ms: _online_after(ms, b"OFFLINE"))
    finally:
        h.stop()
        states.close()
        relay.close()


def _online_after(messages: list, payload: bytes) -> bool:
    """Whether an online STATE was recorded after the last message carrying ``payload``."""
    marks = [k for k, m in enumerate(messages) if m.payload == payload]
    return bool(marks) and any((_state(m.payload) or (None,))[0] is True for m in messages[marks[-1] + 1:])


def test_an_earlier_runs_will_found_at_start_is_expected_not_a_warning(
    broker: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """A twin restarted after a crash or a kill finds its predecessor's Will retained on its STATE topic (offline,
    with that run's older timestamp). tck-id-message-flow-hid-sparkplug-state-message-delivered: it republishes
    online, as ever; but this is what a restart looks like, logged at INFO, not as a foreign STATE (a warning, which
    the test above keeps for an offline STATE another client publishes while the host is connected)."""
    host_id = unique("host")
    topic = f"spBv1.0/STATE/{host_id}"
    states = Recorder(*broker, topic)
    earlier = int(time.time() * 1000) - 60_000
    h = SparkplugHost(HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(unique("g"),)), CollectingSink())

    def logged(text: str, level: int) -> bool:
        return any(text in r.getMessage() and r.levelno == level for r in caplog.records)

    try:
        states.publish(topic, json.dumps({"online": False, "timestamp": earlier}).encode(), qos=1, retain=True)
        states.wait_for(lambda ms: _state(ms[-1].payload) == (False, earlier))  # retained at the broker
        with caplog.at_level(logging.INFO, logger="twin.telemetry"):
            h.start()
            assert h.wait_online(5)
            wait_until(lambda: logged(f"Will of an earlier run of this host (timestamp {earlier}", logging.INFO))
            states.wait_for(lambda ms: (_state(ms[-1].payload) or (None,))[0] is True)  # online, retained
            assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "STATE" in r.msg] == []
    finally:
        h.stop()
        states.publish(topic, b"", qos=1, retain=True)  # the shared broker keeps retained messages: clear ours
        states.close()


def test_tck_id_operational_behavior_host_reordering_success(
    host: tuple[SparkplugHost, CollectingSink], edge: Recorder, ids: tuple[str, str]
) -> None:
    """tck-id-operational-behavior-host-reordering-start/-success over a broker: seq 3 before 2 is held back,
    applied in seq order once 2 arrives; no rebirth request."""
    h, sink = host
    group = ids[0]
    born(edge, group)
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 3, 2))
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 2, 1))
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 4, 3))
    wait_until(lambda: len(counts(sink)) == 4)
    time.sleep(0.5)
    assert counts(sink) == [0, 1, 2, 3]
    assert h.counters["rebirths_requested"] == 0
    assert edge.messages() == []


def test_tck_id_operational_behavior_host_reordering_rebirth(
    host: tuple[SparkplugHost, CollectingSink], edge: Recorder, ids: tuple[str, str]
) -> None:
    """tck-id-operational-behavior-host-reordering-rebirth, tck-id-operational-behavior-data-commands-rebirth-
    name: a missing seq not filled within the Reorder Timeout yields one NCMD ``Node Control/Rebirth`` = true."""
    h, sink = host
    group = ids[0]
    born(edge, group)
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 3, 2))  # seq 2 never comes
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 4, 3))
    (ncmd,) = edge.wait_for(lambda ms: len(ms) == 1, timeout=5)
    assert ncmd.topic == f"spBv1.0/{group}/NCMD/gw"
    (metric,) = decode_payload(ncmd.payload).metrics
    assert metric.name == REBIRTH_METRIC
    assert metric.value is True
    assert metric.timestamp is not None
    assert h.counters["seq_gaps"] == 1
    assert counts(sink) == [0, 2, 3]
    born(edge, group)  # the edge answers with a new birth: back in order
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 2, 9))
    wait_until(lambda: counts(sink)[-1:] == [9])
    assert len(edge.messages()) == 1


def test_tck_id_operational_behavior_edge_node_termination_host_action_ndeath_node_tags_stale(
    host: tuple[SparkplugHost, CollectingSink], edge: Recorder, ids: tuple[str, str]
) -> None:
    """tck-id-...-ndeath-node-offline/-node-tags-stale/-devices-offline/-devices-tags-stale over a broker."""
    h, sink = host
    group = ids[0]
    born(edge, group, bdseq=5)
    wait_until(lambda: h.device_online(group, "gw", "pot_001"))
    before = time.time_ns() // 1_000_000
    edge.publish(f"spBv1.0/{group}/NDEATH/gw", ndeath(4), qos=1)  # stale Will of an older session: ignored
    edge.publish(f"spBv1.0/{group}/NDEATH/gw", ndeath(5), qos=1)
    wait_until(lambda: not h.node_online(group, "gw"))
    stale = [s for s in sink.samples() if s.quality is Quality.STALE]
    assert {s.metric for s in stale} == {"cell_voltage_V", "feed_count", "offset"}
    assert all(s.timestamp_ms >= before for s in stale)
    assert not h.device_online(group, "gw", "pot_001")


def test_broker_loss_marks_everything_stale(private_broker: PrivateBroker) -> None:
    """Operational Behavior, host session establishment step 4 (tck-not-testable in the TCK, normative): when the
    host loses the broker every metric it holds goes STALE."""
    group, host_id = unique("g"), unique("host")
    sink = CollectingSink()
    h = SparkplugHost(HostConfig(host_id=host_id, broker_port=private_broker.port, group_ids=(group,)), sink)
    edge = Recorder("127.0.0.1", private_broker.port, f"spBv1.0/{group}/NCMD/#")
    try:
        h.start()
        assert h.wait_online(5)
        born(edge, group)
        wait_until(lambda: h.device_online(group, "gw", "pot_001"))
        private_broker.stop()
        wait_until(lambda: any(s.quality is Quality.STALE for s in sink.samples()))
    finally:
        edge.close()
        h.stop()
    assert {s.metric for s in sink.samples() if s.quality is Quality.STALE} == {
        "cell_voltage_V",
        "feed_count",
        "offset",
    }
    assert not h.node_online(group, "gw")


def test_malformed_unknown_wrong_and_oversized_are_counted_and_ingest_goes_on(
    host: tuple[SparkplugHost, CollectingSink], edge: Recorder, ids: tuple[str, str]
) -> None:
    """Bad input never crashes ingest: each kind is counted, and the next valid message is applied."""
    h, sink = host
    group = ids[0]
    born(edge, group)
    topic = f"spBv1.0/{group}/DDATA/gw/pot_001"
    from twin_edge.sparkplug import Metric, encode_payload

    edge.publish(topic, b"\xff\xfe not protobuf")
    edge.publish(f"spBv1.0/{group}/BOGUS/gw", b"")
    edge.publish(
        topic,
        encode_payload([Metric(alias=4242, timestamp=1, value=1.0, value_field="float_value")], timestamp=1, seq=2),
    )
    edge.publish(
        topic,
        encode_payload([Metric(alias=2, timestamp=1, value=True, value_field="boolean_value")], timestamp=1, seq=3),
    )
    edge.publish(topic, b"\x00" * 20_000)
    edge.publish(topic, ddata(0, 4, 7))
    wait_until(lambda: 7 in counts(sink))
    c = h.counters
    assert c["malformed"] == 2
    assert c["unknown_alias"] == 1
    assert c["wrong_datatype"] == 1
    assert c["oversized"] == 1
    assert counts(sink) == [0, 7]


def _flood(h: SparkplugHost, broker: tuple[str, int], group: str, messages: int, first: int) -> Recorder:
    """Start ``h``, give it a birth and ``messages`` DDATA (feed counts from ``first``) as fast as the edge can;
    the edge recorder is returned for the caller to close."""
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/#")
    h.start()
    assert h.wait_online(5)
    born(edge, group)
    for i in range(messages):
        edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 2 + i, first + i))
    return edge


def test_full_queue_holds_the_backlog_in_the_broker_and_loses_nothing(
    broker: tuple[str, int], ids: tuple[str, str]
) -> None:
    """A sink slower than the stream fills the bounded queue; the network thread waits for room (TCP flow control
    keeps the rest in the broker's QoS 1 session queue) and every message is applied, none dropped."""
    group, host_id = ids

    class SlowSink(CollectingSink):
        def accept(self, samples: Sequence[Sample]) -> None:
            time.sleep(0.02)
            super().accept(samples)

    sink = SlowSink()
    h = SparkplugHost(HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(group,), queue_size=5), sink)
    edge = _flood(h, broker, group, 60, first=1)
    try:
        wait_until(lambda: len(counts(sink)) >= 61, timeout=20)
        assert counts(sink) == list(range(61))  # the birth's 0, then every DDATA in order
        c = h.counters
        assert c["queue_waits"] > 0
        assert c["queue_overflow"] == c["seq_gaps"] == 0
    finally:
        edge.close()
        h.stop()


def test_stuck_worker_drops_after_the_wait_and_counts_it(broker: tuple[str, int], ids: tuple[str, str]) -> None:
    """A sink that never returns: each message waits ``queue_full_wait_s`` for room, then is dropped and counted;
    the MQTT thread keeps receiving and the host stays connected."""
    group, host_id = ids
    gate = threading.Event()

    class BlockedSink:
        def accept(self, samples: Sequence[Sample]) -> None:
            gate.wait(20)

    h = SparkplugHost(
        HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(group,), queue_size=5, queue_full_wait_s=0.05),
        BlockedSink(),
    )
    edge = _flood(h, broker, group, 50, first=0)
    try:
        wait_until(lambda: h.counters["received"] >= 52)  # + its own STATE
        assert h.counters["queue_overflow"] >= 40
        assert h.counters["queue_waits"] >= h.counters["queue_overflow"]
        assert h.wait_online(0)
    finally:
        gate.set()
        edge.close()
        h.stop()


def test_queued_payload_bytes_stay_within_their_budget(broker: tuple[str, int], ids: tuple[str, str]) -> None:
    """The ingest queue is bounded in bytes as well as in messages: behind a stuck worker, large payloads queue
    only up to ``max_queued_bytes`` (the rest wait, then are dropped and counted), and the worker gives every
    byte back as it handles them. An oversized payload is dropped on arrival, never queued."""
    group, host_id = ids
    gate = threading.Event()

    class BlockedSink:
        def accept(self, samples: Sequence[Sample]) -> None:
            gate.wait(20)

    size, budget = 250_000, 1_000_000
    h = SparkplugHost(
        HostConfig(
            host_id=host_id, broker_port=broker[1], group_ids=(group,), queue_size=100, queue_full_wait_s=0.05,
            max_payload_bytes=300_000, max_queued_bytes=budget,
        ),
        BlockedSink(),
    )
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/#")
    peak = 0
    try:
        h.start()
        assert h.wait_online(5)
        born(edge, group)  # its samples block the worker in the sink
        wait_until(lambda: h.queue_depth == 0 and h.counters["decoded"] >= 2)
        topic = f"spBv1.0/{group}/DDATA/gw/pot_001"
        edge.publish(topic, b"\x00" * 400_000)  # over max_payload_bytes
        for _ in range(10):
            edge.publish(topic, b"\x00" * size)

        def all_received() -> bool:
            nonlocal peak
            peak = max(peak, h.queued_bytes)
            return h.counters["received"] >= 1 + 2 + 11  # its own STATE, the births, ours

        wait_until(all_received)
        # each of ours is either queued (the births queued beside them are far smaller) or dropped after its wait
        wait_until(lambda: all_received() and h.counters["queue_overflow"] + h.queued_bytes // size == 10)
        queued = 10 - h.counters["queue_overflow"]
        assert peak <= budget
        assert queued * size <= h.queued_bytes <= budget < h.queued_bytes + size  # what fitted, and no more
        assert queued >= 3
        assert h.counters["oversized"] == 1
        gate.set()
        wait_until(lambda: h.queued_bytes == 0 and h.queue_depth == 0)
        wait_until(lambda: h.counters["malformed"] == queued)  # the queued ones were handled (zeros are no payload)
    finally:
        gate.set()
        edge.close()
        h.stop()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_queued_bytes": 1000}, r"max_queued_bytes = 1000 is invalid; expected at least max_payload_bytes"),
        ({"max_reorder_bytes": 0}, r"max_reorder_bytes = 0 is invalid; expected a number > 0"),
    ],
)
def test_byte_budgets_are_checked(settings: dict[str, int], message: str) -> None:
    with pytest.raises(TelemetryError, match=message):
        HostConfig(host_id="h", **settings)


def test_queue_wait_must_stay_within_the_keepalive() -> None:
    with pytest.raises(TelemetryError, match=r"queue_full_wait_s = 10.0; expected 0 <= s < keepalive_s \(10 s\)"):
        HostConfig(host_id="h", queue_full_wait_s=10.0)


def test_async_stream_delivers_batches_to_an_asyncio_consumer(broker: tuple[str, int], ids: tuple[str, str]) -> None:
    """``async with SparkplugHost(...)`` plus ``async for batch in AsyncSampleStream()``."""
    group, host_id = ids

    async def consume() -> list[int]:
        stream = AsyncSampleStream()
        got: list[int] = []
        async with SparkplugHost(HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(group,)), stream):
            edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/#")
            try:
                await asyncio.to_thread(born, edge, group)
                for i in range(3):
                    await asyncio.to_thread(edge.publish, f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 2 + i, i + 1))
                async for batch in stream:
                    got += [s.value for s in batch if s.metric == "feed_count"]  # type: ignore[misc]
                    if len(got) == 4:
                        break
            finally:
                edge.close()
        return got

    assert asyncio.run(asyncio.wait_for(consume(), 20)) == [0, 1, 2, 3]
