"""Historian reads in the style of the PI Web API's stream calls, for several tags in one request:
interpolated values at a fixed interval, plot values (min and max per pixel column) and summaries with
percent good. Every answer gives each tag's unit; interpolated values can also be had as CSV.

Semantics (after the PI Web API reference, Stream/StreamSet "GetInterpolated", "GetPlot", "GetSummary"):

- interpolated: at ``start + k·interval`` (k = 0, 1, … while before ``end``), the value on the straight line
  between the good samples either side, v(t) = v₀ + (v₁ − v₀)(t − t₀)/(t₁ − t₀); a time with no good sample
  on one side has no value (``null``, quality ``bad``).
- plot: the range cut into ``intervals`` columns (the store's epoch-aligned buckets, at most that many),
  each column's minimum and maximum of the good samples, so a line drawn through them shows every spike.
- summary: over the raw samples in ``[start, end)``, each sample held until the next one (or ``end``):
  ``percent_good`` = 100 × time held by good samples / time held by all samples; ``twa`` = Σ v·hold / Σ hold
  over the good samples; ``min``, ``max``, ``avg`` and ``count`` of the good samples.

Reads of raw samples fetch at most ``max_page`` samples per tag; a denser range is a 400 that says so.
"""

from __future__ import annotations

import csv
import difflib
import io
from datetime import timedelta
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Response
from pydantic import StringConstraints

from twin.api import views
from twin.api.deps import EARLIEST, LATEST, MAX_ROWS, RangeDep, ReadKey, SettingsDep, StoreDep
from twin.api.problems import Problem, responses
from twin.api.routes.kpis import kpi_unit
from twin.api.schemas import InterpolatedSet, PlotSet, SummarySet
from twin.api.settings import Settings
from twin.api.validators import finite_float
from twin.store import Store, UnknownKeyError
from twin.store.validate import TAG_RE

router = APIRouter(prefix="/v1/streams", tags=["series"])
TagName = Annotated[str, StringConstraints(pattern=TAG_RE.pattern)]
Tags = Annotated[list[TagName], Query(min_length=1, max_length=50, description="tags (repeat), at most 50")]
US = 1_000_000
IntervalS = finite_float(Query, gt=0, le=366 * 86400, description="seconds between values")


def all_tags(store: Store, snap: Any) -> list[dict[str, Any]]:
    """Every signal the twin has, as tags with unit, description, source and where to read it.

    ``stored``: telemetry in the store (``/v1/tags/{tag}/…``); ``kpi``: ``kpi:<scope>/<name>`` for each KPI
    recorded or live (history at ``/v1/kpis/<scope>/history``); ``live``: the live state's per-cell values
    (measurements and the twin's estimates, ``live:cell:<id>/<name>``) and the power balance of units,
    potlines (rectifier DC load) and the grid (``live:unit:<name>/power_MW`` …), read now from
    ``/v1/potlines/<n>/cells`` and ``/v1/power``.
    """
    out = [
        {"tag": t.tag, "unit": t.unit, "description": t.description, "source": "stored", "read": f"/v1/tags/{t.tag}"}
        for t in store.tags()
    ]
    kpi_names = {scope: set(names) for scope, names in store.kpi_latest().items()}
    live_kpis = snap.get("kpis") if isinstance(snap.get("kpis"), dict) else {}
    for scope, names in live_kpis.items():
        if isinstance(names, dict):
            kpi_names.setdefault(str(scope), set()).update(str(n) for n in names)
    out.extend(
        {
            "tag": f"kpi:{scope}/{name}",
            "unit": kpi_unit(name),
            "description": f"KPI {name} of {scope}",
            "source": "kpi",
            "read": f"/v1/kpis/{scope}/history?names={name}",
        }
        for scope in sorted(kpi_names)
        for name in sorted(kpi_names[scope])
    )
    cells = snap.get("cells") if isinstance(snap.get("cells"), dict) else {}
    out.extend(
        {
            "tag": f"live:cell:{cell}/{name}",
            "unit": kpi_unit(name),
            "description": f"{name} of cell {cell} now (measured or estimated by the live twin)",
            "source": "live",
            "read": f"/v1/potlines/{str(cell).split('-', 1)[0]}/cells",
        }
        for cell in sorted(cells)
        if isinstance(cells[cell], dict)
        for name in sorted(cells[cell])
    )
    power = views.power(snap)
    for kind, key in (("unit", "units_MW"), ("potline", "potlines_MW")):
        for name in sorted(power[key]):
            what = "generation of power unit" if kind == "unit" else "DC load (rectifiers) of potline"
            out.append(
                {
                    "tag": f"live:{kind}:{name}/power_MW",
                    "unit": "MW",
                    "description": f"{what} {name} now",
                    "source": "live",
                    "read": "/v1/power",
                }
            )
    out.append(
        {"tag": "live:plant/grid_MW", "unit": "MW", "description": "grid import (+) now", "source": "live",
         "read": "/v1/power"}
    )  # fmt: skip
    return out


