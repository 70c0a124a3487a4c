"""Dependencies as ``Annotated`` aliases: routes ask for ``StoreDep``, ``ReadKey`` … never app state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import AwareDatetime

from twin.api.auth import SCOPES, ChecksSpent, KeyVerifier, Principal, VerifierBusy
from twin.api.jobs import JobRunner
from twin.api.live import LiveProvider
from twin.api.metrics import IngestStats
from twin.api.problems import Problem
from twin.api.ratelimit import FailureLimiter
from twin.api.settings import Settings
from twin.store import Store

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="twin_<id>_<secret>")
OPEN = Principal("open-access", frozenset(SCOPES))
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # the store's times: from EARLIEST up to, not including, LATEST
LATEST = datetime(2262, 1, 1, tzinfo=UTC)
MAX_ROWS = 100_000  # rows (values, columns, buckets) in one multi-series answer, all series together


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_live(request: Request) -> LiveProvider:
    return request.app.state.live


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs


def get_ingest(request: Request) -> IngestStats | None:
    return request.app.state.ingest_stats


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
LiveDep = Annotated[LiveProvider, Depends(get_live)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
IngestDep = Annotated["IngestStats | None", Depends(get_ingest)]


async def get_snapshot(request: Request) -> Mapping[str, Any]:
    """The live snapshot: called on the event loop (it must be cheap), or, when the provider declares
    ``snapshot_blocks = True`` (as :class:`twin.api.live.StoreLive` does), fetched on a worker thread at
    most twice a second for all requests (:class:`twin.api.snapshots.SnapshotSource`). Failed setpoint writes
    (:attr:`twin.api.setpoint_desk.SetpointDesk.alarms`) are merged into its alarm list."""
    snap = await request.app.state.snapshots.get()
    desk = getattr(request.app.state, "setpoints", None)
    return snap if desk is None else desk.alarms.merge(snap)


SnapshotDep = Annotated[Mapping[str, Any], Depends(get_snapshot)]


async def authenticate(request: Request, key: str | None) -> Principal:
    """Who sends ``request`` with the API key ``key``: everyone under open access, else the key's principal.
    Raises a 401 :class:`Problem` without a key or with one that is unknown, malformed or revoked; a 429 once a
    client has sent too many bad keys (:class:`~twin.api.ratelimit.FailureLimiter`) or has as many keys being
    checked or failed (:meth:`~twin.api.ratelimit.FailureLimiter.charge`: counted before the check, so a burst
    cannot get past the limit); a 503 while the argon2 queue is full. Every refusal carries ``Retry-After``."""
    settings: Settings = request.app.state.settings
    if settings.open_access:
        return OPEN
    if not key:
        raise Problem(
            401,
            "Unauthorized",
            "send an API key in the X-API-Key header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    verifier: KeyVerifier = request.app.state.verifier
    principal = verifier.cached(key)
    if principal is None:
        limiter: FailureLimiter = request.app.state.auth_limiter
        client = request.client.host if request.client else "unknown"
        wait = limiter.retry_after(client)
        if wait is not None:
            raise Problem(
                429,
                "Too many failed authentications",
                f"{limiter.max_failures} failed API keys from {client} within {limiter.window_s:g} s; "
                f"retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        try:
            principal = await verifier.verify_async(key, client, limiter)  # counts its failures in the limiter
        except ChecksSpent as refused:  # counted in limiter.rejected (twin_auth_rate_limited_total) as every 429
            raise Problem(
                429,
                "Too many failed authentications",
                f"{limiter.max_failures} API keys from {client} failed or are being checked within "
                f"{limiter.window_s:g} s; retry in {refused.retry_after} s",
                headers={"Retry-After": str(refused.retry_after)},
            ) from None
        except VerifierBusy as refused:
            raise Problem(
                503,
                "Authentication busy",
                f"too many API keys are waiting to be checked; retry in {refused.retry_after} s",
                headers={"Retry-After": str(refused.retry_after)},
            ) from None
    if principal is None:
        raise Problem(
            401,
            "Unauthorized",
            "the API key is unknown, malformed or revoked",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    return principal


def require(scope: str):
    """A dependency that admits callers whose key carries ``scope`` (401 without a key, 403 without scope)."""

    async def dependency(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> Principal:
        principal = await authenticate(request, key)
        if scope not in principal.scopes:
            raise Problem(403, "Forbidden", f"this API key lacks the '{scope}' scope")
        return principal

    return dependency


ReadKey = Annotated[Principal, Depends(require("read"))]
RunKey = Annotated[Principal, Depends(require("run"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: datetime
    end: datetime


def time_range(
    settings: SettingsDep,
    start: Annotated[
        AwareDatetime | None,
        Query(description="ISO-8601 with offset, e.g. 2026-03-01T00:00:00Z; default end − 1 h"),
    ] = None,
    end: Annotated[AwareDatetime | None, Query(description="ISO-8601 with offset (exclusive); default now")] = None,
) -> TimeRange:
    for name, value in (("start", start), ("end", end)):
        if value is not None and not EARLIEST <= value < LATEST:  # compared as instants, whatever the offset
            raise Problem(
                400,
                "Bad request",
                f"{name} = {value.isoformat()} is invalid; expected a time from 1970-01-01 up to (not including) "
                "2262-01-01 UTC",
            )
    try:
        end_ = (end or datetime.now(UTC)).astimezone(UTC)
        start_ = (start or end_ - timedelta(hours=1)).astimezone(UTC)
    except OverflowError as exc:
        raise Problem(400, "Bad request", "start/end must lie between 1970 and 2262 UTC") from exc
    if end_ <= start_:
        raise Problem(
            400,
            "Bad request",
            f"end = {end_.isoformat()} is invalid; expected a time after "
            f"start = {start_.isoformat()} (ranges are half-open [start, end))",
        )
    if end_ - start_ > timedelta(days=settings.max_range_days):
        raise Problem(
            400,
            "Bad request",
            f"range = {end_ - start_} is invalid; expected at most {settings.max_range_days} days",
        )
    return TimeRange(start_, end_)


RangeDep = Annotated[TimeRange, Depends(time_range)]
