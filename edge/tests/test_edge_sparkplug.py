"""Edge Node behaviour on a real Mosquitto, named after Sparkplug 3.0 conformance (tck-id) assertions."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twin_edge.simplc import POT_LAYOUT
from twin_edge.sparkplug import (
    BDSEQ_METRIC,
    REBIRTH_METRIC,
    DataType,
    HostState,
    Metric,
    decode_payload,
    encode_payload,
    parse_topic,
)
from twin_edge.testing import (
    PrivateBroker,
    Recorder,
    free_port_range,
    make_rig,
    unique,
    wait_until,
    write_gateway_config,
)

pytestmark = pytest.mark.mqtt


def _kind(topic: str) -> str:
    return str(parse_topic(topic).message_type)


def _bdseq(payload: bytes) -> int:
    return next(m.value for m in decode_payload(payload).metrics if m.name == BDSEQ_METRIC)


def _seqs(recorder: Recorder) -> list[int]:
    return [decode_payload(m.payload).seq for m in recorder.messages() if _kind(m.topic) != "NDEATH"]


@pytest.fixture
def group() -> str:
    return unique("g")


def test_tck_id_payloads_nbirth_seq(tmp_path: Path, broker: tuple[str, int], group: str) -> None:
    """tck-id-topics-nbirth-seq-num, tck-id-topics-nbirth-bdseq-included, tck-id-topics-nbirth-rebirth-metric,
    tck-id-message-flow-device-birth-publish-dbirth-payload-seq, tck-id-topics-dbirth-metrics.

    NBIRTH has seq 0, the bdSeq metric and an alias-less Boolean ``Node Control/Rebirth`` = false; each DBIRTH
    follows with seq + 1 and every metric with name, alias, datatype and timestamp; all at QoS 0, not retained.
    """
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=2).start()
    try:
        msgs = rec.wait_for(lambda ms: sum(_kind(m.topic) == "DBIRTH" for m in ms) >= 2)
    finally:
        rig.stop()
        rec.close()
    nbirth, first, second = msgs[0], msgs[1], msgs[2]
    assert _kind(nbirth.topic) == "NBIRTH"
    assert nbirth.qos == 0
    assert not nbirth.retain
    payload = decode_payload(nbirth.payload)
    assert payload.seq == 0
    assert payload.timestamp is not None
    metrics = {m.name: m for m in payload.metrics}
    assert metrics[BDSEQ_METRIC].datatype is DataType.INT64
    rebirth = metrics[REBIRTH_METRIC]
    assert rebirth.datatype is DataType.BOOLEAN
    assert rebirth.value is False
    assert rebirth.alias is None
    assert [_kind(first.topic), _kind(second.topic)] == ["DBIRTH", "DBIRTH"]
    assert [decode_payload(first.payload).seq, decode_payload(second.payload).seq] == [1, 2]
    dbirth = decode_payload(first.payload).metrics
    assert [m.name for m in dbirth] == [s.name for s in POT_LAYOUT]
    assert all(m.alias is not None and m.datatype is not None and m.timestamp is not None for m in dbirth)
    assert len({m.alias for m in dbirth} | {m.alias for m in decode_payload(second.payload).metrics}) == 2 * len(dbirth)


def test_tck_id_payloads_metric_datatype_not_req(tmp_path: Path, broker: tuple[str, int], group: str) -> None:
    """tck-id-payloads-metric-datatype-not-req, tck-id-payloads-name-birth-data-requirement,
    tck-id-topics-ddata-seq-num: DDATA metrics are alias-only with a timestamp and no datatype; QoS 0."""
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=1).start()
    try:
        msgs = rec.wait_for(lambda ms: sum(_kind(m.topic) == "DDATA" for m in ms) >= 3)
    finally:
        rig.stop()
        rec.close()
    births = {m.alias: m for m in decode_payload(msgs[1].payload).metrics}
    for msg in [m for m in msgs if _kind(m.topic) == "DDATA"]:
        assert msg.qos == 0
        assert not msg.retain
        for metric in decode_payload(msg.payload).metrics:
            assert metric.name is None
            assert metric.datatype is None
            assert metric.alias in births
            assert metric.timestamp is not None
            assert not metric.is_historical


def test_tck_id_payloads_sequence_num_incrementing(tmp_path: Path, broker: tuple[str, int], group: str) -> None:
    """tck-id-payloads-sequence-num-incrementing: one seq per node over NBIRTH/DBIRTH/DDATA, +1 and 255 -> 0."""
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=3, period_s=0.01).start()
    try:
        rec.wait_for(lambda ms: len(ms) > 300, timeout=20)
    finally:
        rig.stop()
        rec.close()
    seqs = _seqs(rec)[:300]
    assert seqs[0] == 0
    assert all(b == (a + 1) % 256 for a, b in itertools.pairwise(seqs)), seqs
    assert 255 in seqs
    assert seqs.count(0) == 2


def test_tck_id_operational_behavior_data_commands_rebirth_action(
    tmp_path: Path, broker: tuple[str, int], group: str
) -> None:
    """tck-id-operational-behavior-data-commands-rebirth-action-1/2/3 and
    tck-id-message-flow-edge-node-ncmd-subscribe: an NCMD ``Node Control/Rebirth`` = true gives a new NBIRTH
    with the *same* bdSeq (no new MQTT session) followed by every DBIRTH, then DATA resumes."""
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=2).start()
    try:
        rec.wait_for(lambda ms: sum(_kind(m.topic) == "DDATA" for m in ms) >= 2)
        ncmd = encode_payload(
            [Metric(name=REBIRTH_METRIC, timestamp=1, datatype=DataType.BOOLEAN, value=True)], timestamp=1
        )
        rec.publish(f"spBv1.0/{group}/NCMD/gw", ncmd)
        msgs = rec.wait_for(
            lambda ms: sum(_kind(m.topic) == "NBIRTH" for m in ms) >= 2 and _kind(ms[-1].topic) == "DDATA"
        )
    finally:
        rig.stop()
        rec.close()
    births = [i for i, m in enumerate(msgs) if _kind(m.topic) == "NBIRTH"]
    assert _bdseq(msgs[births[0]].payload) == _bdseq(msgs[births[1]].payload)
    after = [_kind(m.topic) for m in msgs[births[1] :]]
    assert after[:3] == ["NBIRTH", "DBIRTH", "DBIRTH"]
    assert decode_payload(msgs[births[1]].payload).seq == 0
    assert rig.gateway is not None
    assert rig.gateway.counters.rebirths == 1


def test_tck_id_message_flow_edge_node_birth_publish_phid_wait(
    tmp_path: Path, broker: tuple[str, int], group: str
) -> None:
    """tck-id-message-flow-edge-node-birth-publish-phid-wait, tck-id-operational-behavior-edge-node-birth-
    sequence-wait, tck-id-operational-behavior-edge-node-termination-host-offline: no BIRTH before the Primary
    Host's STATE is online; an offline STATE makes the node publish NDEATH and start a new session (bdSeq + 1)."""
    host_id = unique("host")
    state_topic = f"spBv1.0/STATE/{host_id}"
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=1, primary_host=host_id).start()
    try:
        time.sleep(1.0)
        assert rec.messages() == []  # connected and polling, but silent
        assert rig.gateway is not None
        assert rig.gateway.pending_stored > 0  # values kept for later
        rec.publish(state_topic, HostState(True, 1000).encode(), qos=1, retain=True)
        rec.wait_for(lambda ms: any(_kind(m.topic) == "DBIRTH" for m in ms))
        first_bdseq = _bdseq(rec.messages("NBIRTH")[0].payload)
        rec.publish(state_topic, HostState(False, 1001).encode(), qos=1, retain=True)
        rec.wait_for(lambda ms: any(_kind(m.topic) == "NDEATH" for m in ms))
        time.sleep(0.5)
        assert len(rec.messages("NBIRTH")) == 1  # still waiting for the host
        rec.publish(state_topic, HostState(True, 1002).encode(), qos=1, retain=True)
        rec.wait_for(lambda ms: len([m for m in ms if _kind(m.topic) == "NBIRTH"]) == 2)
    finally:
        rig.stop()
        rec.publish(state_topic, b"", qos=1, retain=True)
        rec.close()
    assert _bdseq(rec.messages("NDEATH")[0].payload) == first_bdseq
    assert _bdseq(rec.messages("NBIRTH")[1].payload) == (first_bdseq + 1) % 256


