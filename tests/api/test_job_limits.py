"""Scenario jobs run in worker processes with memory and time limits (issue 9 items 2 and 10).

A job that wants unbounded memory (as one reading /dev/zero did) or never finishes (as one reading a FIFO
did) fails with a clear reason, while the API keeps answering and the next job runs.
"""

from __future__ import annotations

import logging
import os
import time

import httpx
import pytest
from tests.api.conftest import Keys, LiveServer
from tests.api.plantstate import SyntheticPlant, memory_hog, run_scenario, stalling_runner, vm_size_mb
from tests.api.test_scenarios import CREEP, wait

from twin.api import Settings, create_app
from twin.store import Store


def test_a_job_over_its_memory_limit_fails_and_the_server_lives(
    store: Store, keys: Keys, plant: SyntheticPlant
) -> None:
    app = create_app(Settings(job_memory_mb=1024), store, live=plant, run_scenario=memory_hog)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c:
        job = c.post("/v1/scenarios", json={"toml": CREEP}).json()
        done = wait(c, job["job_id"])
        assert done["status"] == "failed"
        assert done["error"] == "the job exceeded its memory limit of 1024 MB"
        assert c.get("/v1/kpis").status_code == 200


def test_a_job_over_its_time_limit_is_stopped_and_the_queue_moves(
    store: Store, keys: Keys, plant: SyntheticPlant
) -> None:
    app = create_app(Settings(job_timeout_s=1.5, job_workers=1), store, live=plant, run_scenario=stalling_runner)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c:
        stuck = [c.post("/v1/scenarios", json={"toml": CREEP}).json()["job_id"] for _ in range(2)]
        for job_id in stuck:
            done = wait(c, job_id)
            assert done["status"] == "failed"
            assert done["error"] == "the job exceeded its time limit of 1.5 s and was stopped"
        assert c.get("/v1/health").status_code == 200


def test_jobs_run_in_another_process_than_the_api(store: Store, keys: Keys, plant: SyntheticPlant) -> None:
    app = create_app(Settings(), store, live=plant, run_scenario=vm_size_mb)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c:
        job = c.post("/v1/scenarios", json={"toml": CREEP}).json()
        assert wait(c, job["job_id"])["status"] == "succeeded"
        kpis = c.get(f"/v1/scenarios/{job['job_id']}/results").json()["kpis"]
    assert kpis["pid"] != os.getpid()  # not the API's process (nor a thread in it)
    assert 0 < kpis["vm_peak_mb"] <= 3072  # the default limit leaves room: the worker starts at ~0.4 GB


def test_scenario_text_over_the_size_limit_is_422(store: Store, keys: Keys, plant: SyntheticPlant) -> None:
    app = create_app(Settings(max_scenario_bytes=2048), store, live=plant, run_scenario=run_scenario)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c:
        r = c.post("/v1/scenarios", json={"toml": CREEP + "#" * 3000})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == f"toml = {len(CREEP) + 3000} bytes is invalid; expected at most 2048 bytes"
        assert c.post("/v1/scenarios", json={"toml": CREEP}).status_code == 202


def test_a_job_running_at_shutdown_is_marked_interrupted_at_the_next_start(
    store: Store, keys: Keys, plant: SyntheticPlant, caplog: pytest.LogCaptureFixture
) -> None:
    """The service stopping kills its job workers: that is not the job failing. It used to record a failure on
    the store it was closing (a traceback in the log when the store was already closed); now the next start
    marks the job interrupted, as for a crash."""
    app = create_app(Settings(job_workers=1), store, live=plant, run_scenario=stalling_runner)
    with (
        caplog.at_level(logging.INFO, logger="twin.api.jobs"),
        LiveServer(app) as srv,
        httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c,
    ):
        job_id = c.post("/v1/scenarios", json={"toml": CREEP}).json()["job_id"]
        deadline = time.monotonic() + 20
        while c.get(f"/v1/scenarios/{job_id}").json()["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
    deadline = time.monotonic() + 10  # until the job's thread has seen its worker killed
    while time.monotonic() < deadline and store.get_job(job_id).status == "running" and "by the shutdown" not in (
        caplog.text
    ):
        time.sleep(0.02)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert store.get_job(job_id).status == "running"  # nothing written while the service stopped
    again = create_app(Settings(), store, live=plant, run_scenario=run_scenario)
    with LiveServer(again) as srv:
        job = httpx.get(f"{srv.url}/v1/scenarios/{job_id}", headers={"X-API-Key": keys.read}).json()
    assert job["status"] == "failed"
    assert "interrupted" in job["error"]
