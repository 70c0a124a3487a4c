"""Liveness, readiness and Prometheus metrics (no API key needed; they reveal no plant data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

import twin
from twin.api.deps import IngestDep, StoreDep
from twin.api.problems import problem_response
from twin.api.schemas import Health, Ready
from twin.errors import TwinError

router = APIRouter(tags=["health"])


@router.get("/v1/health", response_model=Health, summary="Liveness: the process answers")
def health() -> Health:
    return Health(version=twin.__version__)


@router.get(
    "/v1/ready",
    response_model=Ready,
    summary="Readiness: the store answers",
    responses={503: {"model": Ready}},
)
async def ready(request: Request, store: StoreDep):
    try:
        await run_in_threadpool(store.ping)
    except TwinError as exc:
        return problem_response(request, 503, "Not ready", f"store: {exc}")
    return Ready(ready=True, checks={"store": "ok", "live": type(request.app.state.live).__name__})


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics (text format 0.0.4)")
def metrics(request: Request, ingest: IngestDep) -> PlainTextResponse:
    figures = None
    if ingest is not None:
        try:
            figures = ingest()
        except Exception:  # a broken stats callable must not hide the HTTP metrics
            figures = {"stats_error": 1.0}
    text = request.app.state.http_metrics.render(figures) + _auth_metrics(request)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


def _auth_metrics(request: Request) -> str:
    counters = dict(request.app.state.verifier.counters)
    counters["rate_limited"] = request.app.state.auth_limiter.rejected
    lines = []
    for name, value in sorted(counters.items()):
        kind = "gauge" if name.endswith("_peak_concurrent") else "counter"
        metric = f"twin_auth_{name}" + ("_total" if kind == "counter" else "")
        lines += [f"# TYPE {metric} {kind}", f"{metric} {value}"]
    renders = request.app.state.views.renders
    lines += ["# TYPE twin_api_snapshot_renders_total counter", f"twin_api_snapshot_renders_total {renders}"]
    return "\n".join(lines) + "\n"
