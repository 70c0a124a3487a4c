"""``POST /v1/schedules`` as a job on the real app (in-process ASGI client, a real DuckDB store and API keys)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from twin.api import Settings, create_api_key, create_app
from twin.store import DuckDBStore


@pytest.fixture
def client(tmp_path):
    store = DuckDBStore(tmp_path / "api.duckdb")
    keys = {s: create_api_key(store, f"test-{s}", [s]) for s in ("read", "run")}
    app = create_app(Settings(), store)
    with TestClient(app) as c:
        yield c, keys
    store.close()


def test_schedule_job_runs_and_answers(client):
    c, keys = client
    body = {"plant": "plant_small", "horizon_h": 12, "step_min": 60, "replay_cells": 2}
    r = c.post("/v1/schedules", json=body, headers={"X-API-Key": keys["read"]})
    assert r.status_code == 403  # submitting needs the run scope
    r = c.post("/v1/schedules", json=body, headers={"X-API-Key": keys["run"]})
    assert r.status_code == 202
    job = r.json()["job_id"]
    assert r.headers["Location"] == f"/v1/schedules/{job}"
    r2 = c.post("/v1/schedules", json=body, headers={"X-API-Key": keys["run"]})
    assert r2.status_code == 429  # one job at a time
    deadline = time.monotonic() + 300
    while True:
        d = c.get(f"/v1/schedules/{job}", headers={"X-API-Key": keys["read"]}).json()
        if d["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert d["status"] == "succeeded", d["error"]
    assert d["result"]["status"] == "ok"
    assert len(d["result"]["optimised"]["schedule"]["line_current_kA"]["S1"]) == 12


@pytest.mark.parametrize(("body", "fragment"), [
    ({"plant": "plant_nowhere"}, "plant = 'plant_nowhere' is invalid; expected one of"),
    ({"plant": "../etc/passwd"}, "plant"),
    ({"plant": "plant_small", "step_min": 7}, "step_min"),
    ({"plant": "plant_small", "horizon_h": 500}, "horizon_h"),
    ({"plant": "plant_small", "bogus": 1}, "bogus"),
])
def test_bad_request_is_422_naming_the_field(client, body, fragment):
    c, keys = client
    r = c.post("/v1/schedules", json=body, headers={"X-API-Key": keys["run"]})
    assert r.status_code == 422
    assert fragment in r.text