def test_a_state_from_far_ahead_of_the_clock_is_ignored(tmp_path: Path, broker: tuple[str, int], group: str) -> None:
    """An offline STATE stamped two days ahead of this node's clock (a hostile or broken publisher) would become the
    timestamp every later STATE must reach, and no honest host could: the node would wait for good. It is ignored
    and counted; the node's session goes on, and an honest offline STATE still ends it."""
    host_id = unique("host")
    state_topic = f"spBv1.0/STATE/{host_id}"
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=1, primary_host=host_id).start()
    now_ms = time.time_ns() // 1_000_000
    try:
        assert rig.gateway is not None
        rec.publish(state_topic, HostState(True, now_ms).encode(), qos=1, retain=True)
        rec.wait_for(lambda ms: any(_kind(m.topic) == "DBIRTH" for m in ms))
        rec.publish(state_topic, HostState(False, now_ms + 2 * 86_400_000).encode(), qos=1, retain=True)
        wait_until(lambda: rig.gateway is not None and rig.gateway.counters.states_from_the_future == 1)
        data = len(rec.messages("DDATA"))
        rec.wait_for(lambda ms: len([m for m in ms if _kind(m.topic) == "DDATA"]) > data + 3)  # still publishing
        assert rec.messages("NDEATH") == []
        # an hour ahead is taken (an edge clock may lag its host's by hours): it ends the session
        rec.publish(state_topic, HostState(False, now_ms + 3_600_000).encode(), qos=1, retain=True)
        rec.wait_for(lambda ms: any(_kind(m.topic) == "NDEATH" for m in ms))
    finally:
        rig.stop()
        rec.publish(state_topic, b"", qos=1, retain=True)
        rec.close()


