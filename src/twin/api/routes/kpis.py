"""Plant, potline and cell KPIs: now (from the live provider) and over a range (from the store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import StringConstraints

from twin.api import views
from twin.api.deps import MAX_ROWS, RangeDep, ReadKey, SettingsDep, SnapshotDep, StoreDep
from twin.api.problems import Problem, responses
from twin.api.schemas import KpiHistory, KpiSnapshot, KpiSnapshotAll
from twin.api.snapshots import cached_view
from twin.store.validate import TAG_RE

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])
KpiName = Annotated[str, StringConstraints(pattern=TAG_RE.pattern)]  # as the store checks them
ScopePath = Annotated[
    str,
    Path(
        pattern=r"^(plant|potline:\d{1,3}|cell:\d{1,3}-\d{1,4}|unit:[\w\-]{1,32})$",
        examples=["plant", "potline:1", "cell:1-017"],
    ),
]


@router.get(
    "",
    response_model=KpiSnapshotAll,
    responses=responses(401, 403),
    summary="All KPI scopes now (ETag; 304 on If-None-Match)",
)
async def snapshot(request: Request, _: ReadKey, snap: SnapshotDep, settings: SettingsDep) -> Response:
    return cached_view(request, snap, "kpis", views.kpis_all, f"private, max-age={settings.kpi_max_age_s}")


@router.get("/{scope}", response_model=KpiSnapshot, responses=responses(401, 403, 404), summary="One scope's KPIs now")
async def scope_now(
    request: Request, scope: ScopePath, _: ReadKey, snap: SnapshotDep, settings: SettingsDep
) -> Response:
    return cached_view(
        request, snap, ("kpis", scope), lambda s: views.kpis_one(s, scope), f"private, max-age={settings.kpi_max_age_s}"
    )


# Unit tokens of KPI names (design.md naming: the unit is the name's suffix), in the order they are tried.
_UNIT_TOKENS = {
    "kA": "kA", "V": "V", "MW": "MW", "kW": "kW", "MWh": "MWh", "kWh": "kWh", "t": "t", "kg": "kg",
    "degC": "°C", "K": "K", "cm": "cm", "pct": "%", "wtpct": "wt%", "h": "h", "min": "min", "s": "s",
    "uohm": "µΩ", "ohm": "Ω",
}  # fmt: skip
_COUNTS = frozenset({"effects", "actions", "taps", "changes", "events", "alarms"})
_PER = {"day": "d", "cell": "cell", "hour": "h", "h": "h", "t": "t", "kg": "kg", "al": "Al"}


def kpi_unit(name: str) -> str:
    """The unit a KPI name carries as its suffix (design.md naming): ``line_current_kA`` → kA,
    ``specific_energy_kWh_per_t`` → kWh/t, ``anode_effects_per_day`` → 1/d, ``co2e_t_per_t_al`` → t/t Al;
    "" when the name carries none (a ratio, or a cost whose currency the plant file sets)."""
    parts = name.split("_")
    if "per" in parts[1:]:
        i = parts.index("per", 1)
        denominator = " ".join(_PER.get(p, p) for p in parts[i + 1 :])
        numerator = parts[i - 1]
        if numerator in _UNIT_TOKENS:
            return f"{_UNIT_TOKENS[numerator]}/{denominator}"
        return f"1/{denominator}" if numerator in _COUNTS else ""
    return _UNIT_TOKENS.get(parts[-1], "") if len(parts) > 1 else ""


def bounded_points(max_points: int | None, span_s: float, names: int, max_buckets: int) -> int | None:
    """The buckets per KPI name of a history answer, so that it holds at most ``MAX_ROWS`` rows in all.

    Each name may have ``min(max_buckets, MAX_ROWS // names)`` rows. Without ``max_points`` a range longer
    than that many seconds is averaged into that many buckets (KPIs are recorded at most once a second), a
    shorter one is raw (None); a ``max_points`` above it is refused with a 400 naming both limits.
    """
    per_name = max(1, min(max_buckets, MAX_ROWS // max(names, 1)))
    if max_points is None:
        return per_name if span_s > per_name else None
    if max_points > per_name:
        raise Problem(
            400,
            "Bad request",
            f"max_points = {max_points} is invalid for {names} KPI names; expected at most max_buckets = "
            f"{max_buckets} per name and {MAX_ROWS} rows in all (max_points × names), here {per_name}",
        )
    return max_points


@router.get(
    "/{scope}/history",
    response_model=KpiHistory,
    responses=responses(400, 401, 403, 404),
    summary="One scope's KPI history as rows of {time, value, quality} with units; averaged into buckets on request",
)
def history(
    _: ReadKey,
    scope: ScopePath,
    rng: RangeDep,
    store: StoreDep,
    settings: SettingsDep,
    snap: SnapshotDep,
    names: Annotated[list[KpiName] | None, Query(max_length=100, description="KPI names; default all")] = None,
    max_points: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> KpiHistory:
    live = snap.get("kpis", {}).get(scope) if isinstance(snap.get("kpis"), dict) else None
    known = set(store.kpi_latest(scope).get(scope, {})) | set(live if isinstance(live, dict) else ())
    unknown: list[str] = sorted(set(names or ()) - known)
    if names and len(unknown) == len(set(names)):  # nothing asked for exists: say what does
        valid = sorted(known)
        listed = ", ".join(valid[:60]) + (f" … ({len(valid)} in all)" if len(valid) > 60 else "")
        raise Problem(
            404,
            "Not found",
            f"names = {unknown[0]!r} is not a KPI of {scope}; valid: {listed or 'none recorded yet'}",
        )
    if not known:
        raise Problem(
            404, "Not found", f"scope = {scope!r} is unknown (no live or recorded KPIs); list scopes with GET /v1/kpis"
        )
    answered = len(set(names) - set(unknown)) if names else len(known)
    max_points = bounded_points(max_points, (rng.end - rng.start).total_seconds(), answered, settings.max_buckets)
    hist = store.kpi_history(scope, rng.start, rng.end, names, max_points=max_points)
    series = {}
    rows = {}
    for n, (ts, val) in hist.items():
        times = views.iso(ts)
        series[n] = {"ts": times, "value": val.tolist()}
        rows[n] = [{"time": t, "value": x, "quality": "good"} for t, x in zip(times, series[n]["value"], strict=True)]
    units = {n: kpi_unit(n) for n in (names or sorted(known)) if n not in unknown}
    return KpiHistory.model_validate(
        {
            "scope": scope,
            "start": rng.start,
            "end": rng.end,
            "max_points": max_points,
            "units": units,
            "unknown": unknown,
            "rows": rows,
            "series": series,
        }
    )
