"""A what-if with a change runs its own baseline alongside: the same scenario without the change."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator

import httpx
import pytest
from tests.api.conftest import Keys, LiveServer
from tests.api.plantstate import SyntheticPlant, run_scenario
from tests.api.test_scenarios import wait

from twin.api import Settings, create_app
from twin.store import Store

CHANGE = [{"kind": "line_current", "at_h": 0.0, "potline": "all", "value_kA": 410.0}]


def run_with_events(toml_text: str) -> dict[str, float]:
    """The synthetic runner, with line_current events applied (it reads only [scenario] by itself)."""
    doc = tomllib.loads(toml_text)
    current = next((e["value_kA"] for e in doc.get("event", []) if e["kind"] == "line_current"), None)
    sc = doc["scenario"]
    if current is not None:
        sc = {**sc, "line_current_kA": current}
    return run_scenario("[scenario]\n" + "".join(f"{k} = {v!r}\n" for k, v in sc.items()))


@pytest.fixture
def client(store: Store, keys: Keys, plant: SyntheticPlant) -> Iterator[httpx.Client]:
    app = create_app(Settings(), store, live=plant, run_scenario=run_with_events)  # no configured baseline
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.admin}, timeout=10) as c:
        yield c


def test_whatif_from_live_compares_with_its_own_baseline(client: httpx.Client, plant: SyntheticPlant) -> None:
    plant.advance(2)
    r = client.post("/v1/scenarios", json={"from_live": True, "change": CHANGE, "label": "+10 kA"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["links"]["baseline"] == f"/v1/scenarios/{job['job_id']}-baseline"
    wait(client, job["job_id"])
    base = wait(client, job["job_id"] + "-baseline")
    assert base["label"] == f"baseline of {job['job_id']}"
    cmp = client.get(job["links"]["comparison"])
    assert cmp.status_code == 200, cmp.text  # before: 409 "no baseline scenario is configured"
    body = cmp.json()
    assert body["baseline_job_id"] == job["job_id"] + "-baseline"
    rows = {row["name"]: row for row in body["kpis"]}
    live_now = plant.scenario_toml()  # the same live state, without the change
    assert rows["metal_t"]["baseline"] == pytest.approx(run_scenario(live_now)["metal_t"])
    assert rows["metal_t"]["value"] == pytest.approx(run_scenario(live_now.replace("= 402", "= 410"))["metal_t"])
    assert rows["metal_t"]["delta"] > 0  # more current, more metal


def test_one_change_may_be_an_object(client: httpx.Client) -> None:
    r = client.post("/v1/scenarios", json={"from_live": True, "change": CHANGE[0]})
    assert r.status_code == 202, r.text
    assert "baseline" in r.json()["links"]


def test_job_without_change_or_configured_baseline_says_what_to_do(client: httpx.Client) -> None:
    job = client.post("/v1/scenarios", json={"from_live": True}).json()
    wait(client, job["job_id"])
    r = client.get(job["links"]["comparison"])
    assert r.status_code == 409
    assert "submit the what-if with 'change'" in r.json()["detail"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ([{"at_h": 1.0}], "needs a 'kind'"),
        ([{"kind": "outage", "Bad Key": 1}], "change"),
        ([{"kind": "outage"}] * 17, "change"),
        ([{"kind": "outage", "note": "x" * 201}], "change"),
    ],
)
def test_bad_change_is_422(client: httpx.Client, change: list, needle: str) -> None:
    r = client.post("/v1/scenarios", json={"from_live": True, "change": change})
    assert r.status_code == 422, r.text
    assert needle in r.text


def test_jobs_of_other_horizons_are_not_compared(client: httpx.Client) -> None:
    a = client.post("/v1/scenarios", json={"toml": "[scenario]\nhorizon_h = 36\nhours = 36\n"}).json()
    b = client.post("/v1/scenarios", json={"toml": "[scenario]\nhorizon_h = 48\nhours = 48\n"}).json()
    wait(client, a["job_id"])
    wait(client, b["job_id"])
    r = client.get(a["links"]["comparison"], params={"baseline": b["job_id"]})
    assert r.status_code == 409
    assert "horizon_h differs (48 in" in r.json()["detail"]
