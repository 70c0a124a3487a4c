"""Server-sent events: the KPI snapshot, sent when it changes (FastAPI native SSE, iiot.md §4.9).

Every client gets the view ``/v1/kpis`` serves, rendered once per snapshot (:mod:`twin.api.snapshots`):
a client that finds no change costs an identity check and a string compare per interval.

With ``?changes=true`` the first event is the whole snapshot (``event: kpis``) and every later one only
what changed since the client's previous event (``event: kpis-changes``: ``as_of``, ``changed`` scope →
name → value, ``removed`` scope → names). The change set is rendered once per (snapshot, previous
snapshot) pair and shared by every client that saw the same previous one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from twin.api import views
from twin.api.deps import ReadKey, SettingsDep, authenticate, get_snapshot
from twin.api.problems import Problem, responses

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
    changes: Annotated[bool, Query(description="after the first snapshot, send only what changed")] = False,
) -> AsyncIterator[ServerSentEvent]:
    sent, last = 0, ""
    previous: Mapping[str, Any] | None = None
    cache = request.app.state.views
    retry = int(settings.sse_interval_s * 1000)
    key = request.headers.get("x-api-key")
    while max_events is None or sent < max_events:
        # The key is checked again before every event, not only when the stream opened: a stream outlived its
        # key's revocation (an audit saw 12 more snapshots in 11 s, and no end). A verified key is a cache
        # look-up; a revocation clears the cache, so the next check fails and the stream ends with an ``end``
        # event naming why. A busy verifier (429/503) is asked again at the next event.
        try:
            await authenticate(request, key)
        except Problem as problem:
            if problem.status == 401:
                yield ServerSentEvent(raw_data=json.dumps({"status": 401, "detail": problem.detail}), event="end")
                return
        snap = await get_snapshot(request)
        rendered = cache.view(snap, "kpis", views.kpis_all)  # the same bytes /v1/kpis serves, made once
        if rendered.etag != last:
            sent += 1
            if changes and previous is not None:
                delta = cache.view(snap, ("kpis-changes", last), _changes_since(previous))
                yield ServerSentEvent(raw_data=delta.text, event="kpis-changes", id=str(sent), retry=retry)
            else:
                yield ServerSentEvent(raw_data=rendered.text, event="kpis", id=str(sent), retry=retry)
            last, previous = rendered.etag, snap
            continue
        await asyncio.sleep(settings.sse_interval_s)


def _changes_since(previous: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    return lambda snap: kpi_changes(views.kpis_all(previous), views.kpis_all(snap))


def kpi_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """What differs between two ``/v1/kpis`` views: changed or new values, and removed names."""
    before, after = old.get("scopes", {}), new.get("scopes", {})
    changed: dict[str, dict[str, Any]] = {}
    removed: dict[str, list[str]] = {}
    for scope, values in after.items():
        was = before.get(scope, {})
        diff = {name: value for name, value in values.items() if name not in was or was[name] != value}
        if diff:
            changed[scope] = diff
        gone = sorted(set(was) - set(values))
        if gone:
            removed[scope] = gone
    for scope in before.keys() - after.keys():
        removed[scope] = sorted(before[scope])
    return {"as_of": new.get("as_of"), "changed": changed, "removed": removed}
