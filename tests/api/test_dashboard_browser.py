"""The dashboard in headless Chromium against a real server: data appears; a screenshot is kept."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import CREEP_TOML, Keys, LiveServer

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(server: LiveServer):  # closed before the server stops, so no stream holds the shutdown
    if not CHROMIUM or not DRIVER:
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1300",
        "--disable-gpu",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def test_dashboard_shows_live_data(browser, server: LiveServer, keys: Keys) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with httpx.Client(base_url=server.url, headers={"X-API-Key": keys.run}) as c:
        job = c.post("/v1/scenarios", json={"toml": CREEP_TOML, "label": "creep +4 kA"}).json()
        deadline = time.monotonic() + 20
        while c.get(f"/v1/scenarios/{job['job_id']}").json()["status"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        base = c.get(f"/v1/scenarios/{job['job_id']}/comparison")
        while base.status_code == 409 and time.monotonic() < deadline:  # baseline runs on first use
            time.sleep(0.05)
            base = c.get(f"/v1/scenarios/{job['job_id']}/comparison")
        assert base.status_code == 200

    browser.get(server.url + "/")
    wait = WebDriverWait(browser, 20)
    assert "enter an API key" in wait.until(lambda d: d.find_element(By.ID, "status").text or None)
    browser.find_element(By.ID, "api-key").send_keys(keys.read)
    browser.find_element(By.CSS_SELECTOR, "#key-form button").click()

    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#heatmap .cell")) == 24)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#kpi-tiles .tile"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "live"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#comparison tbody tr td.up"))
    tiles = {t.get_attribute("data-kpi") for t in browser.find_elements(By.CSS_SELECTOR, "#kpi-tiles .tile")}
    assert {"power_MW", "metal_t_per_day"} <= tiles
    assert (
        browser.find_element(By.CSS_SELECTOR, '#heatmap .cell[data-cell="1-005"]').get_attribute("class") == "cell ae"
    )
    assert "Anode effects: 1-005" in browser.find_element(By.ID, "anode-effects").text
    power = browser.find_element(By.ID, "power-balance").text
    assert "unit G1" in power
    assert "potline 1" in power
    assert "grid import" in power
    assert "anode effect, 32 V" in browser.find_element(By.ID, "alarms").text
    assert "metal_t" in browser.find_element(By.ID, "comparison").text
    assert browser.find_element(By.CSS_SELECTOR, "#trend polyline")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
