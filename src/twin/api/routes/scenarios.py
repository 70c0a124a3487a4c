"""What-if scenario jobs: submit, poll, fetch results and the comparison with the baseline."""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from twin.api.deps import JobsDep, LiveDep, ReadKey, RunKey, StoreDep
from twin.api.jobs import new_job_id
from twin.api.live import LiveScenarioSource
from twin.api.problems import Problem, responses
from twin.api.schemas import Catalogue, Comparison, ScenarioCreate, ScenarioList, ScenarioPublic, ScenarioResults
from twin.store import ScenarioJob, UnknownKeyError
from twin_edge.configfile import parse_toml
from twin_edge.errors import ConfigError

router = APIRouter(prefix="/v1/scenarios", tags=["scenarios"])
catalogue_router = APIRouter(prefix="/v1/catalogue", tags=["scenarios"])
JobPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$")]


BASELINE_SUFFIX = "-baseline"


def public(job: ScenarioJob, *, paired: bool = False) -> ScenarioPublic:
    base = f"/v1/scenarios/{job.job_id}"
    links = {"self": base, "results": base + "/results", "comparison": base + "/comparison"}
    if paired:
        links["baseline"] = base + BASELINE_SUFFIX
    return ScenarioPublic(
        job_id=job.job_id,
        status=job.status,
        label=job.label,
        created=job.created,
        finished=job.finished,
        error=job.error,
        links=links,
    )


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string (same escapes, \uXXXX)
    return repr(value)


def with_change(text: str, change: list[dict[str, object]]) -> str:
    """The scenario ``text`` plus the ``change`` as ``[[event]]`` tables (appended: arrays of tables may
    continue at the end of a TOML document)."""
    tables = [
        "\n[[event]]\n" + "".join(f"{key} = {_toml_value(val)}\n" for key, val in event.items()) for event in change
    ]
    return text.rstrip("\n") + "\n" + "".join(tables)


