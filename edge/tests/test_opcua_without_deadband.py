"""A third-party OPC UA server that supports no deadband filter (OPC UA Part 4 §7.22.2 makes it optional; such a
server answers CreateMonitoredItems with Bad_MonitoredItemFilterUnsupported, §5.12.2). The gateway used to treat
the refusal as an unreachable PLC and never read the pot; now it monitors every change of that node, and its
report by exception applies the deadband before publishing.

The server is plain asyncua over TCP whose monitored-item service refuses every deadband filter, as such servers do.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from asyncua import Server, ua
from asyncua.server.monitored_item_service import MonitoredItemService

from twin_edge.opcua import MonitoredTag, OpcUaPlc
from twin_edge.testing import free_port


def _refuse_deadbands(monkeypatch: pytest.MonkeyPatch) -> list[ua.StatusCode]:
    refused: list[ua.StatusCode] = []
    original = MonitoredItemService._create_data_change_monitored_item

    async def create(self, item: ua.MonitoredItemCreateRequest) -> ua.MonitoredItemCreateResult:
        flt = item.RequestedParameters.Filter
        # by name: the decoded filter's class is not always the one `ua` exports
        if type(flt).__name__ == "DataChangeFilter" and flt.DeadbandType != ua.DeadbandType.None_:
            result = ua.MonitoredItemCreateResult()
            result.StatusCode = ua.StatusCode(ua.StatusCodes.BadMonitoredItemFilterUnsupported)
            refused.append(result.StatusCode)
            return result
        return await original(self, item)

    monkeypatch.setattr(MonitoredItemService, "_create_data_change_monitored_item", create)
    return refused


async def _read_twice() -> tuple[dict, dict, int]:
    server = Server()
    await server.init()
    port = free_port()
    endpoint = f"opc.tcp://127.0.0.1:{port}/no-deadband/"
    server.set_endpoint(endpoint)
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace("urn:no-deadband")
    pot = await server.nodes.objects.add_object(ns, "pot")
    voltage = await pot.add_variable(ns, "voltage", 4.2, varianttype=ua.VariantType.Double)
    count = await pot.add_variable(ns, "feeds", 7, varianttype=ua.VariantType.Int32)
    tags = [
        MonitoredTag("cell_voltage_V", voltage.nodeid.to_string(), deadband=0.005),
        MonitoredTag("feed_count", count.nodeid.to_string(), deadband=0.0),
    ]
    async with server:
        plc = OpcUaPlc(endpoint, tags, security=None, timeout_s=1.0, publish_interval_ms=50.0)
        try:
            first = await plc.read()
            await voltage.write_value(4.31, ua.VariantType.Double)
            await count.write_value(8, ua.VariantType.Int32)
            for _ in range(40):
                await asyncio.sleep(0.05)
                second = await plc.read()
                if second["cell_voltage_V"] != first["cell_voltage_V"] and second["feed_count"] == 8:
                    break
            notified = plc.notifications["cell_voltage_V"]
        finally:
            await plc.close()
    return first, second, notified


def test_a_server_without_deadband_filters_is_read_and_followed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    refused = _refuse_deadbands(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="twin_edge.opcua"):
        first, second, notified = asyncio.run(_read_twice())
    assert refused, "the server did not refuse the deadband: the test would prove nothing"
    assert first == {"cell_voltage_V": pytest.approx(4.2), "feed_count": 7}
    assert second == {"cell_voltage_V": pytest.approx(4.31), "feed_count": 8}
    assert notified >= 2  # the initial value and the change, without a server-side filter
    warnings = [r.getMessage() for r in caplog.records if "refuses a deadband filter" in r.getMessage()]
    assert len(warnings) == 1  # once per PLC, not per node or per reconnect
    assert "BadMonitoredItemFilterUnsupported" in warnings[0]
