"""GET /v1/advice: per-pot advice from the live twin with its forward check, and anode-effect risk (docs/api.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from twin.api.deps import ReadKey
from twin.api.problems import Problem, responses

router = APIRouter(prefix="/v1", tags=["plant"])


@router.get(
    "/advice",
    responses=responses(401, 403, 404),
    summary="Per-pot advice (AlF3, resistance target, feed) checked by a forward simulation, and AE risk",
)
async def advice(request: Request, _: ReadKey) -> dict[str, Any]:
    advisor = getattr(request.app.state, "advisor", None)
    if advisor is None:
        raise Problem(404, "Not found", "this service has no advisor: advice needs a live twin (app.state.advisor)")
    return await run_in_threadpool(advisor.report)
