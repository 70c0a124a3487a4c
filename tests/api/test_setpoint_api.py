"""Setpoints written back through the API (issue 10 item 7), end to end on real parts: uvicorn serving the API,
the audit trail in DuckDB, the Sparkplug host on a Mosquitto of this module's own, the edge gateway, and
simulated PLCs over Modbus TCP. Propose, then confirm, with an ``operate`` key; the audit rows and the PLC's
register are checked, not what the API said about itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.conftest import LiveServer

from twin.api import Settings, create_api_key, create_app
from twin.api.setpoint_desk import SetpointDesk
from twin.params.technology import load_technology
from twin.store import DuckDBStore
from twin.telemetry import CollectingSink, HostConfig, SparkplugHost
from twin.telemetry.setpoints import ReadbackOutcome, setpoint_limits
from twin_edge.testing import PrivateBroker, make_rig, unique

pytestmark = pytest.mark.mqtt
ROOT = Path(__file__).resolve().parents[2]
LIMITS = setpoint_limits(load_technology(ROOT / "models" / "hal275_hx.toml"))
GROUP = "potline1"  # the desk addresses cell 1-00n as group potline1, device pot_00n


class Clock:
    """The desk's clock, moved by the test (to expire a proposal without waiting five minutes)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Chain:
    url: str
    rig: Any
    host: SparkplugHost
    clock: Clock
    operate: str
    read: str
    admin: str
    run: str
    store: DuckDBStore

    def h(self, key: str | None = None) -> dict[str, str]:
        return {"X-API-Key": key or self.operate}


