"""Hostile traffic on a real Mosquitto: what a client makes up (node names here) cannot grow the host's memory
without bound, and the real edge nodes keep working beside it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from twin.live import LiveTwin
from twin.params import load_technology
from twin.telemetry import CollectingSink, HostConfig, Quality, SparkplugHost, samples
from twin_edge.sparkplug import BDSEQ_METRIC, REBIRTH_METRIC, DataType
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb
from twin_edge.testing import Recorder, unique, wait_until

from .messages import SIGNALS, alias_of, dbirth, ddata, nbirth

pytestmark = pytest.mark.mqtt


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
        # QoS 1 from one client arrives in order, so the 20th junk payload (the last sent) being counted means all
        # 80 were handled ("received" also counts the host's own STATE and the NCMDs it gets back: no measure)
        wait_until(lambda: host.counters["malformed"] >= 20)
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


def _flood(seq: int, wrong: int, future: int, unknown: int) -> bytes:
    """A DDATA for ``dbirth(0, ...)``'s pot: ``wrong`` Float metrics carried in ``int_value``, ``future``
    feed_counts stamped in year 9999, ``unknown`` aliases no BIRTH gave, one metric by a 200 000-character name
    no BIRTH gave, and one good feed_count = 42 at 5 000 ms."""
    data = pb.Payload(timestamp=5_000, seq=seq)
    for i in range(wrong):
        data.metrics.add(alias=alias_of(0, 0), timestamp=3_000 + i, int_value=i)
    for i in range(future):
        data.metrics.add(alias=alias_of(0, 1), timestamp=253_402_300_799_000 + i, int_value=i)
    data.metrics.add(name="n" * 200_000, timestamp=3_000, int_value=1)
    for i in range(unknown):
        data.metrics.add(alias=100_000 + i, timestamp=3_000, int_value=i)
    data.metrics.add(alias=alias_of(0, 1), timestamp=5_000, int_value=42)
    return data.SerializeToString()


def test_a_payload_of_bad_metrics_logs_one_warning_and_counts_each(
    broker: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """One ~0.5 MB DDATA with 20 000 wrong-datatype metrics, 20 000 year-9999 stamps, 3 000 unknown aliases and an
    unknown 200 000-character name beside one good metric: the good one is delivered, every bad one is counted,
    and the message writes one warning (not 43 001) that gives the counts by reason, names the first offenders
    (the unknown alias by its value, the long name cut short) and stays short itself."""
    group = unique("g")
    sink = CollectingSink()
    host = SparkplugHost(HostConfig(host_id=unique("host"), broker_port=broker[1], group_ids=(group,)), sink)
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/gw")
    host.start()
    try:
        assert host.wait_online(5)
        edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth(0), qos=1)
        edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", dbirth(0, 1), qos=1)
        wait_until(lambda: host.device_online(group, "gw", "pot_001"))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="twin.telemetry"):
            edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", _flood(2, 20_000, 20_000, 3_000), qos=1)
            wait_until(lambda: any(s.value == 42 for s in sink.samples()))
        counters = host.counters
        assert counters["wrong_datatype"] == 20_000
        assert counters["bad_timestamp"] == 20_000
        assert counters["unknown_alias"] == 3_000 + 1
        assert counters[f'dropped{{node="{group}/gw",reason="wrong_datatype"}}'] == 20_000
        assert counters["internal_errors"] == 0
        warnings = [r for r in caplog.records if r.name.startswith("twin.telemetry") and r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage()[:200] for r in warnings[:5]]
        text = warnings[0].getMessage()
        assert len(text) < 2_000
        assert "43001 bad metric(s)" in text
        assert "wrong_datatype 20000 ('cell_voltage_V' carries int_value" in text
        assert "bad_timestamp 20000 ('feed_count' at 253402300799000 ms" in text
        assert f"unknown_alias 3001 ('{'n' * 60}'..., alias 100000, alias 100001, ...)" in text
    finally:
        edge.close()
        host.stop()


def _conflicting_births() -> tuple[bytes, bytes]:
    """An NBIRTH whose node metric line_current_kA has alias 1, and a DBIRTH that gives alias 1 again
    (cell_voltage_V, taken by the node) and alias 2 twice (feed_count, then offset); bath_temp_degC has alias 3."""
    nbirth_ = pb.Payload(timestamp=1_000, seq=0)
    nbirth_.metrics.add(name=BDSEQ_METRIC, timestamp=1_000, datatype=DataType.INT64, long_value=0)
    nbirth_.metrics.add(name=REBIRTH_METRIC, timestamp=1_000, datatype=DataType.BOOLEAN, boolean_value=False)
    nbirth_.metrics.add(name="line_current_kA", alias=1, timestamp=1_000, datatype=DataType.FLOAT, float_value=300)
    dbirth_ = pb.Payload(timestamp=1_000, seq=1)
    dbirth_.metrics.add(name="cell_voltage_V", alias=1, timestamp=1_000, datatype=DataType.FLOAT, float_value=4)
    dbirth_.metrics.add(name="feed_count", alias=2, timestamp=1_000, datatype=DataType.UINT32, int_value=0)
    dbirth_.metrics.add(name="offset", alias=2, timestamp=1_000, datatype=DataType.INT32, int_value=7)
    dbirth_.metrics.add(name="bath_temp_degC", alias=3, timestamp=1_000, datatype=DataType.FLOAT, float_value=960)
    return nbirth_.SerializeToString(), dbirth_.SerializeToString()


def test_a_birth_reusing_an_alias_of_the_node_keeps_the_first_holder_and_the_rest_of_the_birth(
    broker: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """tck-id-payloads-alias-uniqueness: an alias is unique across the edge node's metrics, devices included. A
    DBIRTH that reuses the node's alias 1 and gives alias 2 twice has those two aliases refused (counted as
    ``duplicate_alias``, one warning naming both), its metrics kept by name with their birth values; the node's
    NDATA on alias 1 still reaches line_current_kA (it used to count as an unknown alias, the DBIRTH having taken
    the alias over), alias 2 stays feed_count's, and DDATA on the refused alias 1 is an unknown alias that asks for
    no rebirth (which would only repeat the conflict)."""
    group = unique("g")
    sink = CollectingSink()
    host = SparkplugHost(HostConfig(host_id=unique("host"), broker_port=broker[1], group_ids=(group,)), sink)
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/gw")
    nbirth_, dbirth_ = _conflicting_births()
    host.start()
    try:
        assert host.wait_online(5)
        with caplog.at_level(logging.WARNING, logger="twin.telemetry"):
            edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth_, qos=1)
            edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", dbirth_, qos=1)
            wait_until(lambda: host.device_online(group, "gw", "pot_001"))
        births = {(s.device, s.metric): s.value for s in sink.samples()}
        assert births == {
            (None, "line_current_kA"): 300,
            ("pot_001", "cell_voltage_V"): 4,
            ("pot_001", "feed_count"): 0,
            ("pot_001", "offset"): 7,
            ("pot_001", "bath_temp_degC"): 960,
        }
        assert host.counters["duplicate_alias"] == 2
        assert host.counters[f'dropped{{node="{group}/gw",reason="duplicate_alias"}}'] == 2
        (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert "duplicate_alias 2 ('cell_voltage_V' alias 1 held by 'line_current_kA' of the node" in warning
        assert "'offset' alias 2 held by 'feed_count' of 'pot_001'; kept by name)" in warning

        ndata = pb.Payload(timestamp=2_000, seq=2)
        ndata.metrics.add(alias=1, timestamp=2_000, float_value=301)
        edge.publish(f"spBv1.0/{group}/NDATA/gw", ndata.SerializeToString(), qos=1)
        ddata_ = pb.Payload(timestamp=2_000, seq=3)
        ddata_.metrics.add(alias=2, timestamp=2_000, int_value=5)
        ddata_.metrics.add(alias=3, timestamp=2_000, float_value=961)
        ddata_.metrics.add(alias=1, timestamp=2_000, float_value=4.5)
        edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata_.SerializeToString(), qos=1)
        wait_until(lambda: len([s for s in sink.samples() if s.timestamp_ms == 2_000]) >= 3)  # NDATA, then DDATA
        data = {(s.device, s.metric): s.value for s in sink.samples() if s.timestamp_ms == 2_000}
        assert data == {
            (None, "line_current_kA"): 301,
            ("pot_001", "feed_count"): 5,
            ("pot_001", "bath_temp_degC"): 961,
        }
        counters = host.counters
        assert counters["unknown_alias"] == 1
        assert counters["rebirths_requested"] == 0
        assert counters["internal_errors"] == 0
    finally:
        edge.close()
        host.stop()


def _big_dbirth(seq: int, extra: int) -> bytes:
    """``dbirth(2, seq)``'s metrics and ``extra`` more (m0, m1, ... Float, aliases from 1 000)."""
    birth = pb.Payload()
    birth.ParseFromString(dbirth(2, seq))
    for i in range(extra):
        birth.metrics.add(name=f"m{i}", alias=1_000 + i, timestamp=1_000, datatype=DataType.FLOAT, float_value=i)
    return birth.SerializeToString()


