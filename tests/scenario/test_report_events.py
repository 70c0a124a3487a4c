"""`twin report` shades the scenario's own events, from the list a real `twin run` recorded (issue 11 item 2)."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import matplotlib.pyplot as plt
import pyarrow as pa
import pytest
from tests.scenario.conftest import run_text, small_scenario_text

from twin.scenario.event_log import scenario_events
from twin.scenario.report import render_report, report_windows, shade
from twin.scenario.results import Results
from twin.scenario.spec import scenario_from_text

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "scenarios" / "island_tie_trip.toml"  # a unit trip and a tie trip, 12 h
TWIN = [sys.executable, "-m", "twin.cli"]


def _twin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TWIN, *args], capture_output=True, text=True, timeout=300)


def _expected(path: Path) -> list[tuple[str, float, float, str]]:
    """The event windows read from the scenario file itself: [at_h, at_h + duration_h], target unit or plant."""
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        (e["kind"], float(e["at_h"]), float(e["at_h"]) + float(e["duration_h"]), str(e.get("unit", "plant")))
        for e in doc["event"]
    ]


@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("island")
    done = _twin("run", str(SHIPPED), "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_report_lists_and_shades_the_shipped_scenarios_events(shipped_run: Path) -> None:
    expected = _expected(SHIPPED)
    assert {k for k, *_ in expected} == {"unit_trip", "tie_trip"}
    done = _twin("report", str(shipped_run))
    assert done.returncode == 0, done.stderr
    doc = (shipped_run / "report.html").read_text(encoding="utf-8")
    table = re.search(r"<h2>Events</h2><table>(.*?)</table>", doc, re.S)
    assert table is not None, "no events table"
    rows = [
        [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(<td>.*?)</tr>", table.group(1))
    ]
    assert [(r[0], float(r[1]), float(r[2]), r[3]) for r in rows] == expected
    assert doc.count("data:image/png;base64,") == 8  # current, supply, cost, CO2, histogram, alumina, superheat, ledge
    windows, inferred = report_windows(Results.load(shipped_run))
    assert not inferred
    assert [(s, e) for s, e, _ in windows] == [(a, b) for _, a, b, _ in expected]
    assert [label.split(" ")[0] for *_, label in windows] == [k for k, *_ in expected]


def test_shade_draws_one_span_per_window_labelled_by_kind() -> None:
    fig, ax = plt.subplots()
    try:
        shade(ax, [(2.0, 10.0, "unit_trip G3"), (4.0, 5.0, "tie_trip"), (6.0, 6.0, "line_current all")])
        spans = [p.get_extents().transformed(ax.transData.inverted()) for p in ax.patches]
        assert [(round(b.x0, 6), round(b.x1, 6)) for b in spans] == [(2.0, 10.0), (4.0, 5.0)]
        assert [line.get_xdata()[0] for line in ax.lines] == [6.0]  # a step change is a line, not a span
        labels = ax.get_legend_handles_labels()[1]
        assert labels == ["unit_trip G3", "tie_trip", "line_current all"]
    finally:
        plt.close(fig)


def test_windows_of_each_kind_are_clipped_to_the_horizon(data_dir: Path) -> None:
    text = small_scenario_text(
        6.0,
        '[[event]]\nkind = "curtailment"\nat_h = 1.0\nduration_h = 2.0\npotline = "S1"\nfraction = 0.2\n'
        '[[event]]\nkind = "rectifier_trip"\nat_h = 5.0\nduration_h = 4.0\npotline = "S1"\nunits = 2\n'
        '[[event]]\nkind = "amperage_creep"\nat_h = 2.0\npotline = "all"\nrate_kA_per_week = 5.0\nuntil_h = 4.5\n'
        '[[event]]\nkind = "line_current"\nat_h = 3.0\npotline = "S1"\nvalue_kA = 290.0\n'
        '[[event]]\nkind = "outage"\nat_h = 6.0\nduration_h = 1.0\npotline = "S1"\n',
    )
    got = [(e["kind"], e["start_h"], e["end_h"], e["target"]) for e in
           scenario_events(scenario_from_text(text, "t.toml", base_dir=data_dir))]
    assert got == [  # in time order
        ("curtailment", 1.0, 3.0, "S1"),
        ("amperage_creep", 2.0, 4.5, "all"),
        ("line_current", 3.0, 3.0, "S1"),
        ("rectifier_trip", 5.0, 6.0, "S1"),  # 4 h asked, the run ends at 6 h
    ]  # the outage at 6 h starts as the run ends: it never ran


def test_a_run_records_its_events_and_old_results_fall_back_to_the_series() -> None:
    results = run_text(small_scenario_text(
        2.0, '[[event]]\nkind = "outage"\nat_h = 0.5\nduration_h = 0.5\npotline = "S1"\n'))
    assert results.meta["scenario_events"][0] | {"detail": ""} == {
        "kind": "outage", "start_h": 0.5, "end_h": 1.0, "target": "S1", "detail": ""}
    old = Results(results.scenario, results.seed, results.horizon_h, results.kpis, results.potline_kpis,
                  results.timeseries, pa.table({}), pa.table({}), {"plant": "small", "cells": 24})
    windows, inferred = report_windows(old)
    assert inferred
    assert [label for *_, label in windows] == ["S1 out"]
    assert windows[0][0] == pytest.approx(0.5, abs=0.1)
    assert "inferred from the series" in render_report(old)
