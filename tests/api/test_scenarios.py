"""Scenario jobs over HTTP: submit, poll, results, comparison with the baseline, failures and back-pressure."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import BASELINE, Keys, LiveServer
from tests.api.plantstate import GatedRunner, SyntheticPlant, run_scenario

from twin.api import Settings, create_app
from twin.store import Store

CREEP = "[scenario]\nname = 'creep'\nline_current_kA = 404\nhours = 48\n"


def wait(client: httpx.Client, job_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/scenarios/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish")


def test_submit_poll_results_and_compare(client: httpx.Client) -> None:
    r = client.post("/v1/scenarios", json={"toml": CREEP, "label": "creep 4 kA"})
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"] == f"/v1/scenarios/{job['job_id']}"
    assert job["status"] in ("queued", "running", "succeeded")
    done = wait(client, job["job_id"])
    assert done["status"] == "succeeded"
    assert done["label"] == "creep 4 kA"
    results = client.get(done["links"]["results"]).json()["kpis"]
    assert results == pytest.approx(run_scenario(CREEP))
    cmp = client.get(done["links"]["comparison"])
    if cmp.status_code == 409:  # baseline started on first use; wait for it
        wait(client, cmp.json()["detail"].split()[1])
        cmp = client.get(done["links"]["comparison"])
    body = cmp.json()
    assert body["baseline_job_id"].startswith("baseline-")
    rows = {row["name"]: row for row in body["kpis"]}
    base = run_scenario(BASELINE)
    assert rows["metal_t"]["baseline"] == pytest.approx(base["metal_t"])
    assert rows["metal_t"]["delta"] == pytest.approx(results["metal_t"] - base["metal_t"])
    assert rows["metal_t"]["delta"] > 0  # more current, more metal
    listed = [j["job_id"] for j in client.get("/v1/scenarios").json()["jobs"]]
    assert job["job_id"] in listed


def test_from_live_uses_the_live_state(client: httpx.Client, plant: SyntheticPlant) -> None:
    plant.advance(3)
    job = client.post("/v1/scenarios", json={"from_live": True}).json()
    done = wait(client, job["job_id"])
    assert done["label"] == "from live"
    assert client.get(done["links"]["results"]).json()["kpis"] == pytest.approx(run_scenario(plant.scenario_toml()))
    first = client.post("/v1/scenarios", json={"toml": CREEP}).json()["job_id"]
    wait(client, first)
    cmp = client.get(done["links"]["comparison"], params={"baseline": first}).json()
    assert cmp["baseline_job_id"] == first


def test_runner_failure_is_reported(client: httpx.Client) -> None:
    job = client.post("/v1/scenarios", json={"toml": "[scenario]\nhours = -5\n"}).json()
    done = wait(client, job["job_id"])
    assert done["status"] == "failed"
    assert "hours = -5" in done["error"]
    r = client.get(done["links"]["results"])
    assert r.status_code == 409
    assert "failed" in r.json()["detail"]


def test_results_before_finish_409_and_queue_full_429(
    store: Store, keys: Keys, plant: SyntheticPlant, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    slow = GatedRunner(str(gate))
    app = create_app(Settings(max_pending_jobs=1, job_workers=1), store, live=plant, run_scenario=slow)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c:
        job = c.post("/v1/scenarios", json={"toml": CREEP}).json()
        r = c.get(f"/v1/scenarios/{job['job_id']}/results")
        assert r.status_code == 409
        assert r.headers["retry-after"] == "1"
        full = c.post("/v1/scenarios", json={"toml": CREEP})
        assert full.status_code == 429
        assert full.headers["retry-after"] == "5"
        gate.touch()
        assert wait(c, job["job_id"])["status"] == "succeeded"
        assert c.post("/v1/scenarios", json={"toml": CREEP}).status_code == 202


def test_jobs_interrupted_by_restart_are_marked_failed(store: Store, keys: Keys) -> None:
    store.create_job("job-orphan", CREEP)
    with LiveServer(create_app(Settings(), store, run_scenario=run_scenario)) as srv:
        job = httpx.get(srv.url + "/v1/scenarios/job-orphan", headers={"X-API-Key": keys.read}).json()
    assert job["status"] == "failed"
    assert "interrupted" in job["error"]


def test_no_baseline_configured_is_409(store: Store, keys: Keys) -> None:
    with (
        LiveServer(create_app(Settings(), store, run_scenario=run_scenario)) as srv,
        httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c,
    ):
        job = c.post("/v1/scenarios", json={"toml": CREEP}).json()
        wait(c, job["job_id"])
        r = c.get(f"/v1/scenarios/{job['job_id']}/comparison")
        assert r.status_code == 409
        assert "no baseline" in r.json()["detail"]