def test_devices_and_metrics_beyond_the_per_node_caps_are_refused_and_the_rest_kept(
    broker: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """With max_devices_per_node = 3 and max_metrics_per_node = 100: the DBIRTHs of a 4th and 5th device are
    refused (``devices_refused``, one warning for the session), a re-birth of the 3rd device with 5 000 extra
    definitions keeps the first 100 of the node and refuses the rest (``metrics_refused``, one warning); the
    devices within the caps keep delivering, and data for what was refused (an unknown alias, logged in its own
    message's warning) asks for no rebirth."""
    group = unique("g")
    sink = CollectingSink()
    config = HostConfig(
        host_id=unique("host"),
        broker_port=broker[1],
        group_ids=(group,),
        max_devices_per_node=3,
        max_metrics_per_node=100,
    )
    host = SparkplugHost(config, sink)
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/gw")
    extra = 5_000
    host.start()
    try:
        assert host.wait_online(5)
        with caplog.at_level(logging.WARNING, logger="twin.telemetry"):
            edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth(0), qos=1)
            for i in range(5):
                edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_{i + 1:03d}", dbirth(i, 1 + i), qos=1)
            edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_003", _big_dbirth(6, extra), qos=1)
            edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", ddata(0, 7, 11), qos=1)
            edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_004", ddata(3, 8, 12), qos=1)
            wait_until(lambda: any(s.device == "pot_001" and s.value == 11 for s in sink.samples()))
            born = {(s.device, s.metric) for s in sink.samples() if s.timestamp_ms == 1_000}
            kept_extra = config.max_metrics_per_node - 3 * len(SIGNALS)  # pot_001, pot_002 and pot_003's signals
            late = pb.Payload(timestamp=2_000, seq=9)
            late.metrics.add(alias=1_000 + kept_extra - 1, timestamp=2_000, float_value=-1)  # the last one kept
            late.metrics.add(alias=1_000 + kept_extra, timestamp=2_000, float_value=-2)  # the first one refused
            edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_003", late.SerializeToString(), qos=1)
            wait_until(lambda: any(s.timestamp_ms == 2_000 for s in sink.samples()))  # counted before delivered
        assert not host.device_online(group, "gw", "pot_004")
        assert not host.device_online(group, "gw", "pot_005")
        assert {d for d, _ in born} == {"pot_001", "pot_002", "pot_003"}
        assert len(born) == config.max_metrics_per_node
        assert ("pot_003", f"m{kept_extra - 1}") in born
        assert ("pot_003", f"m{kept_extra}") not in born
        assert [s.value for s in sink.samples() if s.timestamp_ms == 2_000] == [-1]
        counters = host.counters
        assert counters["devices_refused"] == 2
        assert counters["metrics_refused"] == len(SIGNALS) + extra - (kept_extra + len(SIGNALS))
        assert counters[f'dropped{{node="{group}/gw",reason="devices_refused"}}'] == 2
        assert counters["rebirths_requested"] == 0
        assert counters["internal_errors"] == 0
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 3, [w[:200] for w in warnings]
        assert "DBIRTH of device 'pot_004' refused: the node already has 3 devices" in warnings[0]
        assert f"metrics_refused {counters['metrics_refused']} ('m{kept_extra}' (node at max_metrics_per_node" in (
            warnings[1]
        )
        assert f"unknown_alias 1 (alias {1_000 + kept_extra})" in warnings[2]  # the DDATA's own warning
    finally:
        edge.close()
        host.stop()


