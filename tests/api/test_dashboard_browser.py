"""The dashboard in headless Chromium against a real uvicorn server: every view, at laptop (1366x768) and
wall-screen (3840x2160) size, with screenshots kept in test-artifacts/dashboard/ (ignored by git).

The live state is the synthetic two-potline plant of tests/api/plantstate.py; the store holds recorded history
with deliberate holes, so the charts must show gaps; cells are coloured against the limits read here straight
from models/hal275.toml (not against the spread of the values shown).
"""

from __future__ import annotations

import shutil
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from tests.api.conftest import CREEP_TOML, Keys, LiveServer
from tests.api.plantstate import SyntheticPlant, run_scenario

from twin.api import Settings, create_app
from twin.api.operating import PlantInfo
from twin.params import load_technology
from twin.store import Store, TagInfo

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
TECH_FILE = ROOT / "models" / "hal275.toml"
SIZES = {"laptop": (1366, 768), "wall": (3840, 2160)}
PLANT_TZ = "Asia/Shanghai"  # UTC+8 all year: the local clock's offset is known


def _seed(store: Store, now: datetime) -> None:
    """Two days of plant KPIs every 20 min with a 3 h hole; cell 1-017's voltage every 10 s over the last hour
    with a 10-min hole, and its alumina/superheat estimates every 4 min for 2 h."""
    for k in range(2 * 24 * 3):
        t = now - timedelta(minutes=20 * k)
        if timedelta(hours=5) <= now - t < timedelta(hours=8):
            continue
        store.write_kpis("plant", t, {"power_MW": 950.0 + 10 * np.sin(k / 6), "metal_t_per_day": 3400.0})
    for k in range(30):
        t = now - timedelta(minutes=4 * k)
        estimates = {"alumina_wtpct": 2.5 + 0.3 * np.sin(k / 9), "superheat_K": 8 + np.cos(k / 7)}
        store.write_kpis("cell:1-017", t, estimates)
    ts = [now - timedelta(seconds=10 * k) for k in range(360) if not 1200 <= 10 * k < 1800]
    store.register_tags([TagInfo("cell:1-017/cell_voltage_V", "V", "cell voltage")])
    store.write_points("cell:1-017/cell_voltage_V", ts, 4.2 + 0.02 * np.sin(np.arange(len(ts)) / 15))


@pytest.fixture
def app(settings: Settings, store: Store, keys: Keys, plant: SyntheticPlant) -> FastAPI:
    info = PlantInfo(load_technology(TECH_FILE), speed=30.0, timezone=PLANT_TZ)
    return create_app(settings, store, live=plant, run_scenario=run_scenario, plant_info=info)


def _chrome(width: int, height: int, offline: bool = False):
    if not CHROMIUM or not DRIVER:
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    args = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars"]
    args.append(f"--window-size={width},{height}")
    if offline:  # nothing but loopback resolves or connects: an air-gapped plant network
        args += ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=127.0.0.1:9",
                 "--proxy-bypass-list=127.0.0.1"]  # fmt: skip
    for arg in args:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


@pytest.fixture(params=sorted(SIZES))
def browser(request: pytest.FixtureRequest, server: LiveServer) -> Iterator[tuple[str, object]]:
    driver = _chrome(*SIZES[request.param])
    driver.set_window_size(*SIZES[request.param])
    yield request.param, driver
    driver.quit()  # before the server stops, so no stream holds its shutdown


def _shot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    return path


def _script_errors(driver) -> list[str]:
    """Severe console entries other than HTTP statuses (404 from an optional route, 409 while a baseline runs)."""
    logs = driver.get_log("browser")
    return [e["message"] for e in logs if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]


def _text(driver, css: str) -> str | None:
    """The text of the element now (read in one script: the page re-renders every few seconds)."""
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.innerText : null", css)


