"""``twin report``: a self-contained HTML report of a run, with plots and KPIs against a baseline.

Plots (matplotlib, Agg backend, embedded as PNG): line current and power; the power supply (captive units,
renewables, grid import and export) and the cost rate of grid imports; cell-voltage distribution at the end
of the run; alumina, superheat and ledge over time. Every time plot shades the window of each of the
scenario's own events, labelled by kind, from the list the run recorded (``meta["scenario_events"]``,
:mod:`twin.scenario.event_log`); a step change (line current, feed strategy, resistance target) is a
dotted vertical line. The report lists the events in a table. Results written before runs recorded their
events have only the series: then the windows are inferred from them (:func:`event_windows`: a potline
out, line current under 1 kA; a supply shortfall, shortfall over 0.1 MW) and the report says so.
With a baseline every time plot draws the baseline's curves too (dashed, same colour) and the KPI table
gives deltas, compared as :func:`twin.scenario.compare.compare_runs` allows (same plant; same horizon, or
per day when asked).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from twin.scenario.compare import compare_runs
from twin.scenario.results import Results

Columns = dict[str, list[float]]
Window = tuple[float, float, str]  # start h, end h, label (the label starts with the event's kind)
# One colour per scenario event kind (twin.scenario.spec.EVENT_FIELDS); an unknown kind is grey.
KIND_COLOURS = {
    "outage": "tab:red",
    "curtailment": "tab:orange",
    "unit_trip": "tab:purple",
    "rectifier_trip": "tab:brown",
    "tie_trip": "tab:pink",
    "reserve_call": "tab:olive",
    "frequency_response": "tab:cyan",
    "alumina_shortfall": "gold",
    "alumina_quality": "khaki",
    "cell_cut_out": "tab:gray",
    "amperage_creep": "tab:green",
    "schedule": "tab:blue",
    "line_current": "black",
    "feed_strategy": "black",
    "resistance_target": "black",
}
# Timeseries columns ending in _MW that are not power units.
_NOT_UNITS = frozenset({"demand", "auxiliary", "renewables", "import", "export", "shortfall", "excess"})


def render_report(results: Results, baseline: Results | None = None, *, per_day: bool = False) -> str:
    """The report as one HTML document (no external resources).

    Raises :class:`twin.errors.ScenarioError` when ``baseline`` is another plant, or ran another horizon
    and ``per_day`` is not set.
    """
    label = ""
    deltas = []
    if baseline is not None:
        deltas, label = compare_runs(baseline, results, per_day_totals=per_day)
    ts = results.timeseries.to_pydict()
    base = baseline.timeseries.to_pydict() if baseline is not None else {}
    lines = sorted({c.split("_current_kA")[0] for c in ts if c.endswith("_current_kA")})
    units = sorted(
        c
        for c in ts
        if c.endswith("_MW") and c[:-3] not in _NOT_UNITS and not any(c.startswith(f"{n}_") for n in lines)
    )
    supply = {f"{u[:-3]} (MW)": u for u in units} | {
        "renewables (MW)": "renewables_MW",
        "grid import (MW)": "import_MW",
        "grid export (MW)": "export_MW",
        "plant demand (MW)": "demand_MW",
    }
    windows, inferred = report_windows(results)
    figures = [
        _plot(
            ts,
            base,
            {f"{n} current (kA)": f"{n}_current_kA" for n in lines} | {"plant demand (MW)": "demand_MW"},
            "Line current and power",
            windows,
        ),
        _plot(ts, base, supply, "Power supply", windows),
        _cost_plot(ts, base, windows),
        *filter(None, [_co2_plot(ts, base, windows)]),
        _histogram(results),
        _plot(ts, base, {f"{n} alumina (wt%)": f"{n}_alumina_mean_wtpct" for n in lines}, "Dissolved alumina", windows),
        _plot(
            ts,
            base,
            {f"{n} superheat mean (K)": f"{n}_superheat_mean_K" for n in lines}
            | {f"{n} superheat min (K)": f"{n}_superheat_min_K" for n in lines},
            "Superheat",
            windows,
        ),
        _plot(ts, base, {f"{n} ledge (cm)": f"{n}_ledge_mean_cm" for n in lines}, "Side ledge", windows),
    ]
    rows = []
    if baseline is not None:
        for d in deltas:
            pct = "" if d.delta_pct is None else f"{d.delta_pct:+.2f} %"
            rows.append(
                f"<tr><td>{html.escape(d.name)}</td><td>{d.a:.4g}</td><td>{d.b:.4g}</td>"
                f"<td>{d.delta:+.4g}</td><td>{pct}</td></tr>"
            )
        head = (
            f"<tr><th>KPI</th><th>{html.escape(baseline.scenario)}</th><th>{html.escape(results.scenario)}</th>"
            "<th>Δ</th><th>Δ %</th></tr>"
        )
    else:
        rows = [f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td></tr>" for k, v in results.kpis.items()]
        head = "<tr><th>KPI</th><th>value</th></tr>"
    events = _events_table(results, inferred)
    images = "\n".join(f'<img alt="{html.escape(t)}" src="data:image/png;base64,{b}">' for t, b in figures)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Smelter Twin report: {html.escape(results.scenario)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}td:first-child{{text-align:left}}img{{max-width:48%;margin:4px}}</style></head>
<body><h1>Scenario {html.escape(results.scenario)}</h1>
<p>seed {results.seed}, horizon {results.horizon_h:g} h{", baseline " + html.escape(baseline.scenario) + " (dashed in the plots); KPIs compared " + html.escape(label) if baseline else ""}</p>
<h2>KPIs</h2><table>{head}{"".join(rows)}</table>{events}<h2>Plots</h2>{images}</body></html>"""


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def report_windows(results: Results) -> tuple[list[Window], bool]:
    """The windows the report shades and whether they were inferred from the series: the scenario's own
    events as the run recorded them, labelled ``"<kind> <target>"``, or, for results without that record,
    :func:`event_windows`."""
    recorded = results.meta.get("scenario_events")
    if not isinstance(recorded, list):
        return event_windows(results.timeseries.to_pydict()), True
    return [_window(e) for e in recorded if isinstance(e, Mapping)], False


