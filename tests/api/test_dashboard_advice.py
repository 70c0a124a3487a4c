"""The dashboard's advice view (#/advice, issue 10 items 5 and 6) in headless Chromium against a real uvicorn
server: an app with a real Advisor over a small live twin fed by a simulated plant (twin.live drive()).

What the page shows is checked against the API's own JSON fetched here (not against numbers written in the test):
each pot with advice, every advice item's action and reason, the forward check's numbers with and without the
advice, the pots at anode-effect risk and the "as of" time. A healthy line shows the empty state; a server without
an advisor (404) a plain sentence; a cell link opens that cell's page. Screenshots go to test-artifacts/dashboard/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from tests.api.conftest import Keys, LiveServer
from tests.api.test_dashboard_browser import SIZES, _chrome, _login, _script_errors, _shot, _text

from twin.api import Settings, create_app
from twin.live import LiveConfig, LiveTwin, PlantSource, drive
from twin.live.advice import Advisor
from twin.live.estimator import FilterConfig
from twin.params import load_technology
from twin.params.plant import load_plant
from twin.store import Store

pytestmark = pytest.mark.browser
GROUP = "potline1"
HOURS = 2.5  # with the feeder of pot 1-002 delivering half, its alumina is then near the anode-effect onset
FORECAST_DIGITS = {"temperature_degC": 1, "superheat_K": 1, "alumina_min_wtpct": 2, "anode_effects": 0,
                   "voltage_mean_V": 3, "alf3_wtpct": 2}  # fmt: skip


def _twin(models_dir: Path, *, stuck_feeder: bool) -> LiveTwin:
    """A live twin of three pots fed for HOURS from a simulated plant whose clock ends now."""
    tech = load_technology(models_dir / "hal275.toml")
    source = PlantSource(tech, 3, seed=3, warmup_s=5000.0)
    if stuck_feeder:
        source.stick_feeder(1, 0.5)
    twin = LiveTwin(tech, {GROUP: 3}, LiveConfig(filter=FilterConfig(members=16)))
    start = datetime.now(UTC) - timedelta(hours=HOURS)
    drive(source, twin, until_s=HOURS * 3600.0, period_s=10.0, group=GROUP, epoch_ms=int(start.timestamp() * 1000))
    return twin


def _number(text: str) -> float:
    """A number as the page prints it (en-GB grouping, '+' on a change)."""
    return float(text.replace(",", "").replace("+", "").strip())


def test_advice_view(models_dir: Path, settings: Settings, store: Store, keys: Keys) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    potroom = load_plant(models_dir / "plant_reference.toml").potroom
    faulty = _twin(models_dir, stuck_feeder=True)
    app: FastAPI = create_app(settings, store, live=faulty)
    app.state.advisor = Advisor(faulty, [GROUP], potroom)
    with LiveServer(app) as server:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": keys.read}, timeout=30) as http:
            body = http.get("/v1/advice").json()
        assert body["pots"], body  # the stuck feeder gives advice ...
        assert body["ae_risk"], body  # ... and a pot near the anode-effect onset
        driver = _chrome(*SIZES["laptop"])
        try:
            wait = WebDriverWait(driver, 20)
            _login(driver, wait, server, keys.read)
            driver.get(server.url + "/#/advice")
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#advice-pots .advice-pot")) == len(body["pots"]))

            as_of = datetime.fromisoformat(body["as_of"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            head = _text(driver, "#advice-asof")
            assert f"as of {as_of}" in head
            assert f"{body['pots_checked']} pots checked" in head
            for pot in body["pots"]:
                sel = f'#advice-pots .advice-pot[data-cell="{pot["cell"]}"]'
                shown = _text(driver, sel)
                for a in pot["advice"]:
                    assert a["action"] in shown
                    assert a["reason"] in shown
                kinds = driver.execute_script(
                    "return [...document.querySelectorAll(arguments[0] + ' li')].map((e) => e.dataset.kind)", sel
                )
                assert kinds == [a["kind"] for a in pot["advice"]]
                assert f"forward check, {body['horizon_h']:g} h" in shown
                for field, digits in FORECAST_DIGITS.items():
                    for case in ("without", "with"):
                        cell = f'{sel} tr[data-field="{field}"] td.{case}'
                        value = _number(_text(driver, cell))
                        assert value == pytest.approx(pot["forecast"][case][field], abs=0.51 * 10**-digits), cell
                assert ("advice helps" in shown) == pot["forecast"]["improves"]
            for risk in body["ae_risk"]:
                row = f'#advice-risk tr[data-cell="{risk["cell"]}"]'
                assert _text(driver, row + " .prob") == f"{round(100 * risk['probability'])} %"
                within = re.fullmatch(r"within (\d+) (s|min)", _text(driver, row + " .horizon"))
                assert within, _text(driver, row)
                assert int(within[1]) * (60 if within[2] == "min" else 1) == pytest.approx(risk["horizon_s"], abs=30)
                alumina = _text(driver, row + " .alumina").removesuffix(" wt%").split(" ± ")
                assert _number(alumina[0]) == pytest.approx(risk["alumina_wtpct"], abs=0.0051)
                assert _number(alumina[1]) == pytest.approx(risk["alumina_std_wtpct"], abs=0.00051)
            _shot(driver, "advice-laptop")
            driver.set_window_size(*SIZES["wall"])
            _shot(driver, "advice-wall")
            driver.set_window_size(*SIZES["laptop"])

            # a cell link opens that cell's page
            first = body["pots"][0]["cell"]
            driver.find_element(By.CSS_SELECTOR, f'#advice-pots .advice-pot[data-cell="{first}"] a.cell-link').click()
            wait.until(lambda d: d.find_element(By.ID, "cell-title").text == f"Cell {first}")
            assert driver.current_url.endswith(f"#/cell/{first}")
            # its trends load; a KPI the live twin has not (the ledge) is an empty chart, not an error
            wait.until(lambda d: "nothing recorded" in d.find_element(By.TAG_NAME, "body").text)
            assert not driver.find_element(By.ID, "status").text.startswith("error"), _text(driver, "#status")

            # a healthy line: no advice, no risk, and the page says all pots are within their rules
            app.state.advisor = Advisor(_twin(models_dir, stuck_feeder=False), [GROUP], potroom)
            with httpx.Client(base_url=server.url, headers={"X-API-Key": keys.read}, timeout=30) as http:
                healthy = http.get("/v1/advice").json()
            assert healthy["pots"] == [], healthy
            assert healthy["ae_risk"] == [], healthy
            driver.get(server.url + "/#/advice")
            empty = wait.until(lambda d: _text(d, "#advice-empty"))
            assert f"All {healthy['pots_checked']} pots are within their rules" in empty
            assert "No pot at risk of an anode effect" in _text(driver, "#advice-risk")
            healthy_as_of = datetime.fromisoformat(healthy["as_of"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert f"as of {healthy_as_of}" in _text(driver, "#advice-asof")
            _shot(driver, "advice-empty-laptop")
            driver.set_window_size(*SIZES["wall"])
            _shot(driver, "advice-empty-wall")
            driver.set_window_size(*SIZES["laptop"])

            # no advisor: GET /v1/advice is 404, the page says so in a sentence
            app.state.advisor = None
            driver.refresh()
            msg = wait.until(lambda d: _text(d, "#advice-msg") or None)
            assert "no per-pot advice" in msg
            assert "404" in msg
            assert not driver.find_element(By.ID, "advice-body").is_displayed()
            assert not _script_errors(driver)
        finally:
            driver.quit()