def _click(wait, css: str) -> None:
    """Click the first element matching ``css`` once it exists. The page rebuilds its rows on every refresh, so a
    row found a moment ago may be gone by the click (Selenium's stale element): then it is found again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def attempt(driver) -> bool:
        try:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            if not found:
                return False
            found[0].click()
            return True
        except StaleElementReferenceException:
            return False

    wait.until(attempt)


def _attrs(driver, css: str, name: str) -> list[str]:
    script = "return [...document.querySelectorAll(arguments[0])].map((e) => e.getAttribute(arguments[1]))"
    return driver.execute_script(script, css, name)


def _zone(v: float, target: float, deadband: float, detect: float) -> str:
    """The voltage zone from the technology file's numbers, computed here independently of the page."""
    if v >= detect:
        return "alarm-high"
    if v < target - deadband:
        return "warn-low"
    if v > target + deadband:
        return "warn-high"
    return "ok"


def _login(driver, wait, server: LiveServer, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(server.url + "/")
    assert "enter an API key" in wait.until(lambda d: d.find_element(By.ID, "status").text or None)
    driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
    wait.until(lambda d: d.find_element(By.ID, "status").text.startswith("live"))
    driver.get_log("browser")  # drop the 401s from before the key was entered


def test_every_view(browser, server: LiveServer, store: Store, keys: Keys, plant: SyntheticPlant) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    size, driver = browser
    _seed(store, datetime.now(UTC).replace(microsecond=0))
    wait = WebDriverWait(driver, 20)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": keys.run}, timeout=10) as c:
        job = c.post("/v1/scenarios", json={"toml": CREEP_TOML, "label": "creep +4 kA"}).json()
    _login(driver, wait, server, keys.read)
    q = driver.find_element
    qs = driver.find_elements

    # overview: tiles with human labels and units, every potline, the power balance, a trend with a range picker
    wait.until(lambda d: "live · as of 2026-03-01T" in d.find_element(By.ID, "status").text)
    assert q(By.ID, "status").text.endswith("Z")
    assert "30× speed" in q(By.ID, "speed").text
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plant-tiles .tile"))
    power_tile = q(By.CSS_SELECTOR, '#plant-tiles .tile[data-kpi="power_MW"]').text
    assert "plant power" in power_tile
    assert "MW" in power_tile
    assert "power_MW" in power_tile
    assert {e.get_attribute("data-potline") for e in qs(By.CSS_SELECTOR, "#potline-cards .card")} == {"1", "2"}
    balance = wait.until(lambda d: d.find_element(By.ID, "power-balance").text or None)
    for text in ("unit G1", "unit G3", "grid import", "potline 1", "potline 2", "balance"):
        assert text in balance
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#trend .uplot"))
    assert "raw samples" in q(By.ID, "trend-note").text
    q(By.CSS_SELECTOR, '#trend-range button[data-range="week"]').click()
    wait.until(lambda d: "bucket averages (one point per ~" in d.find_element(By.ID, "trend-note").text)
    # the 1 h hole in the plant KPI history is a gap (a null) in the drawn series, not a straight line
    gap = "const p = document.querySelector('#trend')._plot; return p && p.data[1].includes(null)"
    assert wait.until(lambda d: d.execute_script(gap)), q(By.ID, "trend-note").text
    _shot(driver, f"overview-{size}")

    # time axis and status in local plant time
    q(By.CSS_SELECTOR, '#time-mode button[data-mode="local"]').click()
    wait.until(lambda d: d.find_element(By.ID, "status").text.endswith("+08:00"))
    axis = "return document.querySelector('#trend')._plot.axes[0].label"
    wait.until(lambda d: "local, Asia/Shanghai" in d.execute_script(axis))
    # a custom range typed in plant local time (UTC+8) is that instant, whatever the browser's own zone
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    typed = [(start + timedelta(hours=8 + h)).strftime("%Y-%m-%dT%H:%M") for h in (0, 2)]
    q(By.CSS_SELECTOR, '#trend-range button[data-range="custom"]').click()
    set_value = "document.querySelector(arguments[0]).value = arguments[1]"
    driver.execute_script(set_value, "#trend-range .from", typed[0])
    driver.execute_script(set_value, "#trend-range .to", typed[1])
    q(By.CSS_SELECTOR, "#trend-range .apply").click()
    x_min = "const p = document.querySelector('#trend')._plot; return p && p.scales.x.min"
    wait.until(lambda d: d.execute_script(x_min) == start.timestamp())
    assert "+08:00" in q(By.ID, "trend-note").text
    q(By.CSS_SELECTOR, '#time-mode button[data-mode="utc"]').click()

    # potline: two rows of pots laid out as the line, coloured against the technology's fixed limits
    driver.get(server.url + "/#/potline/1")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#potrows .pot")) == 24)
    tech = tomllib.loads(TECH_FILE.read_text())
    target = tech["control"]["target_voltage_V"]["value"]
    deadband = tech["control"]["deadband_mV"]["value"] / 1000
    detect = tech["anode_effect"]["detect_voltage_V"]["value"]
    cells = plant.snapshot()["cells"]
    row_a = _attrs(driver, '#potrows [data-side="A"] .pot', "data-cell")
    row_b = _attrs(driver, '#potrows [data-side="B"] .pot', "data-cell")
    assert row_a == [f"1-{i:03d}" for i in range(1, 13)]
    assert row_b == [f"1-{i:03d}" for i in range(24, 12, -1)]
    ids, zone_of = _attrs(driver, "#potrows .pot", "data-cell"), _attrs(driver, "#potrows .pot", "data-zone")
    zones = dict(zip(ids, zone_of, strict=True))
    # the page may have polled a newer tick than our snapshot; the synthetic voltages move slowly, so compare
    # with the snapshot the page shows now
    cells = plant.snapshot()["cells"]
    expected = {c: _zone(cells[c]["voltage_V"], target, deadband, detect) for c in zones}
    mismatched = {c for c in zones if zones[c] != expected[c]}
    assert len(mismatched) <= 2, (zones, expected)  # a cell may cross a limit between the poll and our read
    assert zones["1-005"] == "alarm-high"
    legend = q(By.ID, "pot-legend").text
    assert "4.175 V" in legend
    assert "4.225 V" in legend
    assert "8 V" in legend
    assert "hal275" in legend
    _shot(driver, f"potline-{size}")

    # click-through to a cell page: current values with units, trends with gaps, events and alarms
    q(By.CSS_SELECTOR, '#potrows .pot[data-cell="1-017"]').click()
    wait.until(lambda d: d.find_element(By.ID, "cell-title").text == "Cell 1-017")
    assert driver.current_url.endswith("#/cell/1-017")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cell-voltage .uplot"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cell-alumina .uplot"))
    assert "tag cell:1-017/cell_voltage_V" in q(By.ID, "cell-voltage-note").text
    assert "raw samples" in q(By.ID, "cell-voltage-note").text
    assert driver.execute_script("return document.querySelector('#cell-voltage')._plot.data[1].includes(null)")
    assert "estimated alumina (wt%)" in q(By.CSS_SELECTOR, "#cell-alumina .u-legend").text
    assert "operating band 2–4 wt%" in q(By.ID, "cell-alumina-note").text
    assert "not estimated by the live twin" in q(By.ID, "cell-now").text
    assert "superheat" in q(By.ID, "cell-now").text
    _shot(driver, f"cell-{size}")

    # alarms: severity, plain language with the detector's text beneath, acknowledge and shelve
    driver.get(server.url + "/#/alarms")
    row = wait.until(lambda d: _text(d, '#alarm-rows tr[data-alarm="ae-1-005"]'))
    assert "HIGH" in row.upper()
    assert "Anode effect: the cell voltage has jumped" in row
    assert "anode effect, 32 V" in row
    assert not qs(By.CSS_SELECTOR, '#alarm-rows tr[data-alarm="sh-2-003"]')  # cleared: hidden by default
    q(By.ID, "alarm-cleared").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#alarm-rows tr[data-alarm="sh-2-003"]'))
    _shot(driver, f"alarms-{size}")

    # what-if page: the change picker offers the live current; a finished job is shown against its baseline
    driver.get(server.url + "/#/whatif")
    wait.until(lambda d: "live line current now" in d.find_element(By.ID, "wi-live").text)
    kinds = {e.get_attribute("value") for e in qs(By.CSS_SELECTOR, "#wi-kind option")}
    assert {"line_current", "curtailment", "outage", "alumina_shortfall", "feed_strategy"} <= kinds
    deadline = time.monotonic() + 30
    while not qs(By.CSS_SELECTOR, "#wi-compare table.compare"):
        assert time.monotonic() < deadline, q(By.ID, "wi-compare").text
        time.sleep(0.2)
    assert job["job_id"] in _text(driver, "#wi-compare")
    assert "metal produced (t)" in _text(driver, '#wi-compare tr[data-kpi="metal_t"]')
    bars = "return [...document.querySelectorAll('#wi-compare tr[data-kpi=metal_t] .bar')].map((e) => e.className)"
    assert sorted(driver.execute_script(bars)) == ["bar base", "bar scen"]
    _shot(driver, f"whatif-{size}")
    assert not _script_errors(driver)


