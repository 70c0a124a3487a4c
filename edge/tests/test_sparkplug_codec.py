"""Pure codec tests: the generated protobuf module, payload round trips, datatypes, topics, seq arithmetic."""

from __future__ import annotations

import google.protobuf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin_edge.errors import MalformedPayloadError, SparkplugError, TopicError
from twin_edge.sparkplug import (
    DataType,
    HostState,
    MessageType,
    Metric,
    StateTopic,
    Topic,
    decode_payload,
    decode_state,
    encode_payload,
    next_bdseq,
    next_seq,
    parse_topic,
    resolve_value,
    seq_distance,
)
from twin_edge.sparkplug.compression import compress_payload, decompress, is_compressed
from twin_edge.sparkplug.payload import parse_protobuf
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb


def test_generated_module_imports_under_pinned_protobuf() -> None:
    """The committed _pb2 must load under protobuf 5.29 (a stale _pb2 is eclipse-tahu/tahu #251)."""
    assert google.protobuf.__version__.startswith("5.29.")
    message = pb.Payload(timestamp=1, seq=3)
    metric = message.metrics.add()
    metric.name, metric.datatype, metric.double_value = "x", 10, 2.5
    again = pb.Payload.FromString(message.SerializeToString())
    assert again.seq == 3
    assert again.metrics[0].double_value == 2.5


@pytest.mark.parametrize(
    ("datatype", "value"),
    [
        (DataType.INT8, -128),
        (DataType.INT16, -12),
        (DataType.INT32, -12),
        (DataType.INT64, -(2**63)),
        (DataType.UINT8, 255),
        (DataType.UINT16, 65535),
        (DataType.UINT32, 2**32 - 1),
        (DataType.UINT64, 2**64 - 1),
        (DataType.FLOAT, 1.5),
        (DataType.DOUBLE, 1e-300),
        (DataType.BOOLEAN, True),
        (DataType.STRING, "pot"),
        (DataType.BYTES, b"\x00\x01"),
        (DataType.DATETIME, 1_700_000_000_000),
    ],
)
def test_birth_metric_round_trips_every_datatype(datatype: DataType, value: object) -> None:
    """tck-id-payloads-metric-datatype-value: the value field matches the datatype; signed ints survive."""
    data = encode_payload([Metric(name="m", alias=7, timestamp=5, datatype=datatype, value=value)], timestamp=9, seq=4)
    decoded = decode_payload(data)
    assert decoded.seq == 4
    assert decoded.timestamp == 9
    (metric,) = decoded.metrics
    assert (metric.name, metric.alias, metric.timestamp, metric.datatype, metric.value) == ("m", 7, 5, datatype, value)


def test_alias_only_data_needs_birth_datatype_for_negative_int32() -> None:
    """benthos-umh PR #454: -12 as Int32 arrives as 4294967284 unless the BIRTH datatype is applied."""
    data = encode_payload([Metric(alias=1, timestamp=1, value=2**32 - 12, value_field="int_value")], timestamp=1)
    (metric,) = decode_payload(data).metrics
    assert metric.datatype is None
    assert metric.value == 2**32 - 12
    assert resolve_value(metric, DataType.INT32) == -12
    with pytest.raises(SparkplugError):
        resolve_value(metric, DataType.DOUBLE)


@given(st.lists(st.floats(allow_nan=False), min_size=0, max_size=20), st.integers(0, 255))
def test_double_payload_round_trip_property(values: list[float], seq: int) -> None:
    metrics = [
        Metric(alias=i, timestamp=i, datatype=DataType.DOUBLE, value=v, is_historical=i % 2 == 0)
        for i, v in enumerate(values)
    ]
    decoded = decode_payload(encode_payload(metrics, timestamp=0, seq=seq))
    assert [m.value for m in decoded.metrics] == values
    assert [m.is_historical for m in decoded.metrics] == [i % 2 == 0 for i in range(len(values))]


def test_null_metric_round_trip() -> None:
    (metric,) = decode_payload(
        encode_payload([Metric(name="n", datatype=DataType.FLOAT, value=None)], timestamp=1)
    ).metrics
    assert metric.is_null
    assert metric.value is None


def test_out_of_range_value_is_rejected() -> None:
    with pytest.raises(SparkplugError, match="outside"):
        encode_payload([Metric(name="m", datatype=DataType.UINT8, value=256)], timestamp=1)


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff", b"\x12\x05abc", b"\x0a"])
def test_malformed_bytes_raise_malformed_payload_error(garbage: bytes) -> None:
    with pytest.raises(MalformedPayloadError):
        decode_payload(garbage)


def test_tck_id_topic_structure_namespace_a() -> None:
    """tck-id-topic-structure-namespace-a: the namespace is spBv1.0; device ids only on D* types."""
    topic = parse_topic("spBv1.0/potline1/DDATA/gw01/pot_001")
    assert topic == Topic("potline1", MessageType.DDATA, "gw01", "pot_001")
    assert str(topic) == "spBv1.0/potline1/DDATA/gw01/pot_001"
    assert parse_topic("spBv1.0/STATE/twin") == StateTopic("twin")
    for bad in [
        "spAv1.0/g/NDATA/e",
        "spBv1.0/g/NDATA",
        "spBv1.0/g/XDATA/e",
        "spBv1.0/g/NDATA/e/d",
        "spBv1.0/g/DDATA/e",
        "spBv1.0//NDATA/e",
        "spBv1.0/STATE/a/b",
    ]:
        with pytest.raises(TopicError):
            parse_topic(bad)
    with pytest.raises(TopicError):
        Topic("g+", MessageType.NBIRTH, "e")