def interpolate(t_us: np.ndarray, v: np.ndarray, good: np.ndarray, at_us: np.ndarray) -> np.ndarray:
    """Linear interpolation between the good samples either side of each time; NaN where a side is missing."""
    t, val = t_us[good], v[good]
    out = np.full(at_us.shape, np.nan)
    if len(t) == 0:
        return out
    inside = (at_us >= t[0]) & (at_us <= t[-1])
    out[inside] = np.interp(at_us[inside].astype(np.float64), t.astype(np.float64), val)
    return out


def summarise(t_us: np.ndarray, v: np.ndarray, good: np.ndarray, end_us: int) -> dict[str, Any]:
    """Count, min, max, avg, time-weighted average and percent good of samples held to the next (module doc)."""
    if len(t_us) == 0:
        return {"count": 0, "min": None, "max": None, "avg": None, "twa": None, "percent_good": None}
    hold = np.diff(np.append(t_us, end_us)).astype(np.float64)
    total = float(hold.sum())
    g = good
    n = int(g.sum())
    good_hold = float(hold[g].sum())
    return {
        "count": n,
        "min": float(v[g].min()) if n else None,
        "max": float(v[g].max()) if n else None,
        "avg": float(v[g].mean()) if n else None,
        "twa": float((v[g] * hold[g]).sum() / good_hold) if good_hold > 0 else None,
        "percent_good": 100.0 * good_hold / total if total > 0 else (100.0 * n / len(t_us)),
    }


