"""How engineering values are packed into 16-bit Modbus holding registers (big-endian words).

Shared by the gateway (decoding) and the simulated PLCs (encoding) so that both agree by construction.
"""

from __future__ import annotations

import struct
from enum import StrEnum


class Encoding(StrEnum):
    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"
    FLOAT32 = "float32"

    @property
    def register_count(self) -> int:
        return 1 if self in (Encoding.UINT16, Encoding.INT16) else 2


_FORMATS = {
    Encoding.UINT16: ">H",
    Encoding.INT16: ">h",
    Encoding.UINT32: ">I",
    Encoding.INT32: ">i",
    Encoding.FLOAT32: ">f",
}


def encode_registers(encoding: Encoding, value: float) -> list[int]:
    """Pack ``value`` into registers; integers are rounded and clamped to the encoding's range."""
    fmt = _FORMATS[encoding]
    if encoding is not Encoding.FLOAT32:
        bits = 16 * encoding.register_count
        signed = encoding in (Encoding.INT16, Encoding.INT32)
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        value = min(max(round(value), low), high)
    data = struct.pack(fmt, value)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def decode_registers(encoding: Encoding, registers: list[int]) -> float | int:
    """Unpack the registers of one value (``len(registers) == encoding.register_count``)."""
    data = b"".join(r.to_bytes(2, "big") for r in registers)
    return struct.unpack(_FORMATS[encoding], data)[0]