def test_tck_id_payloads_sequence_num_incrementing_wraps() -> None:
    """tck-id-payloads-sequence-num-incrementing: +1 per message, 255 wraps to 0; bdSeq likewise."""
    assert next_seq(0) == 1
    assert next_seq(255) == 0
    assert seq_distance(254, 1) == 3
    assert seq_distance(5, 4) == 255
    assert next_bdseq(None) == 0
    assert next_bdseq(255) == 0
    assert next_bdseq(7) == 8


def test_state_payload_round_trip_and_validation() -> None:
    assert decode_state(HostState(True, 123).encode()) == HostState(True, 123)
    for bad in [b"{", b'{"online": "yes", "timestamp": 1}', b'{"online": true}', b"[]"]:
        with pytest.raises(SparkplugError):
            decode_state(bad)


@pytest.mark.parametrize(
    ("datatype", "field", "wire"),
    [
        (DataType.INT8, "int_value", 247),
        (DataType.INT16, "int_value", 65527),
        (DataType.INT32, "int_value", 2**32 - 9),
        (DataType.INT64, "long_value", 2**64 - 9),
    ],
)
def test_negative_signed_integers_travel_as_tahu_encodes_them(datatype: DataType, field: str, wire: int) -> None:
    """Issue 9 item 6: two's complement at the type's width in the unsigned field (Tahu ``addMetric``:
    Int8 -9 -> 247), and decoded back to -9."""
    data = encode_payload([Metric(name="m", datatype=datatype, value=-9)], timestamp=1)
    message = pb.Payload()
    message.ParseFromString(data)
    assert getattr(message.metrics[0], field) == wire
    assert decode_payload(data).metrics[0].value == -9
    assert resolve_value(Metric(alias=1, value=wire, value_field=field), datatype) == -9


def test_signed_integer_edges_round_trip_and_legacy_form_is_accepted() -> None:
    for datatype, bits in [(DataType.INT8, 8), (DataType.INT16, 16), (DataType.INT32, 32), (DataType.INT64, 64)]:
        for value in (-(2 ** (bits - 1)), -1, 0, 1, 2 ** (bits - 1) - 1):
            data = encode_payload([Metric(name="m", datatype=datatype, value=value)], timestamp=1)
            assert decode_payload(data).metrics[0].value == value
    # 32-bit sign extension of an Int8 (what this codec sent before) still decodes
    assert resolve_value(Metric(alias=1, value=2**32 - 9, value_field="int_value"), DataType.INT8) == -9
    with pytest.raises(SparkplugError):  # neither form: -2**31 is no Int8
        resolve_value(Metric(alias=1, value=2**31, value_field="int_value"), DataType.INT8)


def test_metric_name_that_is_not_utf8_is_a_malformed_payload() -> None:
    raw = encode_payload([Metric(name="@@name", datatype=DataType.FLOAT, value=1.0)], timestamp=1)
    with pytest.raises(MalformedPayloadError, match="UTF-8"):
        decode_payload(raw.replace(b"@@name", b"\xff\xfename"))


@pytest.mark.parametrize("algorithm", ["DEFLATE", "GZIP"])
def test_compressed_payload_round_trip(algorithm: str) -> None:
    inner = encode_payload([Metric(name="m", datatype=DataType.DOUBLE, value=1.5)], timestamp=7, seq=9)
    wrapper = parse_protobuf(compress_payload(inner, algorithm=algorithm, seq=9))
    assert is_compressed(wrapper)
    message = decompress(wrapper, max_bytes=1000)
    assert (message.seq, message.metrics[0].double_value) == (9, 1.5)
    with pytest.raises(MalformedPayloadError, match="expands beyond"):
        decompress(wrapper, max_bytes=len(inner) - 1)


def test_unknown_compression_algorithm_is_malformed() -> None:
    wrapper = parse_protobuf(compress_payload(b"", seq=0))
    wrapper.metrics[0].string_value = "LZ4"
    with pytest.raises(MalformedPayloadError, match="LZ4"):
        decompress(wrapper, max_bytes=1000)


def test_template_and_dataset_metrics_decode() -> None:
    message = pb.Payload(timestamp=1)
    t = message.metrics.add(name="pot", datatype=DataType.TEMPLATE)
    t.template_value.template_ref = "PotController"
    t.template_value.metrics.add(name="cell_voltage_V", datatype=DataType.FLOAT, float_value=4.5)
    d = message.metrics.add(name="log", datatype=DataType.DATASET)
    d.dataset_value.columns.extend(["n"])
    d.dataset_value.types.extend([DataType.INT16])
    d.dataset_value.rows.add().elements.add(int_value=65535)
    template, dataset = decode_payload(message.SerializeToString()).metrics
    assert template.value.template_ref == "PotController"
    assert [(m.name, m.value) for m in template.value.metrics] == [("cell_voltage_V", 4.5)]
    assert dataset.value.rows == ((-1,),)
    bad = pb.Payload()
    b = bad.metrics.add(name="log", datatype=DataType.DATASET)
    b.dataset_value.columns.extend(["a", "b"])
    b.dataset_value.types.extend([DataType.INT16])
    with pytest.raises(MalformedPayloadError, match="2 columns, 1 types"):
        decode_payload(bad.SerializeToString())
    with pytest.raises(SparkplugError, match="not supported"):
        encode_payload([Metric(name="t", datatype=DataType.TEMPLATE, value=1)], timestamp=1)


def test_template_nesting_is_bounded() -> None:
    message = pb.Payload()
    node = message.metrics.add(name="t0", datatype=DataType.TEMPLATE)
    for depth in range(1, 20):
        node = node.template_value.metrics.add(name=f"t{depth}", datatype=DataType.TEMPLATE)
    with pytest.raises(MalformedPayloadError, match="nest deeper"):
        decode_payload(message.SerializeToString())
