"""Server-sent events: the KPI snapshot, sent when it changes (FastAPI native SSE, iiot.md §4.9)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.sse import EventSourceResponse, ServerSentEvent

from twin.api import views
from twin.api.caching import iso_z
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
    while max_events is None or sent < max_events:
        snap = await get_snapshot(request)
        payload = jsonable_encoder(views.kpis_all(snap), custom_encoder={datetime: iso_z})
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        if digest != last:
            last = digest
            sent += 1
            yield ServerSentEvent(data=payload, event="kpis", id=str(sent), retry=int(settings.sse_interval_s * 1000))
            continue
        await asyncio.sleep(settings.sse_interval_s)
