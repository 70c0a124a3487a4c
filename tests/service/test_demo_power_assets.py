"""`twin demo` as a user runs it lists the plant file's power side as assets that resolve (issue 11 items 4, 5).

The demo dispatches ``models/plant_small.toml`` for the measured load (twin.service.power_view). Expected
assets and attributes are read from that file with tomllib; the units' live values are checked against
/v1/power of the same running service and against the file's capacity.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from tests.service.test_demo import _free_port, _get, _wait

TWIN = [sys.executable, "-m", "twin.cli"]
PLANT = Path(__file__).resolve().parents[2] / "models" / "plant_small.toml"


@pytest.mark.slow
def test_demo_lists_units_tie_and_rectifiers_with_identifiers(tmp_path: Path) -> None:
    doc = tomllib.loads(PLANT.read_text(encoding="utf-8"))
    port = _free_port()
    proc = subprocess.Popen([*TWIN, "demo", "--port", str(port), "--pots", "2", "--speed", "60", "--for", "120",
                             "--store", f"duckdb:///{tmp_path / 'd.duckdb'}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: _get(base + "/v1/health")[0] == 200, 60)

        def unit_live() -> bool:
            status, body = _get(base + "/v1/assets/unit:G1")
            return status == 200 and json.loads(body).get("live") is not None

        assert _wait(unit_live, 90)
        assets = {a["id"]: a for a in json.loads(_get(base + "/v1/assets")[1])["assets"]}
        line = doc["potline"][0]
        rectifiers = {f"rectifier:1-R{k}" for k in range(1, line["rectifier_units"]["value"] + 1)}
        units = {f"unit:{u['name']}" for u in doc["coal_unit"]}
        assert units | {"grid:tie"} | rectifiers <= set(assets)
        assert "unit:renewables" not in assets  # the small plant has none (capacity 0)
        for unit in doc["coal_unit"]:
            got = assets[f"unit:{unit['name']}"]
            attributes = {k: v["value"] for k, v in got["metadata"]["attributes"].items()}
            assert attributes == {k: v["value"] for k, v in unit.items() if k != "name"}
            power = got["live"]["power_MW"]
            assert power["unit"] == "MW"
            assert power["source"] == "dispatch model"
            assert datetime.fromisoformat(power["time"]).tzinfo is not None
            assert 0 < power["value"] <= unit["capacity_MW"]["value"]
        assert assets["grid:tie"]["metadata"]["attributes"]["import_max_MW"]["value"] == \
            doc["grid"]["import_max_MW"]["value"]
        for rid in rectifiers:
            assert assets[rid]["parent"] == "potline:1"
            assert assets[rid]["live"] is None
            assert assets[rid]["live_reason"]
        ids = json.loads(_get(base + "/v1/id")[1])
        for local in [*units, "grid:tie", *rectifiers]:
            assert f"{ids['prefix']}/{local}" in ids["identifiers"]
            status, body = _get(f"{base}/v1/id/{ids['prefix']}/{local}")
            assert status == 200, body
        power = json.loads(_get(base + "/v1/power")[1])
        assert set(power["units_MW"]) == {u["name"] for u in doc["coal_unit"]}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
