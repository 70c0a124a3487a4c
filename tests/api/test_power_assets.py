"""Power units, renewables, the grid tie and rectifier units as assets, through a real uvicorn server
(issue 11 item 4: "assets for every unit and rectifier"; item 5: identifiers that resolve).

The service's power view (twin.service.power_view, as ``twin serve``/``twin demo`` run it) dispatches the
reference plant for a potline load we choose. Expected values are read from the plant file with tomllib,
not from the code under test; the live values are checked by conservation of power (units + import − export
= the potlines' AC draw with auxiliaries) and by the plant file's limits.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.conftest import LiveServer

from twin.api import Settings, create_api_key, create_app
from twin.params import load_plant
from twin.service.live_scenario import LiveWithScenario
from twin.service.power_view import PowerView
from twin.store import DuckDBStore

PLANT = Path(__file__).resolve().parents[2] / "models" / "plant_reference.toml"
DOC = tomllib.loads(PLANT.read_text(encoding="utf-8"))
AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # noon UTC: the solar profile is up
DC_MW = {"1": 300.0, "2": 290.0}  # potline DC power (MW), inside what units + tie can cover


class _Twin:
    """The live twin's side of the snapshot: two potlines with their measured DC power."""

    def __init__(self) -> None:
        self.snap = {"as_of": AT.isoformat(), "power": {"potlines": dict(DC_MW)},
                     "assets": [{"id": f"potline:{n}", "kind": "potline", "name": f"Potline {n}"} for n in DC_MW]}

    def snapshot(self) -> dict[str, Any]:
        return self.snap


def _values(table: dict[str, Any]) -> dict[str, Any]:
    return {k: v["value"] for k, v in table.items() if isinstance(v, dict)}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, LiveWithScenario, PowerView]]:
    store = DuckDBStore(tmp_path_factory.mktemp("power") / "api.duckdb")
    key = create_api_key(store, "test-read", ["read"])
    provider = LiveWithScenario(_Twin(), plant="plant_reference")
    view = PowerView(load_plant(PLANT), potlines=list(DC_MW))
    provider.set_power(view.idle())
    app = create_app(Settings(open_access=False), store, live=provider)
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": key}, timeout=10) as c:
        yield c, provider, view
    store.close()


@pytest.fixture(scope="module")
def dispatched(served: tuple[httpx.Client, LiveWithScenario, PowerView]) -> httpx.Client:
    client, provider, view = served
    before = {a["id"]: a for a in client.get("/v1/assets", params={"kind": "unit"}).json()["assets"]}
    assert before
    assert all(a["live"] is None and "not been dispatched" in a["live_reason"] for a in before.values())
    provider.set_power(view.update(DC_MW, AT))
    return client


def test_every_coal_unit_renewables_and_the_tie_are_assets_with_the_plant_files_values(dispatched) -> None:
    assets = {a["id"]: a for a in dispatched.get("/v1/assets").json()["assets"]}
    for unit in DOC["coal_unit"]:
        asset = assets[f"unit:{unit['name']}"]
        assert asset["kind"] == "unit"
        attributes = asset["metadata"]["attributes"]
        assert set(attributes) == set(unit) - {"name"}
        for key, entry in attributes.items():  # value, unit and source as the file gives them
            assert (entry["value"], entry["unit"], entry["source"]) == (
                unit[key]["value"], unit[key]["unit"], unit[key]["source"]), key
    assert DOC["renewables"]["capacity_MW"]["value"] > 0
    renewables = assets["unit:renewables"]["metadata"]["attributes"]
    assert renewables["capacity_MW"]["value"] == DOC["renewables"]["capacity_MW"]["value"]
    assert renewables["profile"]["value"] == DOC["renewables"]["profile"]["value"]
    tie = assets["grid:tie"]
    assert tie["kind"] == "grid"
    assert _values(tie["metadata"]["attributes"]) == {k: v["value"] for k, v in DOC["grid"].items()}


