"""Event frames (anode effects, taps, anode changes, outages, curtailments, alarms, dispatch windows):
one page of frames, or the same frames as Grafana annotations (region annotations: ``time``/``timeEnd``
in epoch milliseconds, ``title``, ``text``, ``tags``), the shape Grafana's JSON API and Infinity data
sources read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from twin.api.deps import RangeDep, ReadKey, SettingsDep, StoreDep
from twin.api.problems import Problem, responses
from twin.api.schemas import Annotation, EventFramePublic, EventFrames
from twin.store import EventFrame

router = APIRouter(prefix="/v1/events", tags=["events"])
Kind = Literal["anode_effect", "tap", "anode_change", "outage", "curtailment", "alarm", "dispatch_window"]
AssetQuery = Annotated[
    str | None,
    Query(
        max_length=48,
        pattern=r"^(plant|potline:\d{1,3}|cell:\d{1,3}-\d{1,4}|unit:[\w\-]{1,32}|rectifier:[\w\-]{1,32})$",
        description="an asset id; a potline also matches its cells and rectifiers, plant matches everything",
    ),
]
KindQuery = Annotated[list[Kind] | None, Query(max_length=7, description="kinds; default all")]
MAX_ANNOTATIONS = 5000


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def _public(f: EventFrame) -> dict[str, Any]:
    return {
        "id": f.frame_id,
        "kind": f.kind,
        "asset": f.asset,
        "start": _iso(f.start),
        "end": _iso(f.end),
        "attributes": dict(f.attributes),
    }


@router.get(
    "",
    response_model=EventFrames,
    responses=responses(400, 401, 403),
    summary="Event frames that overlap [start, end), by start time, one page at a time (follow next_cursor)",
)
def events(
    _: ReadKey,
    rng: RangeDep,
    store: StoreDep,
    settings: SettingsDep,
    kind: KindQuery = None,
    asset: AssetQuery = None,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> EventFrames:
    if limit > settings.max_page:
        raise Problem(400, "Bad request", f"limit = {limit} is invalid; expected at most {settings.max_page}")
    page = store.event_frames(rng.start, rng.end, kinds=kind, asset=asset, limit=limit, cursor=cursor)
    return EventFrames(
        start=rng.start,
        end=rng.end,
        events=[EventFramePublic.model_validate(_public(f)) for f in page.frames],
        next_cursor=page.next_cursor,
    )


def _annotation(f: EventFrame) -> dict[str, Any]:
    attrs = ", ".join(f"{k} = {v}" for k, v in sorted(f.attributes.items()))
    start_ms = int(f.start.timestamp() * 1000)
    return {
        "time": start_ms,
        "timeEnd": start_ms if f.end is None else int(f.end.timestamp() * 1000),
        "title": f"{f.kind.replace('_', ' ')} · {f.asset}",
        "text": attrs + (" (still open)" if f.end is None else ""),
        "tags": [f.kind, f.asset],
    }


@router.get(
    "/annotations",
    response_model=list[Annotation],
    responses=responses(400, 401, 403),
    summary="Event frames as Grafana annotations (time and timeEnd in epoch ms, title, text, tags)",
)
def annotations(
    _: ReadKey,
    rng: RangeDep,
    store: StoreDep,
    kind: KindQuery = None,
    asset: AssetQuery = None,
) -> list[Annotation]:
    page = store.event_frames(rng.start, rng.end, kinds=kind, asset=asset, limit=MAX_ANNOTATIONS)
    return [Annotation.model_validate(_annotation(f)) for f in page.frames]
