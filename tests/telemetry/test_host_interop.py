"""Host interoperability fixes of issue 9 on a real Mosquitto: signed integers as Eclipse Tahu encodes them
(item 6), metric names that are not UTF-8 (item 12), a foreign retained STATE (item 7), compressed payloads."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator

import pytest

from twin.telemetry import CollectingSink, HostConfig, SparkplugHost
from twin_edge.sparkplug import BDSEQ_METRIC, REBIRTH_METRIC, DataType
from twin_edge.sparkplug.complex_types import DataSetValue
from twin_edge.sparkplug.compression import COMPRESSED_UUID, compress_payload
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb
from twin_edge.testing import Recorder, unique, wait_until

pytestmark = pytest.mark.mqtt

T = 1_790_000_000_000


@pytest.fixture
def ids() -> tuple[str, str]:
    return unique("g"), unique("host")


@pytest.fixture
def host(broker: tuple[str, int], ids: tuple[str, str]) -> Iterator[tuple[SparkplugHost, CollectingSink]]:
    group, host_id = ids
    sink = CollectingSink()
    h = SparkplugHost(HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(group,)), sink)
    h.start()
    assert h.wait_online(5)
    yield h, sink
    h.stop()


@pytest.fixture
def edge(broker: tuple[str, int]) -> Iterator[Recorder]:
    rec = Recorder(*broker, f"{unique('unused-')}/#")
    yield rec
    rec.close()


def _nbirth() -> bytes:
    """Built with the generated protobuf directly (as Tahu's Python encoder does), not with our codec."""
    p = pb.Payload(timestamp=T, seq=0)
    p.metrics.add(name=BDSEQ_METRIC, timestamp=T, datatype=DataType.INT64, long_value=0)
    p.metrics.add(name=REBIRTH_METRIC, timestamp=T, datatype=DataType.BOOLEAN, boolean_value=False)
    return p.SerializeToString()


def test_negative_signed_integers_as_tahu_encodes_them(host, edge: Recorder, ids: tuple[str, str]) -> None:
    """Item 6: Tahu's addMetric stores a negative Int<N> as value + 2**N in the unsigned field (Int8 -9 -> 247);
    the host gives back -9 in DBIRTH and in alias-only DDATA, for every signed width."""
    _, sink = host
    group = ids[0]
    widths = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}
    birth = pb.Payload(timestamp=T, seq=1)
    data = pb.Payload(timestamp=T + 1000, seq=2)
    for alias, (datatype, bits) in enumerate(widths.items(), start=1):
        field = "long_value" if bits == 64 else "int_value"
        birth.metrics.add(name=f"v{bits}", alias=alias, timestamp=T, datatype=datatype, **{field: -9 + 2**bits})
        data.metrics.add(alias=alias, timestamp=T + 1000, **{field: -(2 ** (bits - 1)) + 2**bits})
    edge.publish(f"spBv1.0/{group}/NBIRTH/gw", _nbirth())
    edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", birth.SerializeToString())
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", data.SerializeToString())
    wait_until(lambda: len(sink.samples()) >= 8)
    got = {(s.metric, s.timestamp_ms): s.value for s in sink.samples()}
    for bits in widths.values():
        assert got[(f"v{bits}", T)] == -9
        assert got[(f"v{bits}", T + 1000)] == -(2 ** (bits - 1))


def _with_bad_name(payload: pb.Payload, placeholder: bytes) -> bytes:
    raw = payload.SerializeToString()
    assert raw.count(placeholder) == 1
    return raw.replace(placeholder, b"\xff\xfe" + placeholder[2:])


def test_non_utf8_metric_names_are_counted_not_raised(host, edge: Recorder, ids: tuple[str, str]) -> None:
    """Item 12: a metric name that is not UTF-8 (in DBIRTH and in DDATA by name) is counted as invalid_utf8;
    the good metrics of the same messages arrive; no exception in the handler and no bytes repr as a name."""
    h, sink = host
    group = ids[0]
    birth = pb.Payload(timestamp=T, seq=1)
    birth.metrics.add(name="good_V", alias=1, timestamp=T, datatype=DataType.FLOAT, float_value=4.0)
    birth.metrics.add(name="@@@bad", alias=2, timestamp=T, datatype=DataType.FLOAT, float_value=1.0)
    data = pb.Payload(timestamp=T + 1000, seq=2)
    data.metrics.add(name="###bad", timestamp=T + 1000, float_value=2.0)
    data.metrics.add(alias=1, timestamp=T + 1000, float_value=4.5)
    text = pb.Payload(timestamp=T + 2000, seq=3)
    text.metrics.add(name="note", alias=3, timestamp=T + 2000, datatype=DataType.STRING, string_value="$$$x")
    edge.publish(f"spBv1.0/{group}/NBIRTH/gw", _nbirth())
    edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", _with_bad_name(birth, b"@@@bad"))
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", _with_bad_name(data, b"###bad"))
    edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_002", _with_bad_name(text, b"$$$x"))
    wait_until(lambda: h.counters["invalid_utf8"] >= 3)
    wait_until(lambda: len(sink.samples()) >= 2)
    assert [(s.metric, s.value) for s in sink.samples()] == [("good_V", 4.0), ("good_V", 4.5)]
    assert all(isinstance(s.metric, str) for s in sink.samples())
    counters = h.counters
    assert counters[f'dropped{{node="{group}/gw",reason="invalid_utf8"}}'] == 3  # by edge node, for /metrics
    assert counters["internal_errors"] == 0
    assert counters["rebirths_requested"] == 0  # a bad name is not an unknown metric: no rebirth storm
    assert h.device_online(group, "gw", "pot_002")


