"""KPI history as rows of {time, value, quality} with units; unknown names are 404s naming the valid ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.api.modscope import module_client, module_keys, module_plant, module_store  # noqa: F401

from twin.api.routes.kpis import kpi_unit
from twin.store import Store

T0 = datetime(2026, 3, 1, tzinfo=UTC)
RANGE = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T01:00:00Z"}


@pytest.fixture(scope="module")
def recorded(store: Store) -> None:
    for i in range(6):
        store.write_kpis("potline:1", T0 + timedelta(minutes=10 * i), {"line_current_kA": 400.0 + i})


def test_rows_carry_time_value_quality_and_units(client: httpx.Client, recorded: None) -> None:
    body = client.get("/v1/kpis/potline:1/history", params={**RANGE, "names": "line_current_kA"}).json()
    rows = body["rows"]["line_current_kA"]
    assert rows[0] == {"time": "2026-03-01T00:00:00.000Z", "value": 400.0, "quality": "good"}
    assert [r["value"] for r in rows] == [400.0, 401.0, 402.0, 403.0, 404.0, 405.0]  # what was written
    assert body["units"] == {"line_current_kA": "kA"}


def test_unknown_kpi_name_is_404_with_the_valid_ones(client: httpx.Client, recorded: None) -> None:
    r = client.get("/v1/kpis/potline:1/history", params={**RANGE, "names": "line_curent_kA"})
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert "'line_curent_kA' is not a KPI of potline:1" in detail
    # recorded (line_current_kA) and live (the synthetic plant's potline KPIs) names are offered
    assert "line_current_kA" in detail
    assert "anode_effects_per_day" in detail


def test_some_unknown_names_are_listed_the_known_ones_answered(client: httpx.Client, recorded: None) -> None:
    params = {**RANGE, "names": ["line_current_kA", "superheat_K"]}  # a client trying two names for one signal
    body = client.get("/v1/kpis/potline:1/history", params=params).json()
    assert body["unknown"] == ["superheat_K"]
    assert len(body["rows"]["line_current_kA"]) == 6
    assert body["units"] == {"line_current_kA": "kA"}


def test_live_kpi_not_yet_recorded_is_an_empty_answer_not_a_404(client: httpx.Client) -> None:
    r = client.get("/v1/kpis/potline:2/history", params={**RANGE, "names": "current_efficiency"})
    assert r.status_code == 200
    assert r.json()["rows"] == {}


def test_scope_unknown_everywhere_is_404(client: httpx.Client) -> None:
    r = client.get("/v1/kpis/potline:9/history", params=RANGE)
    assert r.status_code == 404
    assert "potline:9" in r.json()["detail"]


def test_long_range_without_max_points_is_capped_to_max_buckets(client: httpx.Client, recorded: None) -> None:
    week = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-08T00:00:00Z"}
    body = client.get("/v1/kpis/potline:1/history", params={**week, "names": "line_current_kA"}).json()
    assert body["max_points"] == 10_000  # Settings.max_buckets default
    assert client.get("/v1/kpis/potline:1/history", params={**week, "max_points": 20_000}).status_code == 400


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("line_current_kA", "kA"),
        ("specific_energy_kWh_per_t", "kWh/t"),
        ("anode_effects_per_day", "1/d"),
        ("co2e_t_per_t_al", "t/t Al"),
        ("superheat_degC", "°C"),
        ("current_efficiency_pct", "%"),
        ("current_efficiency", ""),
        ("cost_per_t_al", ""),
    ],
)
def test_kpi_units_from_the_name_suffix(name: str, unit: str) -> None:
    assert kpi_unit(name) == unit
