"""Signals (tags): metadata, latest values, recorded values (cursor pages) and bucket aggregates."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import StringConstraints

from twin.api import views
from twin.api.caching import LIVE_CACHE, cached_json
from twin.api.deps import RangeDep, ReadKey, SettingsDep, SnapshotDep, StoreDep
from twin.api.problems import Problem, responses
from twin.api.routes.tags import all_tags
from twin.api.schemas import AggregateResult, Latest, Recorded, TagPublic
from twin.store import AGGREGATES
from twin.store.validate import TAG_RE

router = APIRouter(prefix="/v1", tags=["series"])
TagPath = Annotated[
    str,
    Path(
        description="tag name, e.g. cell:1-017/cell_voltage_V",
        examples=["cell:1-017/cell_voltage_V"],
        pattern=TAG_RE.pattern,
    ),
]
TagName = Annotated[str, StringConstraints(pattern=TAG_RE.pattern)]
Agg = Literal["avg", "min", "max", "count", "twa"]


@router.get(
    "/tags",
    response_model=list[TagPublic],
    responses=responses(401, 403),
    summary="Every signal as a tag with unit, description, source (stored, kpi, live) and where to read it",
)
def list_tags(
    _: ReadKey,
    store: StoreDep,
    snap: SnapshotDep,
    source: Annotated[list[Literal["stored", "kpi", "live"]] | None, Query(max_length=3)] = None,
) -> list[TagPublic]:
    wanted = set(source or ("stored", "kpi", "live"))
    return [TagPublic.model_validate(t) for t in all_tags(store, snap) if t["source"] in wanted]


@router.get(
    "/latest",
    response_model=Latest,
    responses=responses(400, 401, 403, 404),
    summary="Latest value of several tags (all tags if none given)",
)
def latest(
    request: Request,
    _: ReadKey,
    store: StoreDep,
    tags: Annotated[list[TagName] | None, Query(max_length=1000)] = None,
) -> Response:
    pts = store.latest(tags)
    points = [
        {"tag": t, "ts": p.ts, "value": views.finite_or_none(p.value), "quality": p.quality}
        for t, p in sorted(pts.items())
    ]
    return cached_json(request, {"points": points}, LIVE_CACHE)


@router.get("/tags/{tag:path}/latest", response_model=Latest, responses=responses(400, 401, 403, 404))
def tag_latest(request: Request, tag: TagPath, _: ReadKey, store: StoreDep) -> Response:
    return latest(request, _, store, [tag])


@router.get(
    "/tags/{tag:path}/recorded",
    response_model=Recorded,
    responses=responses(400, 401, 403, 404),
    summary="Recorded values in time order, one page at a time (follow next_cursor)",
)
def recorded(
    _: ReadKey,
    tag: TagPath,
    rng: RangeDep,
    store: StoreDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 1000,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Recorded:
    if limit > settings.max_page:
        raise Problem(400, "Bad request", f"limit = {limit} is invalid; expected at most {settings.max_page}")
    page = store.recorded(tag, rng.start, rng.end, limit=limit, cursor=cursor)
    pts = [
        {"ts": t, "value": views.finite_or_none(v), "quality": q}
        for t, v, q in zip(views.iso(page.ts, "us"), page.value.tolist(), page.quality, strict=True)
    ]
    return Recorded.model_validate(
        {
            "tag": tag,
            "start": rng.start,
            "end": rng.end,
            "points": pts,
            "truncated": page.truncated,
            "next_cursor": page.next_cursor,
        }
    )


@router.get(
    "/tags/{tag:path}/aggregate",
    response_model=AggregateResult,
    response_model_exclude_none=True,
    responses=responses(400, 401, 403, 404),
    summary="Bucket aggregates (avg, min, max, count, time-weighted avg) by bucket or max_points",
)
def aggregate(
    _: ReadKey,
    tag: TagPath,
    rng: RangeDep,
    store: StoreDep,
    settings: SettingsDep,
    bucket_s: Annotated[int | None, Query(ge=1, le=366 * 86400, description="bucket width, seconds")] = None,
    max_points: Annotated[int | None, Query(ge=1, le=100_000, description="at most this many buckets")] = None,
    agg: Annotated[list[Agg] | None, Query(description="aggregates to return; default all")] = None,
) -> AggregateResult:
    if (bucket_s is None) == (max_points is None):
        raise Problem(400, "Bad request", "give exactly one of bucket_s or max_points")
    span = (rng.end - rng.start).total_seconds()
    if bucket_s is not None and span / bucket_s > settings.max_buckets:
        raise Problem(
            400,
            "Bad request",
            f"bucket_s = {bucket_s} is invalid for a {span:g} s range; it would "
            f"give more than max_buckets = {settings.max_buckets} buckets",
        )
    if max_points is not None and max_points > settings.max_buckets:
        # The store takes up to 100 000 buckets: max_points=100000 over a day gave 86 400 (12 MB of JSON; 30 such
        # requests at once took the server from 339 MB to 2.66 GB). Held to the same limit as bucket_s.
        raise Problem(
            400,
            "Bad request",
            f"max_points = {max_points} is invalid; expected at most max_buckets = {settings.max_buckets} buckets",
        )
    bucket = None if bucket_s is None else timedelta(seconds=bucket_s)
    res = store.aggregate(tag, rng.start, rng.end, bucket=bucket, max_points=max_points)
    wanted = list(dict.fromkeys(agg or AGGREGATES))
    cols = {name: getattr(res, name).tolist() for name in wanted}
    buckets = [{"ts": t, **{n: cols[n][i] for n in wanted}} for i, t in enumerate(views.iso(res.ts))]
    return AggregateResult.model_validate(
        {
            "tag": tag,
            "start": rng.start,
            "end": rng.end,
            "bucket_s": res.bucket.total_seconds(),
            "source": res.source,
            "buckets": buckets,
        }
    )