@pytest.mark.parametrize("foreign", [b"OFFLINE", b"\xff not json"])
def test_a_foreign_retained_state_is_repaired(broker: tuple[str, int], ids: tuple[str, str], foreign: bytes) -> None:
    """Item 7: a retained Sparkplug 2.2 style ``OFFLINE`` (or any non-JSON payload) on the host's STATE topic is
    replaced by the host's own retained JSON STATE, at start-up and while it runs."""
    _, host_id = ids
    topic = f"spBv1.0/STATE/{host_id}"
    setter = Recorder(*broker, f"{unique('unused-')}/#")
    setter.publish(topic, foreign, qos=1, retain=True)
    h = SparkplugHost(HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(ids[0],)), CollectingSink())
    h.start()
    try:
        assert h.wait_online(5)
        wait_until(lambda: h.counters["state_repaired"] >= 1)
        late = Recorder(*broker, topic)  # what a gateway connecting now sees: the retained message
        late.wait_for(lambda ms: any(m.retain and m.payload.startswith(b"{") for m in ms))
        assert json.loads(late.messages()[-1].payload)["online"] is True
        late.close()
        setter.publish(topic, foreign, qos=1, retain=True)  # and again while it runs
        wait_until(lambda: h.counters["state_repaired"] >= 2)
        later = Recorder(*broker, topic)
        later.wait_for(lambda ms: any(m.payload.startswith(b"{") for m in ms))
        assert json.loads(later.messages()[-1].payload)["online"] is True
        later.close()
    finally:
        h.stop()
        setter.publish(topic, b"", qos=1, retain=True)
        setter.close()


def _data_birth() -> pb.Payload:
    birth = pb.Payload(timestamp=T, seq=1)
    birth.metrics.add(name="cell_voltage_V", alias=1, timestamp=T, datatype=DataType.FLOAT, float_value=4.0)
    return birth


@pytest.mark.parametrize("algorithm", ["DEFLATE", "GZIP", None])
def test_compressed_payloads_are_accepted(host, edge: Recorder, ids: tuple[str, str], algorithm: str | None) -> None:
    """Spec ``algorithm`` metric, as Tahu's PayloadUtil.compress builds it: uuid ``SPBV1.0_COMPRESSED``, the encoded
    payload compressed in ``body``, seq copied; DEFLATE when the metric is missing."""
    h, sink = host
    group = ids[0]
    data = pb.Payload(timestamp=T + 1000, seq=2)
    data.metrics.add(alias=1, timestamp=T + 1000, float_value=4.25)

    def wrap(message: pb.Payload) -> bytes:
        raw = message.SerializeToString()
        if algorithm is None:
            wrapper = pb.Payload(uuid=COMPRESSED_UUID, body=zlib.compress(raw), seq=message.seq)
            return wrapper.SerializeToString()
        return compress_payload(raw, algorithm=algorithm, seq=message.seq)

    edge.publish(f"spBv1.0/{group}/NBIRTH/gw", wrap(pb.Payload.FromString(_nbirth())))
    edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", wrap(_data_birth()))
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", wrap(data))
    wait_until(lambda: len(sink.samples()) >= 2)
    assert [(s.metric, s.value) for s in sink.samples()] == [("cell_voltage_V", 4.0), ("cell_voltage_V", 4.25)]
    assert h.counters["decompressed"] == 3
    assert h.counters["malformed"] == 0


