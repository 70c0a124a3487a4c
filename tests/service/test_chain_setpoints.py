"""The service wires setpoint writes (issue 10 item 7): `twin serve`'s chain (here with the demo's simulated plant
side: plant-backed PLCs over Modbus TCP and the edge gateway, on a private Mosquitto) gives the API a setpoint
desk over its own Sparkplug host, and the demo's gateways offer the writable tags. Propose and confirm with an
``operate`` key through uvicorn; the simulated PLC's register is checked, not what the API said."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.conftest import LiveServer

from twin.api import Settings, create_api_key
from twin.service.chain import ServiceChain
from twin.service.config import ChainConfig
from twin_edge.testing import PrivateBroker, unique

pytestmark = pytest.mark.mqtt


def write(url: str, headers: dict[str, str], value: float) -> dict[str, Any]:
    """Propose and confirm resistance_target_uohm of cell 1-002; the proposal once its read-back is in."""
    r = httpx.post(f"{url}/v1/setpoints/proposals", headers=headers,
                   json={"potline": 1, "cell": 2, "setpoint": "resistance_target_uohm", "value": value})
    assert r.status_code == 201, r.text
    proposal = r.json()
    assert httpx.post(f"{url}{proposal['links']['confirm']}", headers=headers).status_code == 202
    deadline = time.monotonic() + 30
    while (now := httpx.get(f"{url}{proposal['links']['self']}", headers=headers).json())["status"] not in (
            "verified", "alarm"):
        assert time.monotonic() < deadline, now["status"]
        time.sleep(0.2)
    return dict(now)


def alarms(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/v1/alarms", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["alarms"])


def test_the_service_chain_writes_a_confirmed_setpoint_to_the_plc(tmp_path: Path) -> None:
    broker = PrivateBroker()
    broker.start()
    config = ChainConfig(
        broker_port=broker.port, store_url=f"duckdb:///{tmp_path / 'chain.duckdb'}", potlines={"potline1": 2},
        host_id=unique("twin"), speed=60.0, simulate_plant=True, api=Settings(), work_dir=tmp_path / "plant",
        filter_threads=2,  # [live] filter_threads: the live twin's forecast on two threads (same result as one)
    )
    try:
        with ServiceChain(config) as chain:
            assert chain.store is not None
            assert chain.host is not None
            assert chain.plant is not None
            assert chain.live.tracker("potline1").enkf.model.threads == 2  # [live] filter_threads reached it
            key = create_api_key(chain.store, "shift-a", ["operate"])
            deadline = time.monotonic() + 60
            while not chain.host.device_online("potline1", "gw01", "pot_002"):
                assert time.monotonic() < deadline, "the demo's gateway never came online"
                time.sleep(0.2)
            with LiveServer(chain.app()) as server:
                headers = {"X-API-Key": key}
                r = httpx.post(f"{server.url}/v1/setpoints/proposals", headers=headers,
                               json={"potline": 1, "cell": 2, "setpoint": "resistance_target_uohm", "value": 9.3})
                assert r.status_code == 201, r.text
                proposal = r.json()
                r = httpx.post(f"{server.url}{proposal['links']['confirm']}", headers=headers)
                assert r.status_code == 202, r.text
                deadline = time.monotonic() + 30
                while (status := httpx.get(f"{server.url}{proposal['links']['self']}", headers=headers)
                       .json()["status"]) not in ("verified", "alarm"):
                    assert time.monotonic() < deadline, status
                    time.sleep(0.2)
                assert status == "verified"
                assert chain.plant.plcs[0].setpoint(1, "resistance_target_uohm") == pytest.approx(9.3, rel=1e-6)

                # The PLC of cell 1-002 stops taking writes: the next write is an alarm in the live alarm list,
                # next to the twin's own alarms, and a later write it takes clears it.
                chain.plant.plcs[0].ignore_setpoint_writes(1)
                failed = write(server.url, headers, 9.4)
                assert failed["status"] == "alarm"
                alarm = next(a for a in alarms(server.url, headers) if a["id"] == f"setpoint-{failed['proposal_id']}")
                assert (alarm["asset"], alarm["state"], alarm["severity"]) == ("cell:1-002", "active", "high")
                assert "resistance_target_uohm written 9.4 but the PLC holds 9.3" in alarm["reason"]
                chain.plant.plcs[0].ignore_setpoint_writes(1, False)
                assert write(server.url, headers, 9.2)["status"] == "verified"
                alarm = next(a for a in alarms(server.url, headers) if a["id"] == f"setpoint-{failed['proposal_id']}")
                assert alarm["state"] == "cleared"
                # and the service's event frames keep it (opened and closed by the housekeeping, once a second)
                deadline = time.monotonic() + 15
                while not (frame := [f for f in httpx.get(
                        f"{server.url}/v1/events", headers=headers,
                        params={"kind": "alarm", "asset": "cell:1-002", "start": alarm["since"],
                                "end": alarm["cleared"]}).json()["events"]
                        if f["id"] == f"alarm:{alarm['id']}" and f["end"] is not None]):
                    assert time.monotonic() < deadline, "no closed alarm frame for the setpoint alarm"
                    time.sleep(0.3)
                assert frame[0]["attributes"]["alarm_kind"] == "setpoint_failed"
                # /metrics shows the embedded store's own memory, so a bounded cache is told from a leak (issue 9)
                text = httpx.get(f"{server.url}/metrics", headers=headers).text
                engine = [ln for ln in text.splitlines() if ln.startswith("twin_ingest_store_engine_memory_bytes ")]
                assert len(engine) == 1, text[-2000:]
                assert float(engine[0].split()[1]) > 0
                # ...and where ingest stands: the worker's backlog and the store's writes (the soak's gauges)
                gauges = dict(ln.split() for ln in text.splitlines() if ln.startswith(
                    ("twin_ingest_queue_depth ", "twin_ingest_store_writes ", "twin_ingest_store_slowest_write_ms ",
                     "twin_ingest_queued_bytes ", "twin_ingest_reorder_bytes ")))
                assert set(gauges) == {"twin_ingest_queue_depth", "twin_ingest_store_writes",
                                       "twin_ingest_store_slowest_write_ms", "twin_ingest_queued_bytes",
                                       "twin_ingest_reorder_bytes"}, text[-2000:]
                assert float(gauges["twin_ingest_store_writes"]) > 0
                assert float(gauges["twin_ingest_queue_depth"]) >= 0
                assert 0 <= float(gauges["twin_ingest_queued_bytes"]) <= 256 * 2**20  # HostConfig's default budgets
                assert 0 <= float(gauges["twin_ingest_reorder_bytes"]) <= 64 * 2**20
    finally:
        broker.stop()
