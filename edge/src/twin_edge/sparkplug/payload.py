"""Pure encoding and decoding of Sparkplug B payloads into immutable value types.

Spec: chapter "Payloads" (tck-id-payloads-*). A DATA metric normally carries only ``alias``, ``timestamp`` and its
value; the datatype then comes from the BIRTH, so :func:`decode_payload` keeps the raw oneof field name
(``value_field``) and a datatype-less metric's value is interpreted later with :func:`resolve_value`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from twin_edge.errors import MalformedPayloadError, SparkplugError
from twin_edge.sparkplug.complex_types import MAX_TEMPLATE_DEPTH
from twin_edge.sparkplug.datatypes import VALUE_FIELD, DataType, Value, from_wire, to_wire
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric of a payload.

    ``datatype`` is ``None`` when the metric (typically alias-only DATA) does not carry one; ``value`` is then
    the raw wire value and ``value_field`` says which oneof field held it. ``value`` is ``None`` for null metrics.
    """

    name: str | None = None
    alias: int | None = None
    timestamp: int | None = None
    datatype: DataType | None = None
    value: Value | None = None
    is_historical: bool = False
    is_null: bool = False
    is_transient: bool = False
    value_field: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateValue:
    """A Template metric's value: a definition (``is_definition``) or an instance of ``template_ref``."""

    template_ref: str | None
    is_definition: bool
    version: str | None
    metrics: tuple[Metric, ...]


@dataclass(frozen=True, slots=True)
class Payload:
    timestamp: int | None
    metrics: tuple[Metric, ...]
    seq: int | None = None
    uuid: str | None = None
    body: bytes | None = None


def encode_payload(
    metrics: Iterable[Metric], *, timestamp: int | None, seq: int | None = None, uuid: str | None = None
) -> bytes:
    """Serialise metrics into a Sparkplug B payload.

    Each metric needs a datatype unless it is alias-only DATA whose value type is implied by ``value_field``.
    """
    message = pb.Payload()
    if timestamp is not None:
        message.timestamp = timestamp
    if seq is not None:
        message.seq = seq
    if uuid is not None:
        message.uuid = uuid
    for metric in metrics:
        out = message.metrics.add()
        if metric.name is not None:
            out.name = metric.name
        if metric.alias is not None:
            out.alias = metric.alias
        if metric.timestamp is not None:
            out.timestamp = metric.timestamp
        if metric.is_historical:
            out.is_historical = True
        if metric.is_transient:
            out.is_transient = True
        datatype = metric.datatype
        if datatype is not None:
            out.datatype = int(datatype)
        if metric.is_null or metric.value is None:
            out.is_null = True
            continue
        if datatype is not None:
            setattr(out, VALUE_FIELD[datatype], to_wire(datatype, metric.value))
        elif metric.value_field is not None:
            setattr(out, metric.value_field, metric.value)
        else:
            raise SparkplugError(f"metric {metric.name or metric.alias!r} needs a datatype or a value_field")
    return message.SerializeToString()


def parse_protobuf(data: bytes) -> pb.Payload:
    """Parse raw bytes into the generated protobuf message; raise :class:`MalformedPayloadError` on garbage."""
    message = pb.Payload()
    try:
        message.ParseFromString(data)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise MalformedPayloadError(f"not a Sparkplug B payload ({len(data)} bytes): {exc}") from None
    return message


def decode_payload(data: bytes) -> Payload:
    """Decode a Sparkplug B payload into value types (pure; raises :class:`MalformedPayloadError`)."""
    message = parse_protobuf(data)
    metrics = tuple(_decode_metric(m) for m in message.metrics)
    return Payload(
        timestamp=message.timestamp if message.HasField("timestamp") else None,
        metrics=metrics,
        seq=message.seq if message.HasField("seq") else None,
        uuid=message.uuid if message.HasField("uuid") else None,
        body=message.body if message.HasField("body") else None,
    )


def _decode_metric(m: pb.Payload.Metric, depth: int = 0) -> Metric:
    if not isinstance(m.name, str):  # upb returns bytes for a string field that is not valid UTF-8
        raise MalformedPayloadError(f"metric name {m.name[:40]!r} is not valid UTF-8")
    field = m.WhichOneof("value")
    raw = getattr(m, field) if field is not None else None
    datatype: DataType | None = None
    if m.HasField("datatype"):
        try:
            datatype = DataType(m.datatype)
        except ValueError:
            raise MalformedPayloadError(f"metric {m.name!r}: unsupported datatype {m.datatype}") from None
    value = raw
    if (
        datatype is not None
        and field is not None
        and field
        in (
            "int_value",
            "long_value",
            "float_value",
            "double_value",
            "boolean_value",
            "string_value",
            "bytes_value",
            "dataset_value",
        )
    ):
        try:
            value = from_wire(datatype, field, raw)
        except SparkplugError as exc:
            raise MalformedPayloadError(f"metric {m.name!r}: {exc}") from None
    elif field == "template_value":
        if depth >= MAX_TEMPLATE_DEPTH:
            raise MalformedPayloadError(f"metric {m.name!r}: templates nest deeper than {MAX_TEMPLATE_DEPTH} levels")
        t = m.template_value
        value = TemplateValue(  # type: ignore[assignment]
            template_ref=t.template_ref if t.HasField("template_ref") else None,
            is_definition=t.is_definition,
            version=t.version if t.HasField("version") else None,
            metrics=tuple(_decode_metric(member, depth + 1) for member in t.metrics),
        )
    elif field is not None and field not in VALUE_FIELD.values():
        raise MalformedPayloadError(f"metric {m.name!r}: value kind {field} is not supported")
    return Metric(
        name=m.name if m.HasField("name") else None,
        alias=m.alias if m.HasField("alias") else None,
        timestamp=m.timestamp if m.HasField("timestamp") else None,
        datatype=datatype,
        value=value,
        is_historical=m.is_historical,
        is_null=m.is_null or field is None,
        is_transient=m.is_transient,
        value_field=field,
    )


def resolve_value(metric: Metric, datatype: DataType) -> Value | None:
    """Interpret an (alias-only) metric's raw value with the datatype known from the BIRTH.

    Raises :class:`SparkplugError` when the wire field does not fit ``datatype`` (a wrong-datatype metric).
    """
    if metric.is_null or metric.value_field is None:
        return None
    if metric.datatype is not None and metric.datatype != datatype:
        raise SparkplugError(f"metric declares {metric.datatype.spec_name}, BIRTH said {datatype.spec_name}")
    if metric.datatype is not None:
        return metric.value
    return from_wire(datatype, metric.value_field, metric.value)  # type: ignore[arg-type]
