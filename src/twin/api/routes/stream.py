"""Server-sent events: the KPI snapshot, sent when it changes (FastAPI native SSE, iiot.md §4.9).

Every client gets the view ``/v1/kpis`` serves, rendered once per snapshot (:mod:`twin.api.snapshots`):
a client that finds no change costs an identity check and a string compare per interval."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from twin.api import views
from twin.api.deps import ReadKey, SettingsDep, get_snapshot
from twin.api.problems import responses

router = APIRouter(prefix="/v1/stream", tags=["stream"])


@router.get(
    "/kpis",
    response_class=EventSourceResponse,
    responses=responses(401, 403),
    summary="KPI snapshot events (event: kpis) whenever the snapshot changes",
)
async def kpi_stream(
    _: ReadKey,
    request: Request,
    settings: SettingsDep,
    max_events: Annotated[int | None, Query(ge=1, le=100_000, description="close after this many")] = None,
) -> AsyncIterator[ServerSentEvent]:
    sent, last = 0, ""
    cache = request.app.state.views
    while max_events is None or sent < max_events:
        snap = await get_snapshot(request)
        rendered = cache.view(snap, "kpis", views.kpis_all)  # the same bytes /v1/kpis serves, made once
        if rendered.etag != last:
            last = rendered.etag
            sent += 1
            yield ServerSentEvent(
                raw_data=rendered.text, event="kpis", id=str(sent), retry=int(settings.sse_interval_s * 1000)
            )
            continue
        await asyncio.sleep(settings.sse_interval_s)
