"""What the dashboard needs beyond the live snapshot: fixed operating limits, demo speed, plant time zone."""

from __future__ import annotations

from fastapi import APIRouter, Request

from twin.api.deps import ReadKey
from twin.api.operating import describe
from twin.api.problems import responses
from twin.api.schemas_dashboard import DashboardInfo

router = APIRouter(prefix="/v1", tags=["plant"])


@router.get(
    "/dashboard",
    response_model=DashboardInfo,
    responses=responses(401, 403),
    summary="Fixed operating limits of the cell technology (units, sources), the demo speed and plant time zone",
)
def dashboard_info(request: Request, _: ReadKey) -> DashboardInfo:
    return DashboardInfo.model_validate(describe(request.app.state.plant_info))