def test_tck_id_operational_behavior_device_ddeath(tmp_path: Path, broker: tuple[str, int], group: str) -> None:
    """tck-id-operational-behavior-device-ddeath, tck-id-topics-ddeath-seq-num: a PLC that stops answering gets
    a DDEATH carrying the node's next seq; when it answers again it gets a fresh DBIRTH."""
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=2).start()
    try:
        rec.wait_for(lambda ms: sum(_kind(m.topic) == "DDATA" for m in ms) >= 4)
        rig.call(rig.plcs.set_offline(1, True))
        rec.wait_for(lambda ms: any(_kind(m.topic) == "DDEATH" for m in ms))
        time.sleep(0.3)
        rig.call(rig.plcs.set_offline(1, False))
        rec.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("DBIRTH/gw/pot_002")]) == 2)
    finally:
        rig.stop()
        rec.close()
    (death,) = rec.messages("DDEATH")
    assert death.topic.endswith("/pot_002")
    seqs = _seqs(rec)
    assert all(b == (a + 1) % 256 for a, b in itertools.pairwise(seqs))
    index = next(i for i, m in enumerate(rec.messages()) if "DDEATH" in m.topic)
    between = [m.topic for m in rec.messages()[index:] if m.topic.endswith("pot_002")]
    assert "DDATA" not in between[1]  # after the death: DBIRTH before any DDATA of that device


def test_report_by_exception_suppresses_a_stuck_sensor(tmp_path: Path, broker: tuple[str, int], group: str) -> None:
    """Report by exception: once a sensor is stuck its metric disappears from DDATA, the others keep coming."""
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=1).start()
    try:
        rec.wait_for(lambda ms: len(ms) >= 3)
        rig.plcs.stick(0, "cell_voltage_V")
        time.sleep(0.4)
        mark = len(rec.messages())
        rec.wait_for(lambda ms: len(ms) >= mark + 5)
    finally:
        rig.stop()
        rec.close()
    births = {m.name: m.alias for m in decode_payload(rec.messages("DBIRTH")[0].payload).metrics}
    later = [decode_payload(m.payload) for m in rec.messages()[mark:] if "DDATA" in m.topic]
    aliases = {metric.alias for p in later for metric in p.metrics}
    assert births["cell_voltage_V"] not in aliases
    assert births["line_current_kA"] in aliases


