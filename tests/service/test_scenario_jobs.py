"""Scenario jobs name plants by id from the server's catalogue; a client's path never reaches the
filesystem (issue 9 item 2). Through a real uvicorn server, the real catalogue runner and real runs."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from tests.service.jobs_api import jobs_api

from twin.errors import TwinError
from twin.service.catalogue import SHIPPED, Catalogue

ROOT = Path(__file__).resolve().parents[2]


def scenario(plant: str, horizon_h: float = 1.0) -> str:
    return f'[scenario]\nname = "job"\nplant = "{plant}"\nhorizon_h = {horizon_h}\nseed = 3\n'


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A configured catalogue directory with one more plant (the small plant under a site name)."""
    folder = tmp_path / "site-models"
    folder.mkdir()
    text = (SHIPPED / "plant_small.toml").read_text(encoding="utf-8")
    text = text.replace('technology = "hal275.toml"', f'technology = "{SHIPPED / "hal275.toml"}"')
    (folder / "site_line").with_suffix(".toml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def api(tmp_path: Path, site_dir: Path):
    with jobs_api(tmp_path, Catalogue.build(site_dir), max_horizon_h=48.0) as client:
        yield client


def wait(client: httpx.Client, job_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/scenarios/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_a_job_names_its_plant_by_id_and_runs(api: httpx.Client) -> None:
    for plant in ("plant_small", "site_line"):
        r = api.post("/v1/scenarios", json={"toml": scenario(plant)})
        assert r.status_code == 202, r.text
        done = wait(api, r.json()["job_id"])
        assert done["status"] == "succeeded", done["error"]
        assert api.get(f"/v1/scenarios/{done['job_id']}/results").json()["kpis"]["production_t"] > 0


def test_the_catalogue_lists_shipped_and_configured_ids(api: httpx.Client) -> None:
    r = api.get("/v1/catalogue")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"plant_small", "plant_reference", "site_line"} <= set(body["plants"])
    assert "hal275" in body["technologies"]
    assert not any(ident.startswith("dispatch_") for ident in [*body["plants"], *body["technologies"]])
    assert body["plants"]["plant_reference"]["potlines"][0] == {"name": "P1", "cells": 352, "technology": "hal275"}
    assert body["max_horizon_h"] == 48.0
    assert str(ROOT) not in r.text  # ids only: no install path


def test_a_path_never_reaches_the_filesystem(api: httpx.Client, tmp_path: Path, site_dir: Path) -> None:
    short = Path(tempfile.mkdtemp(prefix="twin-", dir="/tmp"))  # the catalogue shows names up to 80 characters
    fifo = short / "plant.toml"  # (tmp_path is longer under xdist)
    os.mkfifo(fifo)
    existing = ["/dev/zero", "/etc/passwd", str(fifo), str(SHIPPED / "plant_small.toml"),
                "../models/plant_small.toml"]
    missing = ["/nonexistent/plant.toml", "../models/no_such_plant.toml"]
    details = []
    for plant in existing + missing:
        r = api.post("/v1/scenarios", json={"toml": scenario(plant)})
        assert r.status_code == 422, (plant, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        detail = r.json()["detail"]
        assert detail.startswith(f"submitted scenario: scenario.plant = {plant!r} is invalid; expected a plant id")
        assert ", ".join(sorted(Catalogue.build(site_dir).plants)) + " (GET /v1/catalogue)" in detail
        details.append(detail.replace(repr(plant), "<plant>"))
    assert len(set(details)) == 1  # the same answer whether the file exists, is a FIFO or is missing
    assert all(str(ROOT) not in d for d in details)
    assert api.get("/v1/scenarios").json()["jobs"] == []  # nothing was queued
    shutil.rmtree(short)


def test_job_inputs_have_a_horizon_limit(api: httpx.Client) -> None:
    r = api.post("/v1/scenarios", json={"toml": scenario("plant_small", horizon_h=5000)})
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "submitted scenario: scenario.horizon_h = 5000 is invalid; expected a number of hours in (0, 48] "
        "(this server's limit for jobs)"
    )


def test_other_scenario_errors_are_422_naming_field_and_value(api: httpx.Client) -> None:
    r = api.post("/v1/scenarios", json={"toml": scenario("plant_small") + '[overrides]\n"cell.acd_nominal_cm" = 99\n'})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "cell.acd_nominal_cm = 99 is invalid" in detail
    assert str(ROOT) not in detail


def test_a_catalogue_id_clash_or_a_bad_directory_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "hal275.toml").write_text((SHIPPED / "hal275.toml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(TwinError, match="catalogue id 'hal275' is already taken"):
        Catalogue.build(tmp_path)
    with pytest.raises(TwinError, match=r"scenarios\.catalogue = .* is invalid; expected a directory"):
        Catalogue.build(tmp_path / "missing")


def test_a_bad_change_is_named_as_the_client_sent_it(api: httpx.Client) -> None:
    """The change is appended to the scenario as [[event]] tables; its refusal used to name the combined file's
    event[N] (event[2] for the only change of a scenario with one event)."""
    own = scenario("plant_small") + '[[event]]\nkind = "outage"\nat_h = 0.5\npotline = "all"\nduration_h = 0.1\n'
    good = {"kind": "outage", "at_h": 0.2, "potline": "all", "duration_h": 0.1}
    r = api.post("/v1/scenarios", json={"toml": own, "change": [good, {"kind": "melt_everything", "at_h": 0.5}]})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "change[1].kind = 'melt_everything' is invalid; expected one of" in detail
    assert "event[" not in detail
    r = api.post("/v1/scenarios", json={"toml": own.replace("at_h = 0.5", "at_h = 99"), "change": good})
    assert r.status_code == 422
    assert "event[1].at_h = 99 is invalid" in r.json()["detail"]  # the scenario's own event keeps its name
