"""Our small adapter over the pymodbus 3.8 asyncio TCP client.

pymodbus changes its API in most minor releases (``slave=`` became ``device_id=`` in 3.10, and more; see
iiot.md §3.2), so nothing else in twin_edge imports pymodbus client classes directly.
"""

from __future__ import annotations

import asyncio
import logging

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

logger = logging.getLogger(__name__)


class PlcUnavailable(Exception):  # noqa: N818 - a state, not a programming error
    """The PLC did not answer (connection refused, timeout, or an exception response)."""


class ModbusPlc:
    """One Modbus TCP PLC, read with holding-register requests."""

    def __init__(self, host: str, port: int, unit: int, *, timeout_s: float) -> None:
        self.host, self.port, self.unit = host, port, unit
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()  # one request at a time: the poller's reads and the gateway's setpoint writes
        self._client = AsyncModbusTcpClient(
            host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0, reconnect_delay_max=0
        )

    async def read_holding(self, address: int, count: int) -> list[int]:
        """Read ``count`` holding registers from ``address``; raise :class:`PlcUnavailable` on any failure."""
        async with self._lock:
            return await self._read(address, count)

    async def _read(self, address: int, count: int) -> list[int]:
        try:
            if not self._client.connected:
                await asyncio.wait_for(self._client.connect(), self._timeout_s)
                if not self._client.connected:
                    raise PlcUnavailable(f"{self.host}:{self.port} refused the connection")
            response = await asyncio.wait_for(
                self._client.read_holding_registers(address, count=count, slave=self.unit),
                self._timeout_s * 2,
            )
        except (ModbusException, OSError, TimeoutError) as exc:
            self._client.close()
            raise PlcUnavailable(f"{self.host}:{self.port}: {exc}") from None
        if response.isError():
            raise PlcUnavailable(f"{self.host}:{self.port} answered with {response}")
        return list(response.registers)

    async def write_holding(self, address: int, registers: list[int]) -> None:
        """Write ``registers`` from ``address`` (function code 16, Write Multiple Registers, Modbus Application
        Protocol V1.1b3 §6.12); raise :class:`PlcUnavailable` on any failure or exception response."""
        async with self._lock:
            await self._write(address, registers)

    async def _write(self, address: int, registers: list[int]) -> None:
        try:
            if not self._client.connected:
                await asyncio.wait_for(self._client.connect(), self._timeout_s)
                if not self._client.connected:
                    raise PlcUnavailable(f"{self.host}:{self.port} refused the connection")
            response = await asyncio.wait_for(
                self._client.write_registers(address, registers, slave=self.unit), self._timeout_s * 2
            )
        except (ModbusException, OSError, TimeoutError) as exc:
            self._client.close()
            raise PlcUnavailable(f"{self.host}:{self.port}: {exc}") from None
        if response.isError():
            raise PlcUnavailable(f"{self.host}:{self.port} refused the write with {response}")

    def close(self) -> None:
        self._client.close()
