"""``twin report``: a self-contained HTML report of a run, with plots and KPIs against a baseline.

Plots (matplotlib, Agg backend, embedded as PNG): line current and power; the power supply (captive units,
renewables, grid import and export) and the cost rate of grid imports; cell-voltage distribution at the end
of the run; alumina, superheat and ledge over time. Every time plot shades the run's event windows as the
recorded series show them (:func:`event_windows`: a potline out, line current under 1 kA; a supply
shortfall, shortfall over 0.1 MW). With a baseline every time plot draws the baseline's
curves too (dashed, same colour) and the KPI table gives deltas, compared as
:func:`twin.scenario.compare.compare_runs` allows (same plant; same horizon, or per day when asked).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from twin.scenario.compare import compare_runs
from twin.scenario.results import Results

Columns = dict[str, list[float]]
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
    windows = event_windows(ts)
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
    images = "\n".join(f'<img alt="{html.escape(t)}" src="data:image/png;base64,{b}">' for t, b in figures)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Smelter Twin report: {html.escape(results.scenario)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}td:first-child{{text-align:left}}img{{max-width:48%;margin:4px}}</style></head>
<body><h1>Scenario {html.escape(results.scenario)}</h1>
<p>seed {results.seed}, horizon {results.horizon_h:g} h{", baseline " + html.escape(baseline.scenario) + " (dashed in the plots); KPIs compared " + html.escape(label) if baseline else ""}</p>
<h2>KPIs</h2><table>{head}{"".join(rows)}</table><h2>Plots</h2>{images}</body></html>"""


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


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
    ts: Columns, base: Columns, series: dict[str, str], title: str, windows: Sequence[tuple[float, float, str]] = ()
) -> tuple[str, str]:
    """Each labelled column of ``ts`` against time; the baseline's same column dashed in the same colour;
    ``windows`` shaded."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    shaded: set[str] = set()
    for start, end, label in windows:
        ax.axvspan(
            start,
            end,
            color="tab:red" if "out" in label else "tab:orange",
            alpha=0.15,
            label=None if label in shaded else label,
        )
        shaded.add(label)
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


def _cost_plot(ts: Columns, base: Columns, windows: Sequence[tuple[float, float, str]]) -> tuple[str, str]:
    """Cost rate of grid imports (import MW × tariff per MWh = cost per hour), run and baseline."""

    def rate(cols: Columns) -> Sequence[float]:
        return [m * p for m, p in zip(cols["import_MW"], cols["tariff_per_MWh"], strict=True)]

    have = {"import_MW", "tariff_per_MWh"}
    rated = {"import_cost_per_h": rate(ts)} if have <= ts.keys() else {}
    base_rated = {"import_cost_per_h": rate(base)} | {"time_h": base["time_h"]} if have <= base.keys() else {}
    series = {"grid import cost (per h)": "import_cost_per_h"}
    return _plot(ts | rated, base_rated, series, "Grid import cost rate", windows)


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