def _window(event: Mapping[str, Any]) -> Window:
    target = str(event.get("target", ""))
    label = str(event["kind"]) + ("" if target in ("", "plant") else f" {target}")
    return float(event["start_h"]), float(event["end_h"]), label


def _events_table(results: Results, inferred: bool) -> str:
    if inferred:
        return ("<h2>Events</h2><p>These results do not record the scenario's events (written by an older "
                "version); the shaded windows are inferred from the series: a potline out (current under "
                "1 kA) or a supply shortfall.</p>")
    recorded = [e for e in results.meta.get("scenario_events", []) if isinstance(e, Mapping)]
    if not recorded:
        return "<h2>Events</h2><p>The scenario has no events.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(str(e['kind']))}</td><td>{float(e['start_h']):g}</td><td>{float(e['end_h']):g}</td>"
        f"<td>{html.escape(str(e.get('target', '')))}</td><td>{html.escape(str(e.get('detail', '')))}</td></tr>"
        for e in recorded
    )
    return ("<h2>Events</h2><table><tr><th>kind</th><th>start (h)</th><th>end (h)</th><th>target</th>"
            f"<th>settings</th></tr>{rows}</table>")


def shade(ax: Any, windows: Sequence[Window]) -> None:
    """Shade each window on ``ax`` in its kind's colour (a step change: a dotted vertical line), one legend
    entry per label."""
    shaded: set[str] = set()
    for start, end, label in windows:
        kind = label.split(" ", 1)[0]
        colour = KIND_COLOURS.get(kind, "tab:red" if label.endswith(" out") else "tab:gray")
        legend = None if label in shaded else label
        if end > start:
            ax.axvspan(start, end, color=colour, alpha=0.15, label=legend)
        else:
            ax.axvline(start, color=colour, linestyle=":", alpha=0.8, label=legend)
        shaded.add(label)