def test_a_compressed_payload_that_expands_too_far_is_malformed(host, edge: Recorder, ids: tuple[str, str]) -> None:
    """A zip bomb (here 1 MiB + of zeros in a few KiB) is counted as malformed, never inflated without bound."""
    h, _ = host
    bomb = pb.Payload(uuid=COMPRESSED_UUID, body=zlib.compress(b"\0" * 2_000_000), seq=0)
    edge.publish(f"spBv1.0/{ids[0]}/NBIRTH/gw", bomb.SerializeToString())
    wait_until(lambda: h.counters["malformed"] >= 1)
    assert h.counters["decompressed"] == 0
    assert not h.node_online(ids[0], "gw")


def _member(parent: pb.Payload.Template, name: str, datatype: DataType, **value: object) -> pb.Payload.Metric:
    return parent.metrics.add(name=name, datatype=datatype, **value)


def test_template_instances_arrive_as_their_members(host, edge: Recorder, ids: tuple[str, str]) -> None:
    """A pot-controller UDT as a Sparkplug Template: the definition in NBIRTH, an instance (with a nested template)
    in DBIRTH, a partial instance update by alias in DDATA. Members arrive as ``<instance>/<member>`` samples with
    their own datatypes (Int16 as Tahu encodes it)."""
    h, sink = host
    group = ids[0]
    nbirth = pb.Payload.FromString(_nbirth())
    definition = nbirth.metrics.add(name="PotController", datatype=DataType.TEMPLATE, timestamp=T)
    definition.template_value.is_definition = True
    _member(definition.template_value, "cell_voltage_V", DataType.FLOAT, float_value=0.0)
    birth = pb.Payload(timestamp=T, seq=1)
    instance = birth.metrics.add(name="pot", alias=10, datatype=DataType.TEMPLATE, timestamp=T)
    instance.template_value.template_ref = "PotController"
    _member(instance.template_value, "cell_voltage_V", DataType.FLOAT, float_value=4.125)
    _member(instance.template_value, "feed_count", DataType.UINT32, int_value=3)
    _member(instance.template_value, "offset", DataType.INT16, int_value=65527)
    anode = _member(instance.template_value, "anode", DataType.TEMPLATE)
    anode.template_value.template_ref = "Anode"
    _member(anode.template_value, "position_mm", DataType.DOUBLE, double_value=12.5)
    data = pb.Payload(timestamp=T + 1000, seq=2)
    update = data.metrics.add(alias=10, timestamp=T + 1000)
    _member(update.template_value, "cell_voltage_V", DataType.FLOAT, float_value=4.25)
    edge.publish(f"spBv1.0/{group}/NBIRTH/gw", nbirth.SerializeToString())
    edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", birth.SerializeToString())
    edge.publish(f"spBv1.0/{group}/DDATA/gw/pot_001", data.SerializeToString())
    wait_until(lambda: len(sink.samples()) >= 5)
    got = [(s.metric, s.value, s.timestamp_ms) for s in sink.samples()]
    assert got == [
        ("pot/cell_voltage_V", 4.125, T),
        ("pot/feed_count", 3, T),
        ("pot/offset", -9, T),
        ("pot/anode/position_mm", 12.5, T),
        ("pot/cell_voltage_V", 4.25, T + 1000),
    ]
    assert h.counters["unknown_alias"] == 0
    assert h.counters["wrong_datatype"] == 0


def test_dataset_metrics_are_decoded(host, edge: Recorder, ids: tuple[str, str]) -> None:
    """A DataSet (a feeder log: shot number, mass) arrives as a DataSetValue with typed cells."""
    h, sink = host
    group = ids[0]
    birth = pb.Payload(timestamp=T, seq=1)
    log = birth.metrics.add(name="feed_log", alias=1, datatype=DataType.DATASET, timestamp=T)
    table = log.dataset_value
    table.num_of_columns = 3
    table.columns.extend(["shot", "mass_kg", "delta"])
    table.types.extend([DataType.UINT32, DataType.DOUBLE, DataType.INT8])
    for shot, mass, delta in [(1, 2.5, 247), (2, 2.4, 1)]:
        row = table.rows.add()
        row.elements.add(int_value=shot)
        row.elements.add(double_value=mass)
        row.elements.add(int_value=delta)
    edge.publish(f"spBv1.0/{group}/NBIRTH/gw", _nbirth())
    edge.publish(f"spBv1.0/{group}/DBIRTH/gw/pot_001", birth.SerializeToString())
    wait_until(lambda: len(sink.samples()) >= 1)
    (sample,) = sink.samples()
    assert isinstance(sample.value, DataSetValue)
    assert sample.value.as_dicts() == [
        {"shot": 1, "mass_kg": 2.5, "delta": -9},
        {"shot": 2, "mass_kg": 2.4, "delta": 1},
    ]
    assert h.counters["wrong_datatype"] == 0
