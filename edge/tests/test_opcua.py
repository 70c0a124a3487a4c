"""OPC UA on the edge (issue 9): simulated pot controllers served over OPC UA with Basic256Sha256 and user name
login, read by the gateway's adapter through a subscription with absolute deadbands. Real asyncua server and
client over TCP."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twin_edge.config import load_config
from twin_edge.modbus import PlcUnavailable
from twin_edge.opcua import MonitoredTag, OpcUaPlc, OpcUaSecurity
from twin_edge.simplc import POT_LAYOUT, SimulatedPlcs, SyntheticSource
from twin_edge.simplc.layout import opcua_tag_map_text
from twin_edge.simplc.opcua_server import SERVER_URI, SimulatedOpcUaServer, make_certificate, node_id
from twin_edge.sparkplug import decode_payload
from twin_edge.tagmap import load_tag_map
from twin_edge.testing import GatewayRig, Recorder, free_port, free_port_range, unique

USERS = {"gw01": "opc-pw"}


async def _with_server(tmp_path: Path, body) -> object:
    async with SimulatedPlcs(SyntheticSource(), pots=2, first_port=free_port_range(2), update_period_s=0.02) as plcs:
        server = SimulatedOpcUaServer(
            plcs, port=free_port(), users=USERS, cert_dir=tmp_path / "pki", update_period_s=0.02
        )
        async with server:
            cert, key = await make_certificate(tmp_path / "pki", "gw01", uri="urn:smelter-twin:twin-edge", server=False)
            return await body(server, cert, key)


def _voltage(pot: int, deadband: float = 0.0, metric: str = "cell_voltage_V") -> MonitoredTag:
    return MonitoredTag(metric, node_id(pot, "cell_voltage_V"), deadband)


def test_login_and_security_policy_are_enforced(tmp_path: Path) -> None:
    """Basic256Sha256 with the right user reads; a wrong password, no login, or no security are refused."""

    async def body(server: SimulatedOpcUaServer, cert: Path, key: Path) -> dict[str, object]:
        out: dict[str, object] = {}
        good = OpcUaSecurity(cert, key, server.server_cert, username="gw01", password="opc-pw")
        plc = OpcUaPlc(server.endpoint, [_voltage(0)], security=good, timeout_s=2)
        out["good"] = await plc.read()
        await plc.close()
        for name, security in [
            ("wrong_password", OpcUaSecurity(cert, key, server.server_cert, username="gw01", password="nope")),
            ("anonymous", OpcUaSecurity(cert, key, server.server_cert)),
            ("no_security", None),
        ]:
            plc = OpcUaPlc(server.endpoint, [_voltage(0)], security=security, timeout_s=1)
            try:
                out[name] = await plc.read()
            except PlcUnavailable as exc:
                out[name] = exc
            await plc.close()
        return out

    out = asyncio.run(_with_server(tmp_path, body))
    good = out["good"]
    assert isinstance(good, dict)
    assert 3.0 < good["cell_voltage_V"] < 6.0
    for refused in ("wrong_password", "anonymous", "no_security"):
        assert isinstance(out[refused], PlcUnavailable), f"{refused}: {out[refused]!r}"


def test_the_subscription_deadband_is_applied_by_the_server(tmp_path: Path) -> None:
    """Two monitored items on the same noisy voltage: with deadband 0 every change is notified, with a deadband
    far beyond the noise only the initial value; counted when the first has had 5 notifications."""

    async def body(server: SimulatedOpcUaServer, cert: Path, key: Path) -> tuple[int, int]:
        security = OpcUaSecurity(cert, key, server.server_cert, username="gw01", password="opc-pw")
        tags = [_voltage(1, 0.0, "every"), _voltage(1, 1000.0, "deadband")]
        plc = OpcUaPlc(server.endpoint, tags, security=security, timeout_s=2, publish_interval_ms=20)
        try:
            await plc.read()
            for _ in range(500):
                if plc.notifications["every"] >= 5:
                    break
                await asyncio.sleep(0.02)
            return plc.notifications["every"], plc.notifications["deadband"]
        finally:
            await plc.close()

    every, deadband = asyncio.run(_with_server(tmp_path, body))
    assert every >= 5
    assert deadband == 1


def test_server_needs_users() -> None:
    with pytest.raises(ValueError, match="user name logins"):
        SimulatedOpcUaServer(None, port=1, users={}, cert_dir=Path("/nonexistent"))  # type: ignore[arg-type]


def test_gateway_publishes_opcua_pot_controllers_and_their_death(tmp_path: Path, broker: tuple[str, int]) -> None:
    """Simulated PLCs served over OPC UA (Basic256Sha256, user login) -> gateway (OPC UA tag map, deadbands as
    subscription filters) -> Mosquitto: DBIRTH with every metric, then DDATA; the OPC UA server going away gives a
    DDEATH per device."""
    group = unique("g")
    pki = tmp_path / "pki"
    asyncio.run(make_certificate(pki, "simplc-server", uri=SERVER_URI, server=True))
    asyncio.run(make_certificate(pki, "gw01", uri="urn:smelter-twin:twin-edge", server=False))
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
        )
    )
    (tmp_path / "gateway.toml").write_text(
        f'tag_map = "tagmap.toml"\n[mqtt]\nport = {broker[1]}\nreconnect_min_s = 0.2\nreconnect_max_s = 1.0\n'
        f'[sparkplug]\ngroup_id = "{group}"\nedge_node_id = "gw"\n[poll]\nperiod_s = 0.2\ntimeout_s = 1.0\n'
        '[store]\npath = "state/store.sqlite"\n'
    )
    config = load_config(tmp_path / "gateway.toml")
    assert {d.protocol for d in config.tag_map.devices} == {"opcua"}
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig = GatewayRig(config, pots=2, first_port=free_port_range(2))
    rig.start(plcs=True)
    server = SimulatedOpcUaServer(rig.plcs, port=opc_port, users=USERS, cert_dir=pki, update_period_s=0.05)
    try:
        rig.call(server.start(), timeout=30)
        rec.wait_for(lambda ms: sum("DBIRTH" in m.topic for m in ms) >= 2, timeout=30)
        rec.wait_for(lambda ms: sum("DDATA" in m.topic for m in ms) >= 4, timeout=30)
        rig.call(server.stop(), timeout=30)
        rec.wait_for(lambda ms: sum("DDEATH" in m.topic for m in ms) >= 2, timeout=30)
    finally:
        rig.stop()
        rec.close()
    births = {m.topic.rsplit("/", 1)[1]: decode_payload(m.payload) for m in rec.messages("DBIRTH")}
    assert set(births) == {"pot_001", "pot_002"}
    metrics = {m.name: m.value for m in births["pot_001"].metrics}
    assert set(metrics) == {s.name for s in POT_LAYOUT}
    assert 3.0 < metrics["cell_voltage_V"] < 6.0
    assert isinstance(metrics["anode_effect"], bool)


def _simplc(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "twin_edge.cli", "simplc", *args, "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_simplc_refuses_opcua_without_a_login() -> None:
    proc = _simplc("--pots", "1", "--port", str(free_port()), "--opcua-port", str(free_port()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "needs --opcua-user and --opcua-password-file" in err
    assert "Traceback" not in err


def test_cli_simplc_serves_opcua_with_a_matching_tag_map(tmp_path: Path) -> None:
    """``twin-edge simplc --opcua-port``: the written tag map (certificates, login, node ids) reads every signal."""
    (tmp_path / "pw").write_text("opc-pw\n")
    tagmap = tmp_path / "opcua-tags.toml"
    proc = _simplc(
        "--pots",
        "2",
        "--port",
        str(free_port_range(2)),
        "--opcua-port",
        str(free_port()),
        "--opcua-user",
        "gw01",
        "--opcua-password-file",
        str(tmp_path / "pw"),
        "--pki",
        str(tmp_path / "pki"),
        "--write-opcua-tagmap",
        str(tagmap),
    )
    try:
        deadline = time.monotonic() + 60
        while not tagmap.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tagmap.exists(), proc.stderr.read() if proc.poll() is not None else "no tag map"
        device = load_tag_map(tagmap).devices[1]

        async def read() -> dict[str, object]:
            tags = [MonitoredTag(t.metric, t.node or "", t.deadband, t.metric != "anode_effect") for t in device.tags]
            plc = OpcUaPlc(device.endpoint or "", tags, security=device.opcua, timeout_s=2)
            try:
                return await plc.read()
            finally:
                await plc.close()

        values = asyncio.run(read())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert set(values) == {s.name for s in POT_LAYOUT}
    assert 3.0 < values["cell_voltage_V"] < 6.0  # type: ignore[operator]