def event_windows(ts: Columns, *, off_kA: float = 1.0, short_MW: float = 0.1) -> list[tuple[float, float, str]]:
    """(start h, end h, label) of the spans where a potline is out (line current under ``off_kA``) or the
    supply falls short (``shortfall_MW`` over ``short_MW``), from the run's recorded series. Each sample
    stands for the interval that ends at its time, so a span starts at the previous sample's time."""
    times = ts.get("time_h", [])
    masks = {
        f"{c.removesuffix('_current_kA')} out": [v < off_kA for v in ts[c]] for c in ts if c.endswith("_current_kA")
    }
    if "shortfall_MW" in ts:
        masks["supply shortfall"] = [v > short_MW for v in ts["shortfall_MW"]]
    windows = []
    for label, mask in masks.items():
        start = None
        for i, on in enumerate(mask):
            if on and start is None:
                start = times[i - 1] if i > 0 else 0.0
            if not on and start is not None:
                windows.append((start, times[i - 1], label))
                start = None
        if start is not None:
            windows.append((start, times[-1], label))
    return windows


def _plot(
    ts: Columns, base: Columns, series: dict[str, str], title: str, windows: Sequence[Window] = ()
) -> tuple[str, str]:
    """Each labelled column of ``ts`` against time; the baseline's same column dashed in the same colour;
    ``windows`` shaded."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    shade(ax, windows)
    for label, col in series.items():
        if col not in ts:
            continue
        (line,) = ax.plot(ts["time_h"], ts[col], label=label)
        if col in base:
            ax.plot(base["time_h"], base[col], linestyle="--", color=line.get_color(), alpha=0.7)
    ax.set_title(title + (" (dashed: baseline)" if base else ""))
    ax.set_xlabel("h")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return title, _png(fig)


def _cost_plot(ts: Columns, base: Columns, windows: Sequence[Window]) -> tuple[str, str]:
    """Cost of the supply side per hour (fuel + imports − export revenue), run and baseline; results written
    before that column existed fall back to the grid import cost (import MW × tariff per MWh)."""
    if "power_cost_per_h" in ts:
        return _plot(ts, base, {"power cost (per h)": "power_cost_per_h"}, "Power cost rate", windows)

    def rate(cols: Columns) -> Sequence[float]:
        return [m * p for m, p in zip(cols["import_MW"], cols["tariff_per_MWh"], strict=True)]

    have = {"import_MW", "tariff_per_MWh"}
    rated = {"import_cost_per_h": rate(ts)} if have <= ts.keys() else {}
    base_rated = {"import_cost_per_h": rate(base)} | {"time_h": base["time_h"]} if have <= base.keys() else {}
    series = {"grid import cost (per h)": "import_cost_per_h"}
    return _plot(ts | rated, base_rated, series, "Grid import cost rate", windows)


def _co2_plot(ts: Columns, base: Columns, windows: Sequence[Window]) -> tuple[str, str] | None:
    """CO2 of the supply side per hour (coal units + imported electricity), run and baseline."""
    if "power_co2_t_per_h" not in ts:
        return None
    return _plot(ts, base, {"power CO2 (t/h)": "power_co2_t_per_h"}, "Power-side CO2 rate", windows)


def _histogram(results: Results) -> tuple[str, str]:
    cells = results.cells.to_pydict()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if cells:
        last = max(cells["time_h"])
        volts = [v for v, t in zip(cells["voltage_V"], cells["time_h"], strict=True) if t == last]
        ax.hist(volts, bins=40)
        ax.set_title(f"Cell voltage distribution at {last:g} h")
    ax.set_xlabel("V")
    return "Cell voltage distribution", _png(fig)
