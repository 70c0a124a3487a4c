"""The app factory: wires settings, store, live provider, scenario runner and ingest figures into FastAPI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import twin
from twin.api import docs_pages, problems
from twin.api.alarm_actions import AlarmActions
from twin.api.auth import KeyVerifier
from twin.api.jobs import JobRunner, RunScenario
from twin.api.key_gate import KeyGateMiddleware
from twin.api.limits import BodyLimitMiddleware, JsonBodyMiddleware
from twin.api.live import LiveProvider, StoreLive
from twin.api.metrics import HttpMetrics, IngestStats, MetricsMiddleware
from twin.api.operating import PlantInfo
from twin.api.ratelimit import FailureLimiter
from twin.api.routes import admin, alarms_ack, health, kpis, plant, scenarios, schedules, series, setpoints, stream
from twin.api.routes import advice as advice_routes
from twin.api.routes import dashboard as dashboard_info
from twin.api.routes import events as event_routes
from twin.api.routes import ids as id_routes
from twin.api.routes import tags as stream_reads
from twin.api.settings import Settings
from twin.api.snapshots import SnapshotCache, SnapshotSource
from twin.errors import TwinError
from twin.store import Store

log = logging.getLogger(__name__)
STATIC = Path(str(resources.files("twin.api") / "static"))


async def _compact_forever(store: Store, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await run_in_threadpool(store.compact)
        except TwinError:
            log.exception("store compaction failed")


def create_app(
    settings: Settings,
    store: Store,
    *,
    live: LiveProvider | None = None,
    run_scenario: RunScenario | None = None,
    ingest_stats: IngestStats | None = None,
    plant_info: PlantInfo | None = None,
) -> FastAPI:
    """Build the decision-support API.

    The caller owns ``store`` (open it before, close it after the app). ``live`` answers "now" questions
    (see :mod:`twin.api.live`; without it the store's latest KPIs and values are served). ``run_scenario``
    runs a scenario TOML to a KPI dict; it must be picklable, as every job runs in its own worker process
    with a memory and a time limit (:mod:`twin.api.worker`); without it scenario submission answers 503.
    ``ingest_stats`` returns figures exported on ``/metrics`` as ``twin_ingest_<name>``. ``plant_info`` (cell
    technology, demo speed, plant time zone) gives the dashboard its fixed operating limits (``GET /v1/dashboard``).
    """
    if not isinstance(settings, Settings):
        raise TwinError(f"create_app: settings = {type(settings).__name__} is invalid; expected Settings")
    if not isinstance(store, Store):
        raise TwinError(f"create_app: store = {type(store).__name__} is invalid; expected a twin.store.Store")
    if live is not None and not isinstance(live, LiveProvider):
        raise TwinError(f"create_app: live = {type(live).__name__} is invalid; expected an object with snapshot()")
    jobs = JobRunner(
        store,
        run_scenario,
        workers=settings.job_workers,
        max_pending=settings.max_pending_jobs,
        baseline_toml=settings.baseline_toml,
        timeout_s=settings.job_timeout_s,
        memory_mb=settings.job_memory_mb,
        max_bytes=settings.max_scenario_bytes,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.warn_if_unsafe()
        if not settings.open_access and not await run_in_threadpool(store.list_api_keys):
            log.warning(
                "no API keys exist yet; create one with: python -m twin.api.keys --store URL create "
                "--name NAME --scopes read"
            )
        interrupted = await run_in_threadpool(jobs.recover)
        if interrupted:
            log.warning("%d scenario jobs were interrupted by the last shutdown and marked failed", interrupted)
        task = None
        if settings.compact_interval_s > 0:
            task = asyncio.create_task(_compact_forever(store, settings.compact_interval_s), name="compaction")
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            jobs.shutdown()

    app = FastAPI(
        title="Smelter Twin decision-support API",
        version=twin.__version__,
        description="Plant, potline and cell KPIs, time series, alarms, assets and what-if scenarios. "
        "Send an API key in `X-API-Key`. Errors are RFC 7807 `application/problem+json`.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served from vendored assets (docs_pages), not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.live = live if live is not None else StoreLive(store)
    app.state.snapshots = SnapshotSource(app.state.live)
    app.state.views = SnapshotCache()
    app.state.jobs = jobs
    app.state.ingest_stats = ingest_stats
    app.state.plant_info = plant_info
    app.state.alarm_actions = AlarmActions(store)  # operators' acknowledge/shelve, kept in the store
    app.state.verifier = KeyVerifier(store, settings.auth_cache_s, fail_cache_s=settings.auth_fail_cache_s)
    app.state.auth_limiter = FailureLimiter(settings.auth_failures_per_min, 60.0)
    app.state.http_metrics = HttpMetrics()
    app.add_middleware(JsonBodyMiddleware)  # inside the body limit: checks at most max_body_bytes
    app.add_middleware(KeyGateMiddleware)  # outside the body checks: no key, no look at the body
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.http_metrics)  # outermost: counts the 413s too
    if settings.cors_origins:  # other sites' pages (Grafana, a portal) may read the API; keys still required
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type", "If-None-Match", "Last-Event-ID"],
            expose_headers=["ETag", "Location", "Retry-After", "Link"],
            max_age=600,
        )
    problems.install(app)
    for module in (health, kpis, series, plant, scenarios, stream, admin):
        app.include_router(module.router)
    app.include_router(scenarios.catalogue_router)
    app.include_router(schedules.router)  # dispatch co-optimiser jobs (issue 10, twin.optimise)
    app.include_router(alarms_ack.router)  # acknowledge and shelve alarms (dashboard, issue 11)
    app.include_router(dashboard_info.router)  # fixed operating limits, demo speed (dashboard, issue 11)
    app.include_router(setpoints.router)  # setpoint writes; needs app.state.setpoints (issue 10 item 7)
    app.include_router(id_routes.router)  # Handle-style asset identifiers (issue 11 item 5)
    app.include_router(event_routes.router)  # event frames and Grafana annotations (issue 11 item 3)
    app.include_router(stream_reads.router)  # PI-style interpolated, plot and summary reads (issue 11 item 4)
    app.include_router(advice_routes.router)  # per-pot advice; needs app.state.advisor (issue 10 items 5-6)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    docs_pages.install(app, STATIC)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
