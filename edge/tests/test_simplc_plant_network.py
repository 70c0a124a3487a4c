"""Simulated PLCs behave like pot controllers on a plant network (issue 9 item 15): read-only for clients and
answering only their configured Modbus unit id. Checked with a plain pymodbus client (another Modbus client than
the gateway's) and with the gateway's own adapter, over real Modbus TCP."""

from __future__ import annotations

import asyncio

import pytest
from pymodbus.client import AsyncModbusTcpClient

from twin_edge.modbus import ModbusPlc, PlcUnavailable
from twin_edge.simplc import SimulatedPlcs, SyntheticSource
from twin_edge.testing import free_port_range


async def _scenario(port: int) -> dict[str, object]:
    out: dict[str, object] = {}
    async with SimulatedPlcs(SyntheticSource(), pots=1, first_port=port, unit=7, noise=False) as plcs:
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        await client.connect()
        try:
            before = await client.read_holding_registers(0, count=13, slave=7)
            out["read_ok"] = not before.isError()
            single = await client.write_register(12, 999, slave=7)
            multiple = await client.write_registers(0, [1, 2, 3], slave=7)
            out["writes_refused"] = [single.isError(), multiple.isError()]
            after = await client.read_holding_registers(12, count=1, slave=7)
            out["register_12_after"] = after.registers[0]
            out["rejected_writes"] = plcs.rejected_writes
        finally:
            client.close()
        right = ModbusPlc("127.0.0.1", port, 7, timeout_s=0.5)
        wrong = ModbusPlc("127.0.0.1", port, 1, timeout_s=0.5)
        try:
            out["right_unit"] = len(await right.read_holding(0, 13))
            try:
                await wrong.read_holding(0, 13)
                out["wrong_unit"] = "answered"
            except PlcUnavailable as exc:
                out["wrong_unit"] = str(exc)
        finally:
            right.close()
            wrong.close()
    return out


def test_simulated_plcs_refuse_writes_and_answer_only_their_unit_id() -> None:
    out = asyncio.run(_scenario(free_port_range(1)))
    assert out["read_ok"]
    assert out["writes_refused"] == [True, True]
    assert out["rejected_writes"] == 2
    assert out["register_12_after"] != 999
    assert out["right_unit"] == 13
    assert out["wrong_unit"] != "answered"


def test_unit_id_is_validated() -> None:
    with pytest.raises(ValueError, match="unit = 0"):
        SimulatedPlcs(SyntheticSource(), pots=1, first_port=15020, unit=0)
