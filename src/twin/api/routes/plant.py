"""The plant now: power balance, per-cell values for heat-maps, alarms and assets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from twin.api import views
from twin.api.caching import LIVE_CACHE
from twin.api.deps import ReadKey, SnapshotDep
from twin.api.problems import responses
from twin.api.schemas import Alarms, Asset, Assets, CellValues, PowerBalance
from twin.api.snapshots import cached_view

router = APIRouter(prefix="/v1", tags=["plant"])


@router.get(
    "/power",
    response_model=PowerBalance,
    responses=responses(401, 403),
    summary="Power balance: captive units, grid and potlines (MW)",
)
async def power(request: Request, _: ReadKey, snap: SnapshotDep) -> Response:
    return cached_view(request, snap, "power", views.power, LIVE_CACHE)


@router.get(
    "/potlines/{potline}/cells",
    response_model=CellValues,
    responses=responses(401, 403, 404),
    summary="Latest values of every cell of a potline (voltage, alumina, superheat, anode effect …)",
)
async def cells(
    request: Request, potline: Annotated[str, Path(pattern=r"^\d{1,3}$")], _: ReadKey, snap: SnapshotDep
) -> Response:
    return cached_view(request, snap, ("cells", potline), lambda s: views.cells(s, potline), LIVE_CACHE)


@router.get("/alarms", response_model=Alarms, responses=responses(401, 403), summary="Alarms with state and reason")
async def alarms(
    request: Request,
    _: ReadKey,
    snap: SnapshotDep,
    state: Annotated[Literal["active", "acknowledged", "cleared"] | None, Query()] = None,
    asset: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    return cached_view(
        request, snap, ("alarms", state, asset), lambda s: {"alarms": views.alarms(s, state, asset)}, LIVE_CACHE
    )


@router.get(
    "/assets",
    response_model=Assets,
    responses=responses(401, 403),
    summary="Potlines, cells, rectifier units, power units and the grid tie with stable identifiers",
)
async def assets(
    request: Request,
    _: ReadKey,
    snap: SnapshotDep,
    kind: Annotated[Literal["potline", "cell", "rectifier", "unit", "grid"] | None, Query()] = None,
) -> Response:
    return cached_view(request, snap, ("assets", kind), lambda s: {"assets": views.assets(s, kind)}, LIVE_CACHE)


@router.get(
    "/assets/{asset_id}",
    response_model=Asset,
    responses=responses(401, 403, 404),
    summary="Resolve an asset identifier (e.g. cell:1-017) to its metadata",
)
async def asset(
    request: Request, asset_id: Annotated[str, Path(max_length=100)], _: ReadKey, snap: SnapshotDep
) -> Response:
    return cached_view(request, snap, ("asset", asset_id), lambda s: views.asset(s, asset_id), LIVE_CACHE)