def wait_until(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    tmp = tmp_path_factory.mktemp("setpoints")
    broker = PrivateBroker()
    broker.start()
    store = DuckDBStore(tmp / "api.duckdb")
    keys = {s: create_api_key(store, f"test-{s}", [s]) for s in ("operate", "read", "admin", "run")}
    desk_box: list[SetpointDesk] = []

    def record(outcome: ReadbackOutcome) -> None:
        desk_box[0].record_outcome(outcome)

    host = SparkplugHost(
        HostConfig(
            host_id=unique("host"),
            broker_port=broker.port,
            group_ids=(GROUP,),
            setpoint_limits=LIMITS,
            readback_timeout_s=2.0,
        ),
        CollectingSink(),
        on_setpoint=record,
    )
    clock = Clock()
    desk_box.append(SetpointDesk(store, host, LIMITS, ttl_s=300, clock=clock))
    # The gateway's tag map allows feed_mode 0-1 only (the technology allows 0-2): the gateway refuses "none"
    # that the API and the host accept, as a gateway configured narrower than the twin would.
    edge_limits = {**LIMITS.edge_limits(), "feed_mode": (0.0, 1.0)}
    rig = make_rig(tmp, group=GROUP, node="gw01", broker_port=broker.port, pots=3, setpoint_limits=edge_limits)
    app = create_app(Settings(), store)
    app.state.setpoints = desk_box[0]
    host.start()
    try:
        assert host.wait_online(5)
        rig.start()
        wait_until(lambda: all(host.device_online(GROUP, "gw01", f"pot_00{i}") for i in (1, 2, 3)))
        with LiveServer(app) as server:
            yield Chain(server.url, rig, host, clock, keys["operate"], keys["read"], keys["admin"], keys["run"], store)
    finally:
        host.stop()
        rig.stop()
        store.close()
        broker.stop()


def events(chain: Chain, proposal_id: str) -> list[str]:
    r = httpx.get(f"{chain.url}/v1/setpoints/proposals/{proposal_id}", headers=chain.h())
    assert r.status_code == 200, r.text
    return [e["event"] for e in r.json()["events"]]


def test_only_an_operate_key_may_touch_setpoints(chain: Chain) -> None:
    body = {"potline": 1, "cell": 1, "setpoint": "feed_mode", "value": "fixed"}
    url = f"{chain.url}/v1/setpoints/proposals"
    assert httpx.post(url, json=body).status_code == 401
    for key in (chain.read, chain.admin):  # admin does not imply operate
        r = httpx.post(url, json=body, headers=chain.h(key))
        assert r.status_code == 403
        assert "operate" in r.json()["detail"]
    assert httpx.get(f"{chain.url}/v1/setpoints/audit", headers=chain.h(chain.read)).status_code == 403
    # an admin key cannot mint an operate key over HTTP (operate keys come from the command line)
    minted = httpx.post(
        f"{chain.url}/v1/admin/keys", json={"name": "sneaky", "scopes": ["operate"]}, headers=chain.h(chain.admin)
    )
    assert minted.status_code == 422
    listed = httpx.get(f"{chain.url}/v1/admin/keys", headers=chain.h(chain.admin))
    assert listed.status_code == 200  # keys with the operate scope are listed like any other
    assert ["operate"] in [k["scopes"] for k in listed.json()]


def test_out_of_range_is_refused_at_the_api_and_audited(chain: Chain) -> None:
    url = f"{chain.url}/v1/setpoints/proposals"
    r = httpx.post(
        url, json={"potline": 1, "cell": 1, "setpoint": "resistance_target_uohm", "value": 12.0}, headers=chain.h()
    )
    assert r.status_code == 422
    assert "resistance_target_uohm = 12.0 is out of range" in r.json()["detail"]
    assert "hal275_hx.toml" in r.json()["detail"]  # names where the limit comes from
    audit = httpx.get(f"{chain.url}/v1/setpoints/audit", headers=chain.h()).json()["rows"]
    refused = [row for row in audit if row["event"] == "refused" and row["value"] == 12.0]
    assert len(refused) == 1
    assert refused[0]["actor"] == chain.operate.split("_")[1]  # the key id, never the secret
    for body in (
        {"potline": 1, "cell": 1, "setpoint": "cell_voltage_V", "value": 4.0},  # not a setpoint
        {"potline": 1, "cell": 1, "setpoint": "feed_mode", "value": "sideways"},
        {"potline": 1, "cell": 1, "setpoint": "exchanger_duty_kW", "value": 141.0},
        {"potline": 1, "cell": 1, "setpoint": "feed_mode", "value": 1, "extra": True},
        {"potline": 1, "cell": 1, "setpoint": "feed_mode", "value": True},  # not a code
        {"potline": 1, "cell": 1, "setpoint": "resistance_target_uohm", "value": "9.0"},  # a number as text
    ):
        assert httpx.post(url, json=body, headers=chain.h()).status_code == 422, body
    assert chain.rig.plcs.accepted_writes == 0
    assert chain.rig.gateway.counters.setpoint_writes == 0


@pytest.mark.parametrize(
    ("value", "wrong"),
    [
        (
            "fixed\u202e",
            "Input should be text without control, line-break or bidirectional-control characters; "
            "found U+202E at position 5",
        ),
        (
            "none\x00",
            "Input should be text without control, line-break or bidirectional-control characters; "
            "found U+0000 at position 4",
        ),
        ("x" * 100_000, "String should have at most 40 characters"),
    ],
)
def test_setpoint_text_is_checked_before_the_desk_sees_or_audits_it(chain: Chain, value: str, wrong: str) -> None:
    """A text value went to the desk unbounded and unchecked: echoed whole in the 422 and kept in the audit
    trail (where PostgreSQL refuses a NUL)."""
    before = httpx.get(f"{chain.url}/v1/setpoints/audit", headers=chain.h()).json()["rows"]
    body = {"potline": 1, "cell": 1, "setpoint": "feed_mode", "value": value}
    r = httpx.post(f"{chain.url}/v1/setpoints/proposals", json=body, headers=chain.h())
    assert r.status_code == 422
    assert r.json()["detail"].endswith(f"is invalid: {wrong}")
    assert r.json()["detail"].startswith("body.value = ")
    assert len(r.content) < 2_000
    assert httpx.get(f"{chain.url}/v1/setpoints/audit", headers=chain.h()).json()["rows"] == before


def test_a_pot_no_gateway_has_online_cannot_be_proposed(chain: Chain) -> None:
    r = httpx.post(
        f"{chain.url}/v1/setpoints/proposals",
        json={"potline": 1, "cell": 9, "setpoint": "feed_mode", "value": 1},
        headers=chain.h(),
    )
    assert r.status_code == 422
    assert "cell 1-009 (potline1/pot_009) is not online at any gateway" in r.json()["detail"]
    audit = httpx.get(f"{chain.url}/v1/setpoints/audit?limit=5", headers=chain.h()).json()["rows"]
    assert audit[0]["event"] == "refused"
    assert audit[0]["target"] == "potline1/?/pot_009"


def test_propose_then_confirm_writes_the_plc_and_the_read_back_confirms_it(chain: Chain) -> None:
    url = f"{chain.url}/v1/setpoints/proposals"
    r = httpx.post(
        url, json={"potline": 1, "cell": 1, "setpoint": "resistance_target_uohm", "value": 9.1}, headers=chain.h()
    )
    assert r.status_code == 201, r.text
    proposal = r.json()
    assert (proposal["status"], proposal["target"]) == ("proposed", f"{GROUP}/gw01/pot_001")
    time.sleep(0.3)
    assert chain.rig.plcs.setpoint(0, "resistance_target_uohm") == 8.5  # a proposal alone writes nothing
    r = httpx.post(f"{chain.url}{proposal['links']['confirm']}", headers=chain.h())
    assert r.status_code == 202, r.text
    assert r.json()["status"] in ("written", "verified")  # the read-back may already be in
    wait_until(lambda: events(chain, proposal["proposal_id"])[-1] == "readback")
    assert events(chain, proposal["proposal_id"]) == ["proposed", "confirmed", "written", "readback"]
    final = httpx.get(f"{chain.url}{proposal['links']['self']}", headers=chain.h()).json()
    assert final["status"] == "verified"
    assert final["events"][-1]["value"] == pytest.approx(9.1, rel=1e-6)  # float32 register read back
    assert chain.rig.plcs.setpoint(0, "resistance_target_uohm") == pytest.approx(9.1, rel=1e-6)
    again = httpx.post(f"{chain.url}{proposal['links']['confirm']}", headers=chain.h())
    assert again.status_code == 409  # single use


def test_a_write_the_plc_ignores_is_alarmed_in_the_audit_trail(chain: Chain) -> None:
    chain.rig.plcs.ignore_setpoint_writes(1)
    r = httpx.post(
        f"{chain.url}/v1/setpoints/proposals",
        json={"potline": 1, "cell": 2, "setpoint": "exchanger_duty_kW", "value": 90.0},
        headers=chain.h(),
    )
    proposal = r.json()
    assert httpx.post(f"{chain.url}{proposal['links']['confirm']}", headers=chain.h()).status_code == 202
    wait_until(lambda: events(chain, proposal["proposal_id"])[-1] == "alarm", timeout=15)
    final = httpx.get(f"{chain.url}{proposal['links']['self']}", headers=chain.h()).json()
    assert final["status"] == "alarm"
    assert "the PLC holds 0.0, not 90.0" in final["events"][-1]["detail"]
    assert chain.rig.plcs.setpoint(1, "exchanger_duty_kW") == 0.0
    assert chain.host.counters["setpoint_failed"] >= 1
    [alarm] = setpoint_alarms(chain, "cell:1-002", "exchanger_duty_kW")  # and in the API's live alarm list
    assert (alarm["id"], alarm["state"]) == (f"setpoint-{proposal['proposal_id']}", "active")


def write(chain: Chain, cell: int, setpoint: str, value: object) -> str:
    """Propose and confirm; the proposal id once its read-back is in (status verified or alarm)."""
    r = httpx.post(
        f"{chain.url}/v1/setpoints/proposals",
        json={"potline": 1, "cell": cell, "setpoint": setpoint, "value": value},
        headers=chain.h(),
    )
    assert r.status_code == 201, r.text
    proposal = r.json()
    assert httpx.post(f"{chain.url}{proposal['links']['confirm']}", headers=chain.h()).status_code == 202
    wait_until(lambda: "readback" in events(chain, proposal["proposal_id"]), timeout=15)
    return str(proposal["proposal_id"])


def setpoint_alarms(chain: Chain, asset: str, setpoint: str) -> list[dict[str, Any]]:
    """The API's alarm list, the setpoint alarms of one cell and setpoint."""
    r = httpx.get(f"{chain.url}/v1/alarms", params={"asset": asset}, headers=chain.h(chain.read))
    assert r.status_code == 200, r.text
    return [a for a in r.json()["alarms"] if a.get("kind") == "setpoint_failed" and a.get("setpoint") == setpoint]


def test_a_write_the_plc_does_not_take_is_a_live_alarm_until_a_later_write_is_confirmed(chain: Chain) -> None:
    """The PLC acknowledges the write but keeps its value: the API's alarm list shows it on the cell with what was
    written and what was read back; it can be acknowledged and shelved, survives a new desk over the same store
    (a restart), and clears when a later write of that setpoint is read back."""
    chain.rig.plcs.ignore_setpoint_writes(1)
    try:
        first = write(chain, 2, "resistance_target_uohm", 9.25)
        [alarm] = wait_until(lambda: setpoint_alarms(chain, "cell:1-002", "resistance_target_uohm"))
        assert (alarm["id"], alarm["state"], alarm["severity"]) == (f"setpoint-{first}", "active", "high")
        assert "resistance_target_uohm written 9.25 but the PLC holds 8.5" in alarm["reason"]
        since = datetime.fromisoformat(alarm["since"])
        assert timedelta(0) <= datetime.now(UTC) - since < timedelta(seconds=30)
        run = {"X-API-Key": chain.run}
        acked = httpx.post(f"{chain.url}/v1/alarms/{alarm['id']}/acknowledge", headers=run)
        assert acked.status_code == 200, acked.text
        shelved = httpx.post(f"{chain.url}/v1/alarms/{alarm['id']}/shelve", params={"hours": 1}, headers=run)
        assert shelved.status_code == 200, shelved.text
        write(chain, 2, "resistance_target_uohm", 9.35)  # fails again: the same alarm, its reason updated
        [again] = setpoint_alarms(chain, "cell:1-002", "resistance_target_uohm")
        assert again["id"] == alarm["id"]
        assert "written 9.35 but the PLC holds 8.5" in again["reason"]
        restored = SetpointDesk(chain.store, chain.host, LIMITS).alarms.alarms()  # what a restart rebuilds
        assert [
            (a["id"], a["state"], a["written"])
            for a in restored
            if a["setpoint"] == "resistance_target_uohm" and a["asset"] == "cell:1-002"
        ] == [(alarm["id"], "active", pytest.approx(9.35))]
    finally:
        chain.rig.plcs.ignore_setpoint_writes(1, False)
    write(chain, 2, "resistance_target_uohm", 9.15)
    [cleared] = setpoint_alarms(chain, "cell:1-002", "resistance_target_uohm")
    assert (cleared["id"], cleared["state"]) == (alarm["id"], "cleared")
    assert chain.rig.plcs.setpoint(1, "resistance_target_uohm") == pytest.approx(9.15, rel=1e-6)
    actions = httpx.get(f"{chain.url}/v1/alarms/actions", headers=chain.h(chain.read)).json()["actions"]
    assert actions[alarm["id"]]["acknowledged_by"] == chain.run.split("_")[1]


def test_a_write_the_gateway_refuses_is_a_live_alarm(chain: Chain) -> None:
    """feed_mode "none" (2) is inside the technology's range but outside the gateway's tag map: the gateway
    refuses the DCMD, nothing reaches the PLC, and the host's read-back times out into an alarm on the cell."""
    refused_before = chain.rig.gateway.counters.setpoint_refused
    proposal = write(chain, 3, "feed_mode", "none")
    assert chain.rig.gateway.counters.setpoint_refused == refused_before + 1
    assert chain.rig.plcs.setpoint(2, "feed_mode") == 0.0
    [alarm] = setpoint_alarms(chain, "cell:1-003", "feed_mode")
    assert (alarm["id"], alarm["state"]) == (f"setpoint-{proposal}", "active")
    assert "feed_mode written 2 but no read-back" in alarm["reason"]
    assert "refused or did not answer" in alarm["reason"]
    write(chain, 3, "feed_mode", "tracking")  # a write the gateway and the PLC take clears it (0, as it was)
    assert [a["state"] for a in setpoint_alarms(chain, "cell:1-003", "feed_mode")] == ["cleared"]


def test_an_expired_proposal_cannot_be_confirmed(chain: Chain) -> None:
    r = httpx.post(
        f"{chain.url}/v1/setpoints/proposals",
        json={"potline": 1, "cell": 3, "setpoint": "feed_mode", "value": "fixed"},
        headers=chain.h(),
    )
    proposal = r.json()
    chain.clock.offset = timedelta(seconds=301)
    try:
        r = httpx.post(f"{chain.url}{proposal['links']['confirm']}", headers=chain.h())
    finally:
        chain.clock.offset = timedelta(0)
    assert r.status_code == 409
    assert "expired" in r.json()["detail"]
    assert events(chain, proposal["proposal_id"]) == ["proposed", "refused"]
    assert chain.rig.plcs.setpoint(2, "feed_mode") == 0.0
    missing = httpx.post(f"{chain.url}/v1/setpoints/proposals/sp-0123456789abcdef/confirm", headers=chain.h())
    assert missing.status_code == 404


def test_open_access_never_writes(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "open.duckdb")
    try:
        app = create_app(Settings(open_access=True), store)
        with LiveServer(app) as server:
            r = httpx.post(
                f"{server.url}/v1/setpoints/proposals",
                json={"potline": 1, "cell": 1, "setpoint": "feed_mode", "value": 1},
            )
        assert r.status_code == 403
        assert "open access never writes" in r.json()["detail"]
    finally:
        store.close()
