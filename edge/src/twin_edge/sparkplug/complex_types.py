"""Sparkplug B DataSet and Template metrics (spec "Payloads": DataSet, Template), decoded into value types.

* A **DataSet** (datatype 16) is a small table: column names, one basic datatype per column, rows of values.
  Decoded into :class:`DataSetValue` with every cell interpreted with its column's datatype (signed integers as
  two's complement at their width, like plain metrics).
* A **Template** (datatype 19) is a user-defined type (a UDT, e.g. a pot controller): a *definition* (in NBIRTH,
  ``is_definition``) lists member metrics; an *instance* (``template_ref`` = the definition's name) carries values
  for its members, which may be templates again. :func:`flatten_template` turns an instance into its leaf members
  named ``<instance>/<member>[/<member>...]`` — how the twin's host delivers them as ordinary samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from twin_edge.errors import SparkplugError
from twin_edge.sparkplug.datatypes import SIGNED_BITS, VALUE_FIELD, DataType, Value, signed_from_wire
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb

DATASET = 16
TEMPLATE = 19
MAX_TEMPLATE_DEPTH = 8  # nesting deeper than this is refused (a crafted payload must not recurse without end)


@dataclass(frozen=True, slots=True)
class DataSetValue:
    columns: tuple[str, ...]
    types: tuple[DataType, ...]
    rows: tuple[tuple[Value | None, ...], ...]

    def as_dicts(self) -> list[dict[str, Value | None]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def decode_dataset(raw: pb.Payload.DataSet) -> DataSetValue:
    """Check and decode a protobuf DataSet; raise :class:`SparkplugError` naming what does not fit."""
    columns = tuple(raw.columns)
    if any(not isinstance(c, str) for c in columns):
        raise SparkplugError("DataSet column name is not valid UTF-8")
    try:
        types = tuple(DataType(t) for t in raw.types)
    except ValueError as exc:
        raise SparkplugError(f"DataSet column type {exc}") from None
    n = len(columns)
    if len(types) != n or (raw.HasField("num_of_columns") and raw.num_of_columns != n):
        raise SparkplugError(f"DataSet has {n} columns, {len(types)} types and num_of_columns {raw.num_of_columns}")
    rows = []
    for r, row in enumerate(raw.rows):
        if len(row.elements) != n:
            raise SparkplugError(f"DataSet row {r} has {len(row.elements)} values for {n} columns")
        rows.append(
            tuple(
                _cell(element, datatype, r, c)
                for c, (element, datatype) in enumerate(zip(row.elements, types, strict=True))
            )
        )
    return DataSetValue(columns, types, tuple(rows))


def _cell(element: pb.Payload.DataSet.DataSetValue, datatype: DataType, r: int, c: int) -> Value | None:
    field = element.WhichOneof("value")
    if field is None:
        return None
    if field != VALUE_FIELD.get(datatype):
        raise SparkplugError(f"DataSet row {r} column {c}: {datatype.spec_name} carried in {field}")
    value = getattr(element, field)
    bits = SIGNED_BITS.get(datatype)
    if bits is not None:
        return signed_from_wire(value, bits)
    if field == "string_value" and not isinstance(value, str):
        raise SparkplugError(f"DataSet row {r} column {c}: string is not valid UTF-8")
    return value


def flatten_template(
    prefix: str, metric: pb.Payload.Metric, default_ts: int, depth: int = 0
) -> Iterator[tuple[str | None, pb.Payload.Metric, int]]:
    """Leaf members of a template instance as ``(flat name, member, timestamp)``; the flat name is None when a
    member's name is not UTF-8 (the caller counts it). Members without a timestamp take the instance's."""
    if depth >= MAX_TEMPLATE_DEPTH:
        raise SparkplugError(f"template {prefix!r} nests deeper than {MAX_TEMPLATE_DEPTH} levels")
    ts = metric.timestamp if metric.HasField("timestamp") else default_ts
    for member in metric.template_value.metrics:
        name = member.name
        if not isinstance(name, str) or not name:
            yield None, member, ts
            continue
        flat = f"{prefix}/{name}"
        if member.datatype == TEMPLATE or member.WhichOneof("value") == "template_value":
            yield from flatten_template(flat, member, ts, depth + 1)
        else:
            yield flat, member, ts


def is_template(metric: pb.Payload.Metric) -> bool:
    return metric.datatype == TEMPLATE or metric.WhichOneof("value") == "template_value"
