"""Sparkplug B metric datatypes and how each maps onto the protobuf ``value`` oneof.

The datatype numbers are those of the Sparkplug B 3.0 specification, chapter "Payloads" (same as the comment
block in ``sparkplug_b.proto``). Signed integers of 8/16/32 bits travel in the *unsigned* ``int_value`` field and
Int64 in ``long_value``, as two's complement **at the type's own width**, as Eclipse Tahu's reference encoder does
(``python/core/sparkplug_b.py`` ``addMetric``: Int8 -9 -> 247, Int16 -9 -> 65527). Decoding needs the datatype
from the BIRTH (see united-manufacturing-hub/benthos-umh PR #454, eclipse-tahu/tahu #34); for Int8/Int16 the
32-bit sign-extended form older encoders (and this package before issue 9) sent is accepted too.
"""

from __future__ import annotations

from enum import IntEnum

from twin_edge.errors import SparkplugError

Value = bool | int | float | str | bytes


class DataType(IntEnum):
    """Sparkplug B metric datatypes: the basic ones, DataSet and Template (decoding only; arrays, File and
    PropertySet are not supported)."""

    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14
    UUID = 15
    DATASET = 16
    BYTES = 17
    TEMPLATE = 19

    @classmethod
    def from_name(cls, name: str) -> DataType:
        """Parse a spec name such as ``"Float"`` or ``"UInt16"`` (case-insensitive)."""
        try:
            return cls[name.upper()]
        except KeyError:
            raise SparkplugError(f"unknown Sparkplug datatype {name!r}; expected one of {datatype_names()}") from None

    @property
    def spec_name(self) -> str:
        return _SPEC_NAMES[self]


_SPEC_NAMES = {
    DataType.INT8: "Int8",
    DataType.INT16: "Int16",
    DataType.INT32: "Int32",
    DataType.INT64: "Int64",
    DataType.UINT8: "UInt8",
    DataType.UINT16: "UInt16",
    DataType.UINT32: "UInt32",
    DataType.UINT64: "UInt64",
    DataType.FLOAT: "Float",
    DataType.DOUBLE: "Double",
    DataType.BOOLEAN: "Boolean",
    DataType.STRING: "String",
    DataType.DATETIME: "DateTime",
    DataType.TEXT: "Text",
    DataType.UUID: "UUID",
    DataType.DATASET: "DataSet",
    DataType.BYTES: "Bytes",
    DataType.TEMPLATE: "Template",
}


def datatype_names() -> str:
    return ", ".join(_SPEC_NAMES[d] for d in DataType)


# Which protobuf oneof field carries each datatype.
VALUE_FIELD: dict[DataType, str] = {
    DataType.INT8: "int_value",
    DataType.INT16: "int_value",
    DataType.INT32: "int_value",
    DataType.UINT8: "int_value",
    DataType.UINT16: "int_value",
    DataType.UINT32: "int_value",
    DataType.INT64: "long_value",
    DataType.UINT64: "long_value",
    DataType.DATETIME: "long_value",
    DataType.FLOAT: "float_value",
    DataType.DOUBLE: "double_value",
    DataType.BOOLEAN: "boolean_value",
    DataType.STRING: "string_value",
    DataType.TEXT: "string_value",
    DataType.UUID: "string_value",
    DataType.BYTES: "bytes_value",
    DataType.DATASET: "dataset_value",
    DataType.TEMPLATE: "template_value",
}

_INT_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.INT8: (-(2**7), 2**7 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT8: (0, 2**8 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.UINT64: (0, 2**64 - 1),
    DataType.DATETIME: (0, 2**64 - 1),
}
SIGNED_BITS = {DataType.INT8: 8, DataType.INT16: 16, DataType.INT32: 32, DataType.INT64: 64}


def signed_from_wire(raw: int, bits: int) -> int:
    """The signed value of a raw unsigned ``int_value``/``long_value`` of a ``bits``-wide signed type.

    ``raw`` is two's complement at the type's width (Tahu), or for 8/16-bit types the 32-bit sign-extended form.
    Raises :class:`SparkplugError` when ``raw`` fits neither.
    """
    if raw < 1 << (bits - 1):
        return raw
    if raw < 1 << bits:
        return raw - (1 << bits)
    if bits < 32 and (1 << 31) <= raw < (1 << 32):
        value = raw - (1 << 32)
        if value >= -(1 << (bits - 1)):
            return value
    raise SparkplugError(f"raw value {raw} is not a {bits}-bit two's complement integer")


def to_wire(datatype: DataType, value: Value) -> Value:
    """Convert a Python value into what the protobuf field of ``datatype`` holds (validating its range)."""
    field = VALUE_FIELD[datatype]
    if datatype in (DataType.DATASET, DataType.TEMPLATE):
        raise SparkplugError(f"encoding {datatype.spec_name} metrics is not supported")
    if field in ("int_value", "long_value"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise SparkplugError(f"{datatype.spec_name} needs an integer, got {value!r}")
        low, high = _INT_RANGES[datatype]
        if not low <= value <= high:
            raise SparkplugError(f"{datatype.spec_name} value {value} is outside [{low}, {high}]")
        if value < 0:  # two's complement at the type's width, as Tahu does (module docstring)
            value += 1 << SIGNED_BITS[datatype]
        return value
    if field in ("float_value", "double_value"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SparkplugError(f"{datatype.spec_name} needs a number, got {value!r}")
        return float(value)
    if field == "boolean_value":
        if not isinstance(value, bool):
            raise SparkplugError(f"Boolean needs True/False, got {value!r}")
        return value
    if field == "string_value":
        if not isinstance(value, str):
            raise SparkplugError(f"{datatype.spec_name} needs a string, got {value!r}")
        return value
    if not isinstance(value, bytes):
        raise SparkplugError(f"Bytes needs bytes, got {value!r}")
    return value


def from_wire(datatype: DataType, field: str, raw: Value) -> Value:
    """Interpret the raw oneof value ``raw`` (carried in ``field``) as ``datatype``.

    Raises :class:`SparkplugError` when the field does not match the datatype (a *wrong datatype*).
    """
    if VALUE_FIELD[datatype] != field:
        raise SparkplugError(f"{datatype.spec_name} metric carries {field}, expected {VALUE_FIELD[datatype]}")
    bits = SIGNED_BITS.get(datatype)
    if bits is not None:
        return signed_from_wire(int(raw), bits)
    if datatype is DataType.DATASET:
        from twin_edge.sparkplug.complex_types import decode_dataset  # (imports this module)

        return decode_dataset(raw)  # type: ignore[arg-type, return-value]
    if field == "string_value" and not isinstance(raw, str):  # upb hands back bytes for invalid UTF-8
        raise SparkplugError(f"{datatype.spec_name} value {raw[:40]!r} is not valid UTF-8")
    if datatype in _INT_RANGES and not 0 <= int(raw) <= _INT_RANGES[datatype][1]:
        raise SparkplugError(f"{datatype.spec_name} value {raw} is outside [0, {_INT_RANGES[datatype][1]}]")
    return raw
