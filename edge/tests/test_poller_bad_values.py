"""A PLC value no engineering value can be made of costs only itself (twin_edge.poller). A third-party OPC UA
server (plain asyncua, no security, over TCP) serves a Double, a String and an Int32 holding a huge value; the
gateway's tag map reads the String as a Float and the huge value as an Int16. The poll used to raise out of
``float()`` and stop the gateway; now the bad values are left out and counted, the good one is read."""

from __future__ import annotations

import asyncio
import logging

import pytest
from asyncua import Server, ua

from twin_edge.poller import Poller
from twin_edge.registers import Encoding
from twin_edge.sparkplug import DataType
from twin_edge.tagmap import DeviceSpec, Tag, TagMap
from twin_edge.testing import free_port


async def _poll_third_party_server() -> tuple[dict, int, list[str]]:
    server = Server()
    await server.init()
    port = free_port()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/third-party/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace("urn:third-party")
    pot = await server.nodes.objects.add_object(ns, "pot")
    good = await pot.add_variable(ns, "voltage", 4.2, varianttype=ua.VariantType.Double)
    text = await pot.add_variable(ns, "mode", "AUTO", varianttype=ua.VariantType.String)
    huge = await pot.add_variable(ns, "count", 1e300, varianttype=ua.VariantType.Double)
    tags = (
        Tag("cell_voltage_V", 0, Encoding.FLOAT32, DataType.FLOAT, node=good.nodeid.to_string()),
        Tag("feed_mode", 0, Encoding.FLOAT32, DataType.FLOAT, node=text.nodeid.to_string()),
        Tag("feed_count", 0, Encoding.FLOAT32, DataType.INT16, node=huge.nodeid.to_string()),
    )
    device = DeviceSpec("pot_001", "127.0.0.1", port, 1, tags, protocol="opcua",
                        endpoint=f"opc.tcp://127.0.0.1:{port}/third-party/")
    async with server:
        poller = Poller(TagMap((device,)), timeout_s=2.0, period_s=0.1)
        try:
            readings = [await poller.poll_all() for _ in range(3)]
        finally:
            await poller.aclose()
    return readings[-1][0].values or {}, poller.bad_values, [r.error or "" for r in readings[-1]]


def test_a_value_of_the_wrong_kind_is_left_out_and_the_rest_read(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="twin_edge.poller"):
        values, bad, errors = asyncio.run(_poll_third_party_server())
    assert errors == [""]
    assert values == {"cell_voltage_V": pytest.approx(4.2)}
    assert bad == 2 * 3  # two bad tags, three polls
    logged = [r.getMessage() for r in caplog.records if r.name == "twin_edge.poller"]
    assert len(logged) == 2  # once per tag, not per poll
    assert any("feed_mode" in m and "ValueError" in m for m in logged)
    assert any("feed_count" in m for m in logged)