def test_rectifier_units_of_each_live_potline_with_no_made_up_live_value(dispatched) -> None:
    rectifiers = dispatched.get("/v1/assets", params={"kind": "rectifier"}).json()["assets"]
    expected = {f"rectifier:{n}-R{k}": f"potline:{n}"
                for n, line in enumerate(DOC["potline"], 1)
                for k in range(1, line["rectifier_units"]["value"] + 1)}
    assert {r["id"]: r["parent"] for r in rectifiers} == expected
    for r in rectifiers:
        line = DOC["potline"][int(r["parent"].split(":")[1]) - 1]
        attributes = _values(r["metadata"]["attributes"])
        assert attributes == {k: line[k]["value"] for k in ("rectifier_units", "rectifier_unit_current_kA",
                                                            "rectifier_voltage_max_V", "rectifier_efficiency")}
        assert r["metadata"]["attributes"]["rectifier_unit_current_kA"]["unit"] == "kA"
        assert r["live"] is None
        assert "no rectifier model" in r["live_reason"]


def test_live_values_close_the_power_balance_within_the_plant_files_limits(dispatched) -> None:
    assets = {a["id"]: a for a in dispatched.get("/v1/assets").json()["assets"]}
    efficiency = DOC["potline"][0]["rectifier_efficiency"]["value"]
    aux = DOC["plant"]["auxiliary_fraction"]["value"]
    demand = sum(DC_MW.values()) / efficiency * (1 + aux)  # the lines' AC draw with their auxiliaries
    generation = 0.0
    for unit in DOC["coal_unit"]:
        live = assets[f"unit:{unit['name']}"]["live"]["power_MW"]
        assert live["unit"] == "MW"
        assert live["source"] == "dispatch model"
        assert datetime.fromisoformat(live["time"]) == AT
        assert live["tag"] == f"live:unit:{unit['name']}/power_MW"
        low = unit["capacity_MW"]["value"] * unit["min_stable_fraction"]["value"] - unit["ramp_MW_per_min"]["value"]
        assert low <= live["value"] <= unit["capacity_MW"]["value"]
        generation += live["value"]
    solar = assets["unit:renewables"]["live"]
    available = DOC["renewables"]["capacity_MW"]["value"] * DOC["renewables"]["profile"]["value"][AT.hour]
    assert solar["power_MW"]["value"] + solar["curtailed_MW"]["value"] == pytest.approx(available)
    generation += solar["power_MW"]["value"]
    tie = assets["grid:tie"]["live"]
    imported, exported = tie["import_MW"]["value"], tie["export_MW"]["value"]
    assert 0 <= imported <= DOC["grid"]["import_max_MW"]["value"]
    assert 0 <= exported <= DOC["grid"]["export_max_MW"]["value"]
    assert generation + imported - exported == pytest.approx(demand, rel=1e-9)


def test_power_side_identifiers_resolve_and_carry_live_values(dispatched) -> None:
    listed = dispatched.get("/v1/id").json()["identifiers"]
    for local in ("unit:G1", "unit:renewables", "grid:tie", "rectifier:2-R5"):
        assert f"88.999.1/{local}" in listed
        rec = dispatched.get(f"/v1/id/88.999.1/{local}").json()
        by_index = {v["index"]: v for v in rec["values"]}
        assert by_index[3]["type"] == "TWIN.LIVE"
        followed = dispatched.get(rec["asset"]).json()
        assert followed["id"] == local
        live = json.loads(by_index[3]["data"]["value"])
        assert live["live"] == followed["live"]
        assert (live["live"] is None) == local.startswith("rectifier:")
    assert dispatched.get("/v1/id/88.999.1/rectifier:2-R6").status_code == 404  # P2 has 5 units


def test_live_values_name_tags_that_exist(dispatched) -> None:
    tags = {t["tag"]: t for t in dispatched.get("/v1/tags", params={"source": "live"}).json()}
    named = [v["tag"] for a in dispatched.get("/v1/assets").json()["assets"] if a.get("live")
             for v in a["live"].values() if v["tag"]]
    assert len(named) == len(DOC["coal_unit"]) + 1  # every unit and renewables
    for tag in named:
        assert tags[tag]["unit"] == "MW"
