"""GET /v1/dashboard through a real server: the fixed bands come from the technology file, or none at all."""

from __future__ import annotations

import tomllib
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.api.conftest import Keys, LiveServer
from tests.api.plantstate import SyntheticPlant

from twin.api import Settings, create_app
from twin.api.operating import PlantInfo
from twin.params import load_technology
from twin.store import Store

TECH = Path(__file__).resolve().parents[2] / "models" / "hal275.toml"


@pytest.fixture
def app(settings: Settings, store: Store, keys: Keys, plant: SyntheticPlant) -> FastAPI:
    return create_app(
        settings, store, live=plant, plant_info=PlantInfo(load_technology(TECH), speed=30.0, timezone="Europe/Oslo")
    )


def test_bands_are_the_technology_files_limits(server: LiveServer, keys: Keys) -> None:
    raw = tomllib.loads(TECH.read_text())  # read here, not through twin.params
    info = httpx.get(server.url + "/v1/dashboard", headers={"X-API-Key": keys.read}).json()
    assert (info["speed"], info["timezone"], info["technology"]) == (30.0, "Europe/Oslo", "hal275")
    v = info["limits"]["voltage_V"]
    target, deadband = raw["control"]["target_voltage_V"]["value"], raw["control"]["deadband_mV"]["value"] / 1000
    assert v["ok_low"] == pytest.approx(target - deadband)
    assert v["ok_high"] == pytest.approx(target + deadband)
    assert v["alarm_high"] == raw["anode_effect"]["detect_voltage_V"]["value"]
    assert v["unit"] == "V"
    assert info["limits"]["alumina_wtpct"]["alarm_low"] == raw["alumina"]["anode_effect_wtpct"]["value"]
    ledge = info["limits"]["ledge_cm"]
    assert (ledge["alarm_low"], ledge["alarm_high"]) == (
        raw["thermal"]["ledge_min_cm"]["value"],
        raw["thermal"]["ledge_max_cm"]["value"],
    )
    assert info["limits"]["bath_temp_measured_degC"]["alarm_high"] == raw["thermal"]["bath_temp_max_degC"]["value"]
    for band in info["limits"].values():  # every limit says where it comes from; bands are ordered
        assert band["source"]
        limits = [band[k] for k in ("alarm_low", "ok_low", "ok_high", "alarm_high") if band[k] is not None]
        assert limits == sorted(limits)
    assert httpx.get(server.url + "/v1/dashboard").status_code == 401


def test_without_plant_info_there_are_no_limits(tmp_path: Path) -> None:
    from twin.store import DuckDBStore

    with DuckDBStore(tmp_path / "s.duckdb") as store, LiveServer(create_app(Settings(open_access=True), store)) as srv:
        info = httpx.get(srv.url + "/v1/dashboard").json()
    assert info == {"speed": 1.0, "timezone": None, "technology": None, "limits": {}}