def _run(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "twin_edge.cli", *args, "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_tck_id_message_flow_edge_node_birth_publish_will_message(
    tmp_path: Path, broker: tuple[str, int], group: str
) -> None:
    """tck-id-message-flow-edge-node-birth-publish-will-message-topic/-payload/-qos, tck-id-topics-ndeath-payload,
    tck-id-topics-nbirth-bdseq-increment: a killed gateway's Will is an NDEATH (QoS 1, only the bdSeq metric, no
    seq) whose bdSeq equals its NBIRTH's, and the restarted gateway's NBIRTH bdSeq is one more (persisted)."""
    first_port = free_port_range(1)
    cfg = write_gateway_config(tmp_path, group=group, node="gw", broker_port=broker[1], pots=1, first_port=first_port)
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    plcs = _run("simplc", "--pots", "1", "--port", str(first_port))
    try:
        gateway = _run("--config", str(cfg))
        rec.wait_for(lambda ms: any(_kind(m.topic) == "DDATA" for m in ms), timeout=20)
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.wait(5)
        rec.wait_for(lambda ms: any(_kind(m.topic) == "NDEATH" for m in ms))
        gateway = _run("--config", str(cfg))
        rec.wait_for(lambda ms: len([m for m in ms if _kind(m.topic) == "NBIRTH"]) == 2, timeout=20)
        gateway.send_signal(signal.SIGTERM)  # clean stop: NDEATH before DISCONNECT
        gateway.wait(10)
        rec.wait_for(lambda ms: len([m for m in ms if _kind(m.topic) == "NDEATH"]) == 2)
        gateway = _run("--config", str(cfg))  # after a clean stop, too, the next CONNECT is bdSeq + 1
        rec.wait_for(lambda ms: len([m for m in ms if _kind(m.topic) == "NBIRTH"]) == 3, timeout=20)
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(10)
    finally:
        plcs.send_signal(signal.SIGTERM)
        plcs.wait(10)
        rec.close()
    will, clean = rec.messages("NDEATH")[:2]
    births = rec.messages("NBIRTH")
    assert will.qos == 1
    assert not will.retain
    payload = decode_payload(will.payload)
    assert payload.seq is None
    assert [m.name for m in payload.metrics] == [BDSEQ_METRIC]
    assert _bdseq(will.payload) == _bdseq(births[0].payload)
    assert _bdseq(births[1].payload) == (_bdseq(births[0].payload) + 1) % 256
    assert _bdseq(clean.payload) == _bdseq(births[1].payload)
    assert _bdseq(births[2].payload) == (_bdseq(births[1].payload) + 1) % 256


def test_store_and_forward_replays_outage_in_order_as_historical(
    tmp_path: Path, private_broker: PrivateBroker, group: str
) -> None:
    """While the broker is down values go to disk; after reconnect (and the Primary Host's STATE) they arrive as
    is_historical DDATA, in order, and the disk buffer empties."""
    host_id = unique("host")
    rec = Recorder("127.0.0.1", private_broker.port, f"spBv1.0/{group}/#", as_host=host_id)
    rig = make_rig(
        tmp_path, group=group, node="gw", broker_port=private_broker.port, pots=1, primary_host=host_id
    ).start()
    try:
        rec.wait_for(lambda ms: any(_kind(m.topic) == "DDATA" for m in ms))
        private_broker.stop()
        time.sleep(1.5)
        assert rig.gateway is not None
        assert rig.gateway.pending_stored > 0
        private_broker.start()
        rec.wait_for(
            lambda ms: any(
                decode_payload(m.payload).metrics and decode_payload(m.payload).metrics[0].is_historical
                for m in ms
                if _kind(m.topic) == "DDATA"
            ),
            timeout=15,
        )
        deadline = time.monotonic() + 10
        while rig.gateway.pending_stored and time.monotonic() < deadline:
            time.sleep(0.05)
        left = rig.gateway.pending_stored
    finally:
        rig.stop()
        rec.close()
    historical = [
        metric for m in rec.messages("DDATA") for metric in decode_payload(m.payload).metrics if metric.is_historical
    ]
    assert len(historical) >= 10, f"only {len(historical)} historical metrics"
    by_alias: dict[int, list[int]] = {}
    for metric in historical:
        by_alias.setdefault(metric.alias, []).append(metric.timestamp)
    for alias, stamps in by_alias.items():
        assert stamps == sorted(stamps), f"alias {alias} replayed out of order: {stamps}"
        assert len(set(stamps)) == len(stamps), f"alias {alias} replayed twice: {stamps}"
    assert left == 0, f"{left} values still stored"
