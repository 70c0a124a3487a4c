"""GET /v1/advice through a real uvicorn: the advisor's report over a live twin fed by a simulated plant with a
feeder fault; 404 (one-line problem) without an advisor, as GET /v1/catalogue without a catalogue; a read key
is needed."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.api.conftest import LiveServer

from twin.api import Settings, create_api_key, create_app
from twin.live import LiveConfig, LiveTwin, PlantSource, drive
from twin.live.advice import Advisor
from twin.live.estimator import FilterConfig
from twin.params import Technology
from twin.params.plant import load_plant
from twin.store import DuckDBStore

GROUP = "potline1"


def test_advice_endpoint_serves_the_advisors_report(tech: Technology, models_dir: Path, tmp_path: Path) -> None:
    source = PlantSource(tech, 3, seed=3, warmup_s=5000.0)
    source.stick_feeder(1, 0.5)
    twin = LiveTwin(tech, {GROUP: 3}, LiveConfig(filter=FilterConfig(members=16)))
    drive(source, twin, until_s=3 * 3600.0, period_s=10.0, group=GROUP)
    store = DuckDBStore(tmp_path / "advice.duckdb")
    try:
        read = create_api_key(store, "test-read", ["read"])
        app = create_app(Settings(), store, live=twin)
        with LiveServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
            missing = http.get("/v1/advice", headers={"X-API-Key": read})
            assert missing.status_code == 404
            assert "has no advisor" in missing.json()["detail"]
            assert http.get("/v1/advice").status_code == 401
            app.state.advisor = Advisor(twin, [GROUP], load_plant(models_dir / "plant_reference.toml").potroom)
            answer = http.get("/v1/advice", headers={"X-API-Key": read})
    finally:
        store.close()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["pots_checked"] == 3
    assert body["horizon_h"] == 12.0
    cells = {p["cell"]: p for p in body["pots"]}
    assert "1-002" in cells  # the pot whose feeder delivers half
    assert any(a["kind"] == "feed" and a["value"] == "clear_feeder" for a in cells["1-002"]["advice"])
    assert set(cells["1-002"]["forecast"]) == {"without", "with", "improves"}
    for risk in body["ae_risk"]:
        assert 0.0 <= risk["probability"] <= 1.0
