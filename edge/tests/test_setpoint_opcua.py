"""Setpoint writes over OPC UA (issue 10 item 7): DCMDs published straight to Mosquitto (the host bypassed), the
gateway writing simulated pot controllers through their OPC UA server (Basic256Sha256, user login). Real asyncua
server and client over TCP."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from twin_edge.config import load_config
from twin_edge.modbus import PlcUnavailable
from twin_edge.opcua import OpcUaPlc, OpcUaSecurity
from twin_edge.simplc.layout import opcua_tag_map_text
from twin_edge.simplc.opcua_server import SERVER_URI, SimulatedOpcUaServer, make_certificate, node_id
from twin_edge.sparkplug import DataType, Metric, decode_payload, encode_payload
from twin_edge.testing import GatewayRig, Recorder, free_port, free_port_range, unique
from twin_edge.testing import wait_until as poll_until

pytestmark = pytest.mark.mqtt
USERS = {"gw01": "opc-pw"}
LIMITS = {"resistance_target_uohm": (7.0, 11.0), "feed_mode": (0.0, 2.0), "exchanger_duty_kW": (0.0, 140.0)}


def wait_until(predicate, timeout: float = 20.0) -> None:
    """The shared poll (twin_edge.testing.wait_until) with this module's longer default."""
    poll_until(predicate, timeout)


def dcmd(name: str, value: Any, field: str) -> bytes:
    now = time.time_ns() // 1_000_000
    return encode_payload([Metric(name=name, timestamp=now, value=value, value_field=field)], timestamp=now)


def test_setpoints_are_written_over_opcua_and_only_there(tmp_path: Path, broker: tuple[str, int]) -> None:
    group = unique("g")
    pki = tmp_path / "pki"
    asyncio.run(make_certificate(pki, "simplc-server", uri=SERVER_URI, server=True))
    cert, key = asyncio.run(make_certificate(pki, "gw01", uri="urn:smelter-twin:twin-edge", server=False))
    (tmp_path / "gw01.opcua-password").write_text("opc-pw\n")
    opc_port = free_port()
    (tmp_path / "tagmap.toml").write_text(
        opcua_tag_map_text(
            pots=2,
            endpoint=f"opc.tcp://127.0.0.1:{opc_port}/twin/",
            client_cert="pki/gw01.der",
            client_key="pki/gw01.pem",
            server_cert="pki/simplc-server.der",
            username="gw01",
            password_file="gw01.opcua-password",
            setpoint_limits=LIMITS,
        )
    )
    (tmp_path / "gateway.toml").write_text(
        f'tag_map = "tagmap.toml"\n[mqtt]\nport = {broker[1]}\nreconnect_min_s = 0.2\nreconnect_max_s = 1.0\n'
        f'[sparkplug]\ngroup_id = "{group}"\nedge_node_id = "gw"\n[poll]\nperiod_s = 0.2\ntimeout_s = 1.0\n'
        '[store]\npath = "state/store.sqlite"\n'
    )
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = GatewayRig(load_config(tmp_path / "gateway.toml"), pots=2, first_port=free_port_range(2))
    rig.start(plcs=True)
    server = SimulatedOpcUaServer(rig.plcs, port=opc_port, users=USERS, cert_dir=pki, update_period_s=0.05)
    try:
        rig.call(server.start(), timeout=30)
        rec.wait_for(lambda ms: sum("DBIRTH" in m.topic for m in ms) >= 2, timeout=30)
        birth = decode_payload(rec.messages("/DBIRTH/gw/pot_001")[0].payload).metrics
        feed = next(m for m in birth if m.name == "feed_mode")
        assert (feed.datatype, feed.value) == (DataType.UINT16, 0)
        topic = f"spBv1.0/{group}/DCMD/gw/pot_001"
        rec.publish(topic, dcmd("resistance_target_uohm", 9.5, "float_value"), qos=1)
        rec.publish(topic, dcmd("feed_mode", 2, "int_value"), qos=1)
        wait_until(lambda: rig.plcs.setpoint(0, "feed_mode") == 2.0)
        assert rig.plcs.setpoint(0, "resistance_target_uohm") == 9.5

        def reported() -> bool:
            return any(
                m.alias == feed.alias and m.value == 2
                for msg in rec.messages("/DDATA/gw/pot_001")
                for m in decode_payload(msg.payload).metrics
            )

        wait_until(reported)  # the read-back in the next DDATA
        gateway = rig.gateway
        assert gateway is not None
        assert (gateway.counters.setpoint_writes, gateway.counters.setpoint_readback_mismatch) == (2, 0)
        # out of the tag map's range: refused by the gateway, nothing written
        rec.publish(topic, dcmd("exchanger_duty_kW", 500.0, "float_value"), qos=1)
        wait_until(lambda: gateway.counters.setpoint_refused == 1)
        assert rig.plcs.setpoint(0, "exchanger_duty_kW") == 0.0
        # a controller in local mode answers with a bad status: a failed write, nothing taken
        rig.plcs.ignore_setpoint_writes(1)
        rec.publish(f"spBv1.0/{group}/DCMD/gw/pot_002", dcmd("exchanger_duty_kW", 50.0, "float_value"), qos=1)
        wait_until(lambda: gateway.counters.setpoint_write_failures == 1)
        assert rig.plcs.setpoint(1, "exchanger_duty_kW") == 0.0

        # the process values stay read-only over OPC UA, even for the gateway's login
        async def write_voltage() -> object:
            security = OpcUaSecurity(cert, key, server.server_cert, username="gw01", password="opc-pw")
            plc = OpcUaPlc(server.endpoint, [], security=security, timeout_s=2)
            try:
                return await plc.write(node_id(0, "cell_voltage_V"), 3.0, DataType.FLOAT)
            except PlcUnavailable as exc:
                return exc
            finally:
                await plc.close()

        refused = rig.call(write_voltage(), timeout=30)
        assert isinstance(refused, PlcUnavailable)
        assert "BadUserAccessDenied" in str(refused)
    finally:
        rig.call(server.stop(), timeout=30)
        rig.stop()
        rec.close()
