"""Plant, potline and cell KPIs: now (from the live provider) and over a range (from the store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from twin.api import views
from twin.api.deps import RangeDep, ReadKey, SettingsDep, SnapshotDep, StoreDep
from twin.api.problems import responses
from twin.api.schemas import KpiHistory, KpiSnapshot, KpiSnapshotAll
from twin.api.snapshots import cached_view

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])
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


@router.get(
    "/{scope}/history",
    response_model=KpiHistory,
    responses=responses(400, 401, 403),
    summary="One scope's KPI history, optionally averaged into at most max_points buckets",
)
def history(
    scope: ScopePath,
    rng: RangeDep,
    _: ReadKey,
    store: StoreDep,
    names: Annotated[list[str] | None, Query(max_length=100, description="KPI names; default all")] = None,
    max_points: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> KpiHistory:
    hist = store.kpi_history(scope, rng.start, rng.end, names, max_points=max_points)
    series = {n: {"ts": views.iso(ts), "value": val.tolist()} for n, (ts, val) in hist.items()}
    return KpiHistory.model_validate(
        {"scope": scope, "start": rng.start, "end": rng.end, "max_points": max_points, "series": series}
    )
