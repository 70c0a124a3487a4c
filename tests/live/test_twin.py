"""LiveTwin as a telemetry sink and live provider: routing, clock, stale and late data, snapshot format."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from tests.live.conftest import GROUP, run_plant

from twin.api import schemas, views
from twin.errors import TelemetryError
from twin.live import LiveConfig, LiveTwin, PlantSource, drive
from twin.params import Technology
from twin.telemetry import Quality, Sample


def _sample(ts_ms: int, metric: str, value: float | bool, *, device: str | None = "pot_001", group: str = GROUP,
            quality: Quality = Quality.GOOD) -> Sample:
    return Sample(ts_ms, group, "gw01", device, metric, value, quality, False)


@pytest.fixture(scope="module")
def healthy(tech: Technology) -> LiveTwin:
    return run_plant(tech, n_cells=3, hours=0.5, seed=9).twin


def test_snapshot_is_json_and_what_the_api_reads(healthy: LiveTwin) -> None:
    snap = healthy.snapshot()
    json.dumps(snap, allow_nan=False)  # plain JSON: no numpy, no NaN, no datetime
    assert datetime.fromisoformat(snap["as_of"]).tzinfo is not None
    assert sorted(snap["cells"]) == ["1-001", "1-002", "1-003"]
    cell = snap["cells"]["1-002"]
    for key in ("voltage_V", "voltage_model_V", "alumina_wtpct", "alumina_std_wtpct", "acd_cm", "acd_std_cm",
                "temperature_degC", "temperature_std_degC", "superheat_K", "superheat_degC", "feed_efficiency",
                "anode_effect", "stale", "nis"):
        assert key in cell, key
    assert abs(cell["voltage_model_V"] - cell["voltage_V"]) < 0.1
    assert 1.5 < cell["alumina_wtpct"] < 4.5
    assert cell["anode_effect"] is False
    assert snap["kpis"]["potline:1"]["line_current_kA"] == pytest.approx(300.0, abs=0.5)
    assert snap["power"]["potlines"]["1"] == pytest.approx(3 * 300 * 4.2 / 1000, rel=0.05)
    # the API's own views and schemas accept it
    assert views.cells(snap, "1")["cells"]["1-001"]["alumina_wtpct"] == cell_value(snap, "1-001", "alumina_wtpct")
    assert {a["id"] for a in views.assets(snap, "cell")} == {"cell:1-001", "cell:1-002", "cell:1-003"}
    assert "cell:1-003" in views.kpis_all(snap)["scopes"]


def cell_value(snap: dict, cell: str, key: str) -> float:
    return snap["cells"][cell][key]


def test_alarm_records_follow_the_api_schema(tech: Technology) -> None:
    src = PlantSource(tech, 2, seed=3)
    twin = LiveTwin(tech, {GROUP: 2})
    drive(src, twin, until_s=600, on_step=lambda t: src.sensor_fault(0, "stuck") if t == 60 else None)
    alarms = twin.snapshot()["alarms"]
    assert [a["kind"] for a in alarms] == ["sensor_stuck"]
    schemas.Alarm.model_validate(alarms[0])
    assert alarms[0]["asset"] == "cell:1-001"
    assert alarms[0]["state"] == "active"
    assert views.alarms(twin.snapshot(), "active", "cell:1-001") == alarms


def test_unknown_names_are_counted_not_applied(tech: Technology) -> None:
    twin = LiveTwin(tech, {GROUP: 2})
    twin.accept([
        _sample(1000, "cell_voltage_V", 4.2, group="potline9"),
        _sample(1000, "cell_voltage_V", 4.2, device="pot_003"),
        _sample(1000, "cell_voltage_V", 4.2, device=None),
        _sample(1000, "cell_voltage_V", 4.2, device="rectifier"),
        _sample(1000, "colour", 4.2),
        _sample(1000, "cell_voltage_V", "high"),  # type: ignore[arg-type]
        _sample(1000, "cell_voltage_V", 4.2),
    ])
    assert twin.counters["ignored"] == 6
    assert twin.counters["accepted"] == 1


def test_stale_marks_the_cell_until_good_data_returns(tech: Technology) -> None:
    twin = LiveTwin(tech, {GROUP: 2})
    ts = 0
    for k in range(1, 5):
        ts = k * 10_000
        twin.accept([_sample(ts, "line_current_kA", 300.0), _sample(ts, "cell_voltage_V", 4.2 + k * 1e-3)])
    twin.accept([_sample(ts + 1, "cell_voltage_V", None, quality=Quality.STALE)])  # type: ignore[arg-type]
    twin.accept([_sample(ts + 60_000, "line_current_kA", 300.0)])
    assert twin.snapshot()["cells"]["1-001"]["stale"] is True
    assert twin.snapshot()["kpis"]["potline:1"]["cells_stale"] == 1.0
    twin.accept([_sample(ts + 120_000, "cell_voltage_V", 4.21), _sample(ts + 120_000, "line_current_kA", 300.0)])
    assert twin.snapshot()["cells"]["1-001"]["stale"] is False


def test_late_samples_update_latest_values_but_are_not_assimilated(tech: Technology) -> None:
    twin = LiveTwin(tech, {GROUP: 1})
    for k in range(1, 20):
        twin.accept([_sample(k * 5_000, "line_current_kA", 300.0), _sample(k * 5_000, "cell_voltage_V", 4.2)])
    tracker = twin.tracker(GROUP)
    late_before = tracker.late
    twin.accept([_sample(1_000, "cell_voltage_V", 4.3)])
    assert tracker.late == late_before + 1


def test_speed_and_epoch_map_wall_time_to_plant_time(tech: Technology) -> None:
    twin = LiveTwin(tech, {GROUP: 1}, epoch_ms=1_700_000_000_000, speed=60.0)
    assert twin.model_time(1_700_000_001_000) == pytest.approx(60.0)
    assert twin.model_to_utc(60.0).timestamp() == pytest.approx(1_700_000_001.0)


def test_tick_runs_the_model_without_samples(tech: Technology) -> None:
    twin = LiveTwin(tech, {GROUP: 1})
    twin.accept([_sample(1_000, "line_current_kA", 300.0), _sample(1_000, "cell_voltage_V", 4.2)])
    before = twin.counters["windows"]
    twin.tick(now_ms=600_000)
    assert twin.counters["windows"] >= before + 18
    assert twin.tracker(GROUP).enkf.time_s >= 540


def test_plc_counter_reset_does_not_remove_alumina(tech: Technology) -> None:
    """A PLC restart resets its counters to zero: the twin re-baselines instead of feeding negative shots."""

    def run(reset: bool) -> float:
        src = PlantSource(tech, 1, seed=11, warmup_s=2000)
        twin = LiveTwin(tech, {GROUP: 1}, LiveConfig(assimilate=False))
        offset = {"feed_count": 0.0}

        class Resetting:
            def accept(self, samples: list[Sample]) -> None:
                out = []
                for s in samples:
                    if reset and s.metric == "feed_count" and s.timestamp_ms >= 600_000:
                        if not offset["feed_count"]:
                            offset["feed_count"] = float(s.value)  # type: ignore[arg-type]
                        s = s._replace(value=float(s.value) - offset["feed_count"])  # type: ignore[arg-type]
                    out.append(s)
                twin.accept(out)

        drive(src, Resetting(), until_s=1200)
        return float(twin.estimates(GROUP)["alumina_wtpct"][0][0])

    assert run(True) == pytest.approx(run(False), abs=0.1)


def test_bad_configuration_is_refused(tech: Technology) -> None:
    with pytest.raises(TelemetryError, match="potlines"):
        LiveTwin(tech, {})
    for speed in (0, float("inf"), float("nan"), 1e9):  # inf passed `speed > 0` and made every model time inf
        with pytest.raises(TelemetryError, match="speed"):
            LiveTwin(tech, {GROUP: 1}, speed=speed)


def test_estimates_have_one_value_per_cell(healthy: LiveTwin) -> None:
    est = healthy.estimates(GROUP)
    mean, sd = est["acd_cm"]
    assert mean.shape == sd.shape == (3,)
    assert np.all(sd > 0)


def test_warm_up_compiles_the_window_kernels_and_leaves_the_twin_untouched() -> None:
    """``warm_up`` (called before telemetry starts) runs one window on a scratch line: the cell kernels are
    compiled or loaded afterwards, and the twin's own counters, cells and alarms are as they were. In a fresh
    process, so no other test has compiled the kernels before."""
    script = """
import json
from twin.cell import kernel
from twin.live import LiveTwin
from twin.params import load_technology
twin = LiveTwin(load_technology("models/hal275.toml"), {"potline1": 4})
compiled = lambda: len(kernel.advance.signatures) + len(kernel.advance_cells.signatures)
before = (compiled(), dict(twin.counters), twin.snapshot()["cells"], len(twin.alarms.all()))
twin.warm_up()
print(json.dumps([before, (compiled(), dict(twin.counters), twin.snapshot()["cells"], len(twin.alarms.all()))]))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=600,
                         cwd=Path(__file__).resolve().parents[2])
    before, after = json.loads(out.stdout)
    assert before[0] == 0
    assert after[0] > 0
    assert after[1:] == before[1:]
