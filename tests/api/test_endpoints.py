"""Endpoints over a real uvicorn server: KPIs, series, plant views, caching, metrics, SSE, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from tests.api.conftest import LiveServer
from tests.api.plantstate import SyntheticPlant

from twin.store import Store

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TAG = "cell:1-017/voltage_V"


def problem(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()["detail"]


@pytest.fixture
def history(store: Store) -> np.ndarray:
    store.register_tags([TAG])
    ts = np.datetime64("2026-03-01T00:00:00", "us") + np.arange(7200).astype("timedelta64[s]")
    store.write_points(TAG, ts, 4.2 + 0.01 * np.sin(np.arange(7200) / 60))
    store.write_points(TAG, ts[:1], [float("nan")], "bad")
    for i in range(12):
        store.write_kpis("potline:1", T0 + timedelta(minutes=5 * i), {"current_efficiency": 0.9 + i / 100})
    return ts


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/v1/health", headers={}).json()["status"] == "ok"
    assert client.get("/v1/ready").json()["ready"] is True


def test_ready_is_503_when_store_is_gone(tmp_path) -> None:
    from twin.api import Settings, create_app
    from twin.store import DuckDBStore

    store = DuckDBStore(tmp_path / "gone.duckdb")
    with LiveServer(create_app(Settings(open_access=True), store)) as srv:
        store.close()
        assert "store" in problem(httpx.get(srv.url + "/v1/ready"), 503)


def test_kpi_snapshot_etag_and_cache_control(client: httpx.Client, plant: SyntheticPlant) -> None:
    r = client.get("/v1/kpis")
    assert r.status_code == 200
    body = r.json()
    assert body["scopes"]["potline:1"]["line_current_kA"] == 400.0
    assert body["as_of"] == "2026-03-01T00:00:00Z"
    assert r.headers["cache-control"] == "private, max-age=2"
    etag = r.headers["etag"]
    again = client.get("/v1/kpis", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "private, max-age=2"
    assert again.content == b""
    plant.advance()
    changed = client.get("/v1/kpis", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    one = client.get("/v1/kpis/potline:1").json()
    assert one == {
        "scope": "potline:1",
        "as_of": "2026-03-01T00:00:01Z",
        "kpis": {"line_current_kA": 401.0, "current_efficiency": 0.95, "anode_effects_per_day": 0.1},
    }
    assert "known scopes" in problem(client.get("/v1/kpis/potline:7"), 404)
    problem(client.get("/v1/kpis/galaxy"), 422)


def test_kpi_history(client: httpx.Client, history: np.ndarray) -> None:
    params = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T01:00:00+00:00"}
    full = client.get("/v1/kpis/potline:1/history", params=params).json()
    assert len(full["series"]["current_efficiency"]["value"]) == 12
    coarse = client.get("/v1/kpis/potline:1/history", params={**params, "max_points": 2}).json()
    assert coarse["series"]["current_efficiency"]["ts"] == ["2026-03-01T00:00:00.000Z", "2026-03-01T00:30:00.000Z"]
    assert coarse["series"]["current_efficiency"]["value"] == pytest.approx([0.925, 0.985])


def test_latest_recorded_pages_and_aggregates(client: httpx.Client, history: np.ndarray) -> None:
    latest = client.get("/v1/latest", params={"tags": [TAG]})
    assert latest.json()["points"][0]["ts"] == "2026-03-01T01:59:59Z"
    assert latest.headers["cache-control"] == "private, max-age=0, must-revalidate"
    assert client.get(f"/v1/tags/{TAG}/latest").json() == latest.json()
    params = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T02:00:00Z", "limit": 2500}
    got, cursor, pages = [], None, 0
    while True:
        page = client.get(f"/v1/tags/{TAG}/recorded", params={**params, **({"cursor": cursor} if cursor else {})})
        body = page.json()
        got += body["points"]
        pages += 1
        assert body["truncated"] == (body["next_cursor"] is not None)
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert len(got) == 7200
    assert got[0]["ts"] == "2026-03-01T00:00:00.000000Z"
    assert got[0]["quality"] == "bad"
    assert got[0]["value"] is None  # NaN of a bad sample is sent as null
    agg = client.get(f"/v1/tags/{TAG}/aggregate", params={**params, "max_points": 1000, "limit": None}).json()
    assert agg["bucket_s"] == 10.0
    assert len(agg["buckets"]) == 720
    assert agg["buckets"][0]["count"] == 9  # the bad sample is not aggregated
    hourly = client.get(
        f"/v1/tags/{TAG}/aggregate",
        params={"start": params["start"], "end": params["end"], "bucket_s": 3600, "agg": ["twa", "max"]},
    ).json()
    assert hourly["source"] == "1h"
    assert set(hourly["buckets"][0]) == {"ts", "twa", "max"}


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        (
            "/v1/tags/{tag}/recorded",
            {"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
            400,
            "expected a time after start",
        ),
        (
            "/v1/tags/{tag}/recorded",
            {"start": "2000-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
            400,
            "at most 3660 days",
        ),
        ("/v1/tags/{tag}/recorded", {"start": "2026-03-01T00:00:00"}, 422, "timezone"),
        ("/v1/tags/{tag}/recorded", {"start": "yesterday"}, 422, "start"),
        ("/v1/tags/{tag}/recorded", {"limit": 20000}, 400, "limit = 20000"),
        ("/v1/tags/{tag}/recorded", {"cursor": "Zm9v"}, 400, "cursor"),
        ("/v1/tags/cell:9-999/voltage_V/recorded", {}, 404, "cell:9-999/voltage_V"),
        ("/v1/tags/{tag}/aggregate", {}, 400, "exactly one of bucket_s or max_points"),
        (
            "/v1/tags/{tag}/aggregate",
            {"bucket_s": 1, "start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
            400,
            "max_buckets",
        ),
        ("/v1/tags/{tag}/aggregate", {"max_points": 0}, 422, "max_points"),
        ("/v1/tags/{tag}/aggregate", {"max_points": 10, "agg": "median"}, 422, "agg"),
        ("/v1/assets/cell:9-999", {}, 404, "cell:9-999"),
        ("/v1/potlines/9/cells", {}, 404, "potline = '9'"),
        ("/v1/scenarios/job-missing", {}, 404, "job-missing"),
    ],
)
def test_bad_queries_are_clear_4xx(
    client: httpx.Client, history: np.ndarray, path: str, params: dict, status: int, needle: str
) -> None:
    assert needle in problem(client.get(path.format(tag=TAG), params=params), status)


def test_malformed_bodies_are_422(client: httpx.Client) -> None:
    r = client.post("/v1/scenarios", content=b"{not json", headers={"content-type": "application/json"})
    assert problem(r, 422)
    assert "exactly one" in problem(client.post("/v1/scenarios", json={"toml": "x=1", "from_live": True}), 422)
    assert "toml" in problem(client.post("/v1/scenarios", json={"toml": "[scenario\n"}), 422)
    r = client.post("/v1/scenarios", json={"tom": "x"})
    assert r.json()["errors"][0]["field"] == "body.tom"


def test_power_cells_alarms_assets(client: httpx.Client) -> None:
    power = client.get("/v1/power").json()
    assert power["units_MW"] == {"G1": 330.0, "G2": 330.0, "G3": 200.0}
    assert power["load_MW"] == 907.0
    assert power["imbalance_MW"] == pytest.approx(40.0)  # auxiliaries not in potline load
    cells = client.get("/v1/potlines/1/cells").json()["cells"]
    assert len(cells) == 24
    assert cells["1-005"]["anode_effect"] is True
    assert cells["1-005"]["voltage_V"] == 32.0
    active = client.get("/v1/alarms", params={"state": "active"}).json()["alarms"]
    assert [a["id"] for a in active] == ["ae-1-005"]
    assert active[0]["reason"] == "anode effect, 32 V"
    kinds = {a["kind"] for a in client.get("/v1/assets").json()["assets"]}
    assert kinds == {"potline", "cell", "rectifier", "unit"}
    rect = client.get("/v1/assets", params={"kind": "rectifier"}).json()["assets"]
    assert [a["id"] for a in rect] == ["rectifier:1-A", "rectifier:2-A"]
    assert client.get("/v1/assets/unit:G2").json()["metadata"] == {"rated_MW": 350}


def test_metrics_count_requests_and_export_ingest(client: httpx.Client) -> None:
    for _ in range(3):
        client.get("/v1/kpis/potline:1")
    client.get("/v1/kpis/potline:9")
    text = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/v1/kpis/{scope}",status="200"} 3' in text
    assert 'http_requests_total{method="GET",route="/v1/kpis/{scope}",status="404"} 1' in text
    assert 'http_request_duration_seconds_bucket{method="GET",route="/v1/kpis/{scope}",le="+Inf"} 4' in text
    assert "twin_ingest_messages_per_s 1234" in text
    assert "twin_ingest_seq_gaps 2" in text


def test_sse_stream_sends_snapshot_then_changes(client: httpx.Client, plant: SyntheticPlant) -> None:
    events = []
    with client.stream("GET", "/v1/stream/kpis", params={"max_events": 2}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if len(events) == 1:
                    plant.advance()
    assert len(events) == 2
    assert events[0]["scopes"]["plant"]["metal_t_per_day"] == 3400.0
    assert events[1]["scopes"]["plant"]["metal_t_per_day"] == 3401.0


def test_dashboard_and_openapi_are_served(client: httpx.Client) -> None:
    page = client.get("/", headers={})
    assert page.status_code == 200
    assert "<html" in page.text.lower()
    assert client.get("/static/js/main.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/tags/{tag}/aggregate" in spec["paths"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


def test_without_live_provider_now_comes_from_the_store(tmp_path) -> None:
    from twin.api import Settings, create_app
    from twin.store import DuckDBStore

    with DuckDBStore(tmp_path / "nolive.duckdb") as store:
        store.write_kpis("potline:2", T0, {"current_efficiency": 0.94})
        store.register_tags(["cell:2-003/voltage_V", "cell:2-003/superheat_degC"])
        store.write_points("cell:2-003/voltage_V", [np.datetime64("2026-03-01T00:00:05")], [4.31])
        store.write_points("cell:2-003/superheat_degC", [np.datetime64("2026-03-01T00:00:06")], [11.0])
        with LiveServer(create_app(Settings(open_access=True), store)) as srv:
            kpis = httpx.get(srv.url + "/v1/kpis").json()
            cells = httpx.get(srv.url + "/v1/potlines/2/cells").json()
            assets = httpx.get(srv.url + "/v1/assets").json()["assets"]
    assert kpis == {"as_of": "2026-03-01T00:00:06Z", "scopes": {"potline:2": {"current_efficiency": 0.94}}}
    assert cells["cells"] == {"2-003": {"voltage_V": 4.31, "superheat_degC": 11.0}}
    assert {a["id"] for a in assets} == {"potline:2", "cell:2-003"}


def test_periodic_compaction_applies_retention(tmp_path) -> None:
    import time

    from twin.api import Settings, create_app
    from twin.store import DuckDBStore

    now = np.datetime64(datetime.now(UTC).replace(tzinfo=None), "us")
    with DuckDBStore(tmp_path / "compact.duckdb", retention=timedelta(days=7)) as store:
        store.register_tags([TAG])
        store.write_points(TAG, [now - np.timedelta64(10, "D"), now - np.timedelta64(1, "D")], [1.0, 2.0])
        with LiveServer(create_app(Settings(open_access=True, compact_interval_s=0.05), store)):
            deadline = time.monotonic() + 10
            while len(store.recorded(TAG, T0, datetime.now(UTC))) == 2:
                assert time.monotonic() < deadline, "compaction did not run"
                time.sleep(0.05)
        assert store.recorded(TAG, T0, datetime.now(UTC)).value.tolist() == [2.0]
        assert store.aggregate(TAG, T0, datetime.now(UTC), bucket=timedelta(days=1)).count.sum() == 2


class MessyProvider:
    """A provider whose snapshot breaks every rule: the API must still answer without a 5xx."""

    def snapshot(self) -> dict:
        return {
            "as_of": "not a time",
            "kpis": {"plant": {"a": float("nan"), "b": "x", "c": True, "d": 2}, "potline:1": None},
            "cells": {"1-001": {"voltage_V": float("inf"), "note": "hot", "anode_effect": False}, "1-002": None},
            "power": {"units": {"G1": float("nan"), "G2": 100}, "grid_MW": "lots", "potlines": None},
            "alarms": [{"id": "x", "state": "active", "reason": "r", "value": float("nan")}, "garbage"],
            "assets": [
                {"id": "unit:G2", "kind": "unit", "metadata": "n/a"},
                {"id": 7, "kind": "cell"},
                {"id": "boiler:1", "kind": "boiler"},
            ],
        }


def test_messy_live_state_never_gives_5xx(store: Store, keys) -> None:
    from twin.api import Settings, create_app

    with (
        LiveServer(create_app(Settings(), store, live=MessyProvider())) as srv,
        httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.read}) as c,
    ):
        kpis = c.get("/v1/kpis").json()
        assert kpis["scopes"] == {"plant": {"d": 2.0}, "potline:1": {}}
        assert c.get("/v1/kpis/potline:1").json()["kpis"] == {}
        assert c.get("/v1/potlines/1/cells").json()["cells"] == {
            "1-001": {"voltage_V": None, "anode_effect": False},
            "1-002": {},
        }
        power = c.get("/v1/power").json()
        assert power["units_MW"] == {"G2": 100.0}
        assert power["grid_MW"] == 0.0
        alarms = c.get("/v1/alarms").json()["alarms"]
        assert alarms == [{"id": "x", "state": "active", "reason": "r", "value": None}]
        assert c.get("/v1/assets").json()["assets"] == [
            {"id": "unit:G2", "kind": "unit", "name": "", "parent": None, "metadata": {}}
        ]
        assert c.get("/v1/assets/boiler:1").status_code == 404
        with c.stream("GET", "/v1/stream/kpis", params={"max_events": 1}) as r:
            assert any(line.startswith("data:") for line in r.iter_lines())