def _unit(store: Store, tag: str) -> str:
    """The tag's unit; an unknown tag is a 404 naming it with the closest known tags."""
    try:
        return store.tag_info(tag).unit
    except UnknownKeyError:
        close = difflib.get_close_matches(tag, [t.tag for t in store.tags()], n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise Problem(404, "Not found", f"tags = {tag!r} is unknown{hint} (list tags with GET /v1/tags)") from None


def _raw(store: Store, settings: Settings, tag: str, lo: Any, hi: Any) -> tuple[np.ndarray, ...]:
    page = store.recorded(tag, lo, hi, limit=settings.max_page)
    if page.truncated:
        raise Problem(
            400,
            "Bad request",
            f"tags = {tag!r} has more than max_page = {settings.max_page} samples in the range; "
            "ask for a shorter range, or use /v1/streams/plot",
        )
    t_us = page.ts.astype("datetime64[us]").astype(np.int64)
    good = np.array([q == "good" for q in page.quality], dtype=bool) & np.isfinite(page.value)
    return t_us, page.value, good


@router.get(
    "/interpolated",
    response_model=InterpolatedSet,
    responses=responses(400, 401, 403, 404),
    summary="Values of several tags at a fixed interval, linearly interpolated (JSON rows, or CSV)",
)
def interpolated(
    _: ReadKey,
    tags: Tags,
    rng: RangeDep,
    store: StoreDep,
    settings: SettingsDep,
    interval_s: IntervalS,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    lo_us = int(rng.start.timestamp() * US)
    hi_us = int(rng.end.timestamp() * US)
    step = int(interval_s * US)
    if step < 1:
        raise Problem(400, "Bad request", f"interval_s = {interval_s} is invalid; expected at least 1e-6")
    count = -(-(hi_us - lo_us) // step)
    tags = list(dict.fromkeys(tags))
    if count > settings.max_buckets or count * len(tags) > MAX_ROWS:
        raise Problem(
            400,
            "Bad request",
            f"interval_s = {interval_s:g} is invalid for this range and {len(tags)} tags: it gives {count} values "
            f"per tag; expected at most max_buckets = {settings.max_buckets} per tag and {MAX_ROWS} in all",
        )
    at = lo_us + step * np.arange(count, dtype=np.int64)
    times = views.iso(at.astype("datetime64[us]"), "ms")
    margin = np.timedelta64(step, "us").astype(object)
    streams = []
    for tag in tags:
        unit = _unit(store, tag)
        lo, hi = max(rng.start - margin, EARLIEST), min(rng.end + margin, LATEST - timedelta(microseconds=1))
        t_us, v, good = _raw(store, settings, tag, lo, hi)
        vals = interpolate(t_us, v, good, at)
        rows = [
            {"time": t, "value": None if np.isnan(x) else float(x), "quality": "bad" if np.isnan(x) else "good"}
            for t, x in zip(times, vals.tolist(), strict=True)
        ]
        streams.append({"tag": tag, "unit": unit, "rows": rows})
    if format == "csv":
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow(["time", "tag", "value", "unit", "quality"])
        for s in streams:
            for r in s["rows"]:
                out.writerow(
                    [r["time"], s["tag"], "" if r["value"] is None else repr(r["value"]), s["unit"], r["quality"]]
                )
        return Response(
            buf.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="interpolated.csv"'},
        )
    return InterpolatedSet.model_validate(
        {"start": rng.start, "end": rng.end, "interval_s": interval_s, "streams": streams}
    )


@router.get(
    "/plot",
    response_model=PlotSet,
    responses=responses(400, 401, 403, 404),
    summary="Min and max of several tags per pixel column (at most `intervals` columns)",
)
def plot(
    _: ReadKey,
    tags: Tags,
    rng: RangeDep,
    store: StoreDep,
    settings: SettingsDep,
    intervals: Annotated[int, Query(ge=1, le=100_000, description="pixel columns, e.g. the chart's width")],
) -> PlotSet:
    tags = list(dict.fromkeys(tags))
    if intervals > settings.max_buckets or intervals * len(tags) > MAX_ROWS:
        raise Problem(
            400,
            "Bad request",
            f"intervals = {intervals} is invalid for {len(tags)} tags; expected at most max_buckets = "
            f"{settings.max_buckets} per tag and {MAX_ROWS} columns in all (intervals × tags)",
        )
    streams = []
    for tag in tags:
        unit = _unit(store, tag)
        res = store.aggregate(tag, rng.start, rng.end, max_points=intervals)
        cols = [
            {"time": t, "min": lo, "max": hi}
            for t, lo, hi in zip(views.iso(res.ts), res.min.tolist(), res.max.tolist(), strict=True)
        ]
        streams.append({"tag": tag, "unit": unit, "bucket_s": res.bucket.total_seconds(), "columns": cols})
    return PlotSet.model_validate({"start": rng.start, "end": rng.end, "streams": streams})


@router.get(
    "/summary",
    response_model=SummarySet,
    responses=responses(400, 401, 403, 404),
    summary="Count, min, max, avg, time-weighted average and percent good of several tags",
)
def summary(tags: Tags, rng: RangeDep, _: ReadKey, store: StoreDep, settings: SettingsDep) -> SummarySet:
    end_us = int(rng.end.timestamp() * US)
    streams = []
    for tag in dict.fromkeys(tags):
        unit = _unit(store, tag)
        t_us, v, good = _raw(store, settings, tag, rng.start, rng.end)
        streams.append({"tag": tag, "unit": unit, **summarise(t_us, v, good, end_us)})
    return SummarySet.model_validate({"start": rng.start, "end": rng.end, "streams": streams})
