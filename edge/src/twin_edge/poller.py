"""Polls every PLC of the tag map concurrently and turns registers (Modbus) or monitored values (OPC UA) into
engineering values."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from twin_edge.modbus import ModbusPlc, PlcUnavailable
from twin_edge.registers import decode_registers, encode_registers
from twin_edge.sparkplug import DataType, Value
from twin_edge.tagmap import DeviceSpec, Tag, TagMap

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
            values = {tag.metric: opcua_value(tag, raw[tag.metric]) for tag in device.tags}
            return Reading(device.device_id, time.time_ns() // 1_000_000, values)
        first, count = device.register_span
        try:
            registers = await self._plcs[device.device_id].read_holding(first, count)
        except PlcUnavailable as exc:
            return Reading(device.device_id, time.time_ns() // 1_000_000, None, str(exc))
        timestamp = time.time_ns() // 1_000_000
        values = {tag.metric: engineering_value(tag, registers, first) for tag in device.tags}
        return Reading(device.device_id, timestamp, values)

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