def in_change_terms(detail: str, text: str) -> str:
    """A refusal of the combined scenario, with its ``event[N]`` (1-based, as scenario files count them) for an
    appended change named as the client sent it (``change[i]``, 0-based as in JSON and the request's own
    validation): a client that sent one change to a scenario with two events read "event[3].kind" before."""
    try:
        own = parse_toml(text, "scenario").get("event", [])
    except ConfigError:  # the scenario itself is broken: its message is about the scenario, not the change
        return detail
    base = len(own) if isinstance(own, list) else 0

    def rename(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"change[{n - base - 1}]" if n > base else match.group(0)

    return re.sub(r"\bevent\[(\d+)\]", rename, detail)


@router.post(
    "",
    status_code=202,
    response_model=ScenarioPublic,
    responses=responses(401, 403, 409, 422, 429, 503),
    summary="Submit a what-if: scenario TOML text, or from_live to start from the live state",
)
async def submit(body: ScenarioCreate, response: Response, _: RunKey, jobs: JobsDep, live: LiveDep) -> ScenarioPublic:
    text = body.toml
    if body.from_live:
        if not isinstance(live, LiveScenarioSource):
            raise Problem(409, "Conflict", "the live provider cannot export its state as a scenario")
        text = await run_in_threadpool(live.scenario_toml)
    assert text is not None
    label = body.label or ("from live" if body.from_live else "")
    if not body.change:
        job = await run_in_threadpool(jobs.submit, text, label)
        response.headers["Location"] = f"/v1/scenarios/{job.job_id}"
        return public(job)
    # The what-if and its baseline: the same scenario (same plant, same start state, same horizon and seed)
    # without the change, run alongside; the comparison uses it by default. Queued together, both or
    # neither: a what-if whose baseline the queue refused used to run as an orphan the client never heard of.
    job_id = new_job_id()
    try:
        job, _ = await run_in_threadpool(
            jobs.submit_together,
            [
                (with_change(text, body.change), label or "what-if", job_id),
                (text, f"baseline of {job_id}", job_id + BASELINE_SUFFIX),
            ],
        )
    except Problem as problem:
        if problem.status == 422:
            problem.detail = in_change_terms(problem.detail, text)
        raise
    response.headers["Location"] = f"/v1/scenarios/{job.job_id}"
    return public(job, paired=True)


@router.get("", response_model=ScenarioList, responses=responses(401, 403))
def list_jobs(_: ReadKey, store: StoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> ScenarioList:
    return ScenarioList(jobs=[public(j) for j in store.list_jobs(limit)])


@router.get("/{job_id}", response_model=ScenarioPublic, responses=responses(401, 403, 404))
def status(job_id: JobPath, _: ReadKey, store: StoreDep) -> ScenarioPublic:
    return public(store.get_job(job_id))


def _finished(store: StoreDep, job_id: str) -> ScenarioJob:
    job = store.get_job(job_id)
    if job.status == "failed":
        raise Problem(409, "Scenario failed", f"job {job_id} failed: {job.error}")
    if job.status != "succeeded" or job.kpis is None:
        raise Problem(
            409,
            "Scenario not finished",
            f"job {job_id} is {job.status}; poll /v1/scenarios/{job_id}",
            headers={"Retry-After": "1"},
        )
    return job


@router.get("/{job_id}/results", response_model=ScenarioResults, responses=responses(401, 403, 404, 409))
def results(job_id: JobPath, _: ReadKey, store: StoreDep) -> ScenarioResults:
    job = _finished(store, job_id)
    return ScenarioResults(job_id=job.job_id, kpis=job.kpis or {})


@router.get(
    "/{job_id}/comparison",
    response_model=Comparison,
    responses=responses(401, 403, 404, 409),
    summary="KPIs of a finished job next to the baseline's (or another job's), with deltas",
)
def comparison(
    request: Request,
    job_id: JobPath,
    _: ReadKey,
    store: StoreDep,
    jobs: JobsDep,
    baseline: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$",
            description="job to compare against; default the baseline",
        ),
    ] = None,
) -> Comparison:
    job = _finished(store, job_id)
    if baseline is None:
        try:  # a what-if with a change has its own baseline: the same scenario without the change
            baseline = store.get_job(job_id + BASELINE_SUFFIX).job_id
        except UnknownKeyError:
            base_job = jobs.baseline() if jobs.available else None
            if base_job is None:
                raise Problem(
                    409,
                    "No baseline",
                    "this job was submitted without a change (so no baseline ran alongside) and no baseline "
                    "scenario is configured; pass ?baseline=<job_id>, or submit the what-if with 'change'",
                ) from None
            baseline = base_job.job_id
    base = _finished(store, baseline)
    differ = _unlike(base, job)
    if differ:
        raise Problem(
            409,
            "Not comparable",
            f"job {job_id} cannot be compared with {baseline}: {differ}; compare runs of the same plant and horizon",
        )
    assert job.kpis is not None
    assert base.kpis is not None
    rows = []
    for name in sorted(set(job.kpis) | set(base.kpis)):
        val, ref = job.kpis.get(name), base.kpis.get(name)
        delta = None if val is None or ref is None else val - ref
        pct = None if delta is None or not ref else 100.0 * delta / abs(ref)
        rows.append({"name": name, "value": val, "baseline": ref, "delta": delta, "delta_pct": pct})
    return Comparison.model_validate({"job_id": job_id, "baseline_job_id": baseline, "kpis": rows})


def _identity(job: ScenarioJob) -> dict[str, object]:
    """The plant and horizon a job's scenario names (what its KPIs depend on beyond the change)."""
    try:
        doc = parse_toml(job.body, job.job_id, ValueError).get("scenario", {})
    except ValueError:
        return {}
    return {k: doc[k] for k in ("plant", "horizon_h") if isinstance(doc, dict) and k in doc}


def _unlike(a: ScenarioJob, b: ScenarioJob) -> str:
    """Why the KPIs of two jobs are not comparable ("" if they are): another plant or another horizon."""
    ia, ib = _identity(a), _identity(b)
    return "; ".join(
        f"{key} differs ({ia[key]!r} in {a.job_id}, {ib[key]!r} in {b.job_id})"
        for key in ("plant", "horizon_h")
        if key in ia and key in ib and ia[key] != ib[key]
    )


@catalogue_router.get(
    "",
    response_model=Catalogue,
    responses=responses(401, 403, 404),
    summary="Plant and technology ids that scenario jobs may name (jobs never name files)",
)
async def catalogue(_: ReadKey, jobs: JobsDep) -> Catalogue:
    described = await run_in_threadpool(jobs.catalogue)
    if described is None:
        raise Problem(404, "Not found", "this service's scenario runner has no catalogue")
    return Catalogue.model_validate(described)