def test_acknowledge_and_shelve_from_the_page(server: LiveServer, keys: Keys) -> None:
    """The buttons act through the API (shared by every operator): they survive a reload and show in its book."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _chrome(*SIZES["laptop"])
    try:
        wait = WebDriverWait(driver, 20)
        _login(driver, wait, server, keys.run)
        driver.get(server.url + "/#/alarms")
        wait.until(lambda d: "kept by the server" in d.find_element(By.ID, "alarm-where").text)
        sel = '#alarm-rows tr[data-alarm="ae-1-005"]'
        _click(wait, sel + ' button[data-do="ack"]')
        wait.until(lambda d: "acknowledged by key" in (_text(d, sel) or ""))
        _click(wait, sel + ' button[data-do="shelve"][data-h="1"]')
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, sel))
        assert driver.find_element(By.ID, "alarm-shelved-count").text == "1"
        book = httpx.get(server.url + "/v1/alarms/actions", headers={"X-API-Key": keys.read}).json()["actions"]
        assert set(book) == {"ae-1-005"}
        shelved_h = (
            datetime.fromisoformat(book["ae-1-005"]["shelved_until"]) - datetime.now(UTC)
        ).total_seconds() / 3600
        assert 0.9 < shelved_h <= 1.0
        driver.refresh()
        wait.until(lambda d: d.find_element(By.ID, "alarm-shelved-count").text == "1")
        assert not driver.find_elements(By.CSS_SELECTOR, sel)
        _click(wait, "details summary")
        _click(wait, '#alarm-shelved tr[data-alarm="ae-1-005"] button[data-do="unshelve"]')
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, sel))
        assert "acknowledged by key" in _text(driver, sel)
    finally:
        driver.quit()


def test_whatif_from_the_page(server: LiveServer, keys: Keys) -> None:
    """The operator picks a change in the page; the job it submits ends in a comparison with its baseline."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver = _chrome(*SIZES["laptop"])
    try:
        wait = WebDriverWait(driver, 20)
        _login(driver, wait, server, keys.run)
        driver.get(server.url + "/#/whatif")
        Select(wait.until(lambda d: d.find_element(By.ID, "wi-kind"))).select_by_value("curtailment")
        driver.find_element(By.CSS_SELECTOR, "#wi-form button[type=submit]").click()
        wait.until(lambda d: "submitted" in d.find_element(By.ID, "wi-msg").text)
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#wi-compare table.compare"))
        assert "curtailment" in driver.find_element(By.ID, "wi-job").text
        _shot(driver, "whatif-from-page-laptop")
    finally:
        driver.quit()


def test_api_docs_render_offline(server: LiveServer) -> None:
    """/docs and /redoc render with every host but loopback unreachable (an air-gapped plant)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _chrome(*SIZES["laptop"], offline=True)
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(server.url + "/docs")
        ops = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path") or None)
        paths = {e.get_attribute("data-path") for e in ops}
        assert {"/v1/power", "/v1/alarms", "/v1/dashboard"} <= paths
        _shot(driver, "docs-offline-laptop")
        driver.get(server.url + "/redoc")
        wait.until(lambda d: "Power balance" in d.find_element(By.TAG_NAME, "body").text)
        _shot(driver, "redoc-offline-laptop")
        icon = driver.execute_script("return document.querySelector('link[rel~=icon]').href")
        assert icon == server.url + "/static/favicon.svg"
    finally:
        driver.quit()