def _pot_birth(seq: int, volts: float, feeds: int, ts: int) -> bytes:
    """A DBIRTH of a pot controller: cell_voltage_V and feed_count (values a float holds exactly)."""
    birth = pb.Payload(timestamp=ts, seq=seq)
    birth.metrics.add(name="cell_voltage_V", alias=10 + seq, timestamp=ts, datatype=DataType.FLOAT, float_value=volts)
    birth.metrics.add(name="feed_count", alias=20 + seq, timestamp=ts, datatype=DataType.UINT32, int_value=feeds)
    return birth.SerializeToString()


def test_a_pot_spelled_otherwise_reaches_no_cell(
    broker: tuple[str, int], models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway births the same pot as pot_001 and as pot_1 (a hostile or misconfigured gateway; both used to name
    cell 1, as separate devices to the host). Through the broker and the host into a live twin: pot_001's values
    are cell 1's, pot_1's reach no cell (the twin counts them ignored), and the host names the device, its group
    and node and the spelling expected in one warning, counting the birth (``misnamed_devices``)."""
    group = unique("g")
    twin = LiveTwin(load_technology(models_dir / "hal275.toml"), {group: 2})
    host = SparkplugHost(HostConfig(host_id=unique("host"), broker_port=broker[1], group_ids=(group,)), twin)
    edge = Recorder(*broker, f"spBv1.0/{group}/NCMD/gw")
    host.start()
    try:
        assert host.wait_online(5)
        with caplog.at_level(logging.WARNING, logger="twin.telemetry"):
            edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth(0), qos=1)
            edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", _pot_birth(1, 4.25, 10, ts=1_000), qos=1)
            edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_1", _pot_birth(2, 4.75, 99, ts=2_000), qos=1)
            wait_until(lambda: twin.counters["accepted"] + twin.counters["ignored"] >= 4)
        assert twin.tracker(group).latest[0] == {"cell_voltage_V": 4.25, "feed_count": 10.0}
        assert twin.tracker(group).latest[1] == {}
        assert twin.counters["ignored"] == 2  # pot_1's two metrics
        assert host.device_online(group, "gw", "pot_1")  # the host still takes the device; it names no cell
        assert host.counters["misnamed_devices"] == 1
        (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warning.startswith(f"{group}/gw: device 'pot_1' maps to no cell: cell 1 is spelled 'pot_001'")
    finally:
        edge.close()
        host.stop()
