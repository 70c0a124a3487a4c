"""Polls every PLC of the tag map concurrently and turns registers (Modbus) or monitored values (OPC UA) into
engineering values.

A value that cannot be one (an OPC UA server that sends a String, an array or no value for a Float tag, a NaN or
infinity for an integer tag, a value outside an integer type's range) is left out of that poll's reading,
counted in ``bad_values`` and logged once per tag: the PLC's other values go on, and a birth sends the tag as
null. Found by reading the code in a hostile-input review (2026-12-07): ``float()`` or ``round()`` raised out of
the poll, or the DDATA's encoding did (an Int16 tag holding 1e300), and stopped the whole gateway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twin_edge.errors import SparkplugError
from twin_edge.modbus import ModbusPlc, PlcUnavailable
from twin_edge.registers import decode_registers, encode_registers
from twin_edge.sparkplug import DataType, Value
from twin_edge.sparkplug.datatypes import to_wire
from twin_edge.tagmap import DeviceSpec, Tag, TagMap

logger = logging.getLogger(__name__)
BAD_TAGS_LOGGED = 1000  # tags whose first bad value is logged (a bound on the set, not on the count)

_INTEGER_TYPES = {
    DataType.INT8,
    DataType.INT16,
    DataType.INT32,
    DataType.INT64,
    DataType.UINT8,
    DataType.UINT16,
    DataType.UINT32,
    DataType.UINT64,
}


@dataclass(frozen=True, slots=True)
class Reading:
    """One poll of one PLC: ``values`` is None when the PLC did not answer (``error`` says why)."""

    device_id: str
    timestamp: int
    values: dict[str, Value] | None
    error: str | None = None


def engineering_value(tag: Tag, registers: list[int], first: int) -> Value:
    start = tag.register - first
    raw = decode_registers(tag.encoding, registers[start : start + tag.encoding.register_count])
    value = raw * tag.scale + tag.offset
    if tag.datatype is DataType.BOOLEAN:
        return value != 0
    if tag.datatype in _INTEGER_TYPES:
        return round(value)
    return float(value)


def opcua_value(tag: Tag, raw: Any) -> Value:
    if tag.datatype is DataType.BOOLEAN:
        return bool(raw)
    value = float(raw) * tag.scale + tag.offset
    if tag.datatype in _INTEGER_TYPES:
        return round(value)
    return value


class Poller:
    def __init__(self, tag_map: TagMap, *, timeout_s: float, period_s: float = 1.0) -> None:
        self._devices = tag_map.devices
        self.bad_values = 0  # values no engineering value could be made of (module docstring)
        self._bad_logged: set[tuple[str, str]] = set()
        self._plcs = {
            d.device_id: ModbusPlc(d.host, d.port, d.unit, timeout_s=timeout_s)
            for d in tag_map.devices
            if d.protocol == "modbus"
        }
        self._opcua: dict[str, Any] = {}
        opcua_devices = [d for d in tag_map.devices if d.protocol == "opcua"]
        if opcua_devices:
            from twin_edge.opcua import MonitoredTag, OpcUaPlc  # asyncua is imported only when OPC UA is used

            for d in opcua_devices:
                tags = [
                    MonitoredTag(
                        t.metric,
                        t.node or "",
                        t.deadband / abs(t.scale) if t.scale else 0.0,  # the server sees raw values
                        t.datatype is not DataType.BOOLEAN,
                    )
                    for t in d.tags
                ]
                self._opcua[d.device_id] = OpcUaPlc(
                    d.endpoint or "",
                    tags,
                    security=d.opcua,
                    timeout_s=timeout_s,
                    publish_interval_ms=max(50.0, period_s * 500),
                )

    async def poll_all(self) -> list[Reading]:
        return list(await asyncio.gather(*(self._poll(d) for d in self._devices)))

    async def _poll(self, device: DeviceSpec) -> Reading:
        if device.protocol == "opcua":
            try:
                raw = await self._opcua[device.device_id].read()
            except PlcUnavailable as exc:
                return Reading(device.device_id, time.time_ns() // 1_000_000, None, str(exc))
            values = self._convert(device, lambda tag: opcua_value(tag, raw.get(tag.metric)))
            return Reading(device.device_id, time.time_ns() // 1_000_000, values)
        first, count = device.register_span
        try:
            registers = await self._plcs[device.device_id].read_holding(first, count)
        except PlcUnavailable as exc:
            return Reading(device.device_id, time.time_ns() // 1_000_000, None, str(exc))
        timestamp = time.time_ns() // 1_000_000
        values = self._convert(device, lambda tag: engineering_value(tag, registers, first))
        return Reading(device.device_id, timestamp, values)

    def _convert(self, device: DeviceSpec, convert: Callable[[Tag], Value]) -> dict[str, Value]:
        """Each tag's engineering value; one that cannot be made is left out (module docstring)."""
        values: dict[str, Value] = {}
        for tag in device.tags:
            try:
                value = convert(tag)
                to_wire(tag.datatype, value)  # the range of an integer type: what a DDATA could not encode
                values[tag.metric] = value
            except (TypeError, ValueError, OverflowError, SparkplugError) as exc:
                self.bad_values += 1
                key = (device.device_id, tag.metric)
                if key not in self._bad_logged and len(self._bad_logged) < BAD_TAGS_LOGGED:
                    self._bad_logged.add(key)
                    logger.warning(
                        "%s %s: no %s value could be made of what the PLC sent (%s: %s); left out of this "
                        "poll (later ones are counted in bad_values, not logged)",
                        device.device_id, tag.metric, tag.datatype.spec_name, type(exc).__name__, str(exc)[:200],
                    )
        return values

    async def write_tag(self, device_id: str, tag: Tag, value: float) -> Value:
        """Write ``value`` (engineering units) into ``tag``'s registers, read them back and return what the PLC
        holds now (engineering units). Raises :class:`PlcUnavailable` if the write or the read-back fails."""
        raw = (value - tag.offset) / tag.scale if tag.scale else 0.0
        opc = self._opcua.get(device_id)
        if opc is not None:
            return opcua_value(tag, await opc.write(tag.node or "", raw, tag.datatype))
        plc = self._plcs.get(device_id)
        if plc is None:
            raise PlcUnavailable(f"{device_id} is not a device of this gateway")
        await plc.write_holding(tag.register, encode_registers(tag.encoding, raw))
        registers = await plc.read_holding(tag.register, tag.encoding.register_count)
        return engineering_value(tag, registers, tag.register)

    def close(self) -> None:
        for plc in self._plcs.values():
            plc.close()

    async def aclose(self) -> None:
        self.close()
        for opc in self._opcua.values():
            await opc.close()
