"""``twin report``: a self-contained HTML report of a run, with plots and KPIs against a baseline.

Plots (matplotlib, Agg backend, embedded as PNG): line current and power; cell-voltage distribution at
the end of the run; alumina, superheat and ledge over time; the KPI table with deltas to the baseline.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from twin.scenario.compare import compare_kpis
from twin.scenario.results import Results


def render_report(results: Results, baseline: Results | None = None) -> str:
    """The report as one HTML document (no external resources)."""
    ts = results.timeseries.to_pydict()
    lines = sorted({c.split("_current_kA")[0] for c in ts if c.endswith("_current_kA")})
    figures = [
        _plot(
            ts["time_h"],
            {f"{n} current (kA)": ts[f"{n}_current_kA"] for n in lines} | {"plant demand (MW)": ts["demand_MW"]},
            "Line current and power",
            "h",
        ),
        _histogram(results),
        _plot(
            ts["time_h"], {f"{n} alumina (wt%)": ts[f"{n}_alumina_mean_wtpct"] for n in lines}, "Dissolved alumina", "h"
        ),
        _plot(
            ts["time_h"],
            {f"{n} superheat mean (K)": ts[f"{n}_superheat_mean_K"] for n in lines}
            | {f"{n} superheat min (K)": ts[f"{n}_superheat_min_K"] for n in lines},
            "Superheat",
            "h",
        ),
        _plot(ts["time_h"], {f"{n} ledge (cm)": ts[f"{n}_ledge_mean_cm"] for n in lines}, "Side ledge", "h"),
    ]
    rows = []
    if baseline is not None:
        for d in compare_kpis(baseline.kpis, results.kpis):
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
<p>seed {results.seed}, horizon {results.horizon_h:g} h{", baseline " + html.escape(baseline.scenario) if baseline else ""}</p>
<h2>KPIs</h2><table>{head}{"".join(rows)}</table><h2>Plots</h2>{images}</body></html>"""


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plot(x: Sequence[float], series: dict[str, Sequence[float]], title: str, xlabel: str) -> tuple[str, str]:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label, y in series.items():
        ax.plot(x, y, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return title, _png(fig)


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
