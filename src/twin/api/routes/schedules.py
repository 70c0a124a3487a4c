"""Dispatch schedules (issue 10): submit an optimisation as a job, poll it, fetch the answer.

Thin routes over :mod:`twin.optimise.jobs`: the plant is named by id, the job runs in its own process with
a time and a memory limit, one at a time (a second submission while one runs gets 429). Jobs and answers are
kept in memory (the last ``KEEP``); a restart forgets them. Needs the ``run`` scope to submit, ``read`` to poll.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from twin.api.deps import ReadKey, RunKey
from twin.api.problems import Problem, responses
from twin.api.validators import finite_float
from twin.errors import TwinError

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])
JobPath = Annotated[str, Path(pattern=r"^sched-[a-f0-9]{16}$")]
KEEP = 50
HorizonH = finite_float(ge=1.0, le=72.0)
TotalH = finite_float(ge=1.0, le=168.0, description="span on a rolling horizon")


class ScheduleCreate(BaseModel):
    """What to optimise: a catalogue plant id, the window, the step and the replay's size."""

    model_config = ConfigDict(extra="forbid")
    plant: str = Field(pattern=r"^plant_[a-z0-9_\-]{1,60}$", examples=["plant_small"])
    horizon_h: HorizonH = 48.0
    step_min: Literal[15, 30, 60] = 15
    total_h: TotalH | None = None
    replay_cells: int = Field(4, ge=1, le=16)
    seed: int = Field(1, ge=0, le=2**31 - 1)


class SchedulePublic(BaseModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    error: str | None = None
    links: dict[str, str]
    result: dict[str, Any] | None = None


class ScheduleJobs:
    """One worker thread; each job in its own process (:func:`twin.optimise.jobs.run_in_process`)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twin-schedule")
        self._lock = threading.Lock()
        self.jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def submit(self, req: dict[str, Any]) -> str:
        from twin.optimise.jobs import check_request

        try:
            req = check_request(req)
        except TwinError as exc:
            raise Problem(422, "Invalid schedule request", str(exc)) from None
        with self._lock:
            if any(j["status"] in ("queued", "running") for j in self.jobs.values()):
                raise Problem(429, "A schedule job is running", "retry when it has finished",
                              headers={"Retry-After": "10"})
            job_id = "sched-" + uuid.uuid4().hex[:16]
            self.jobs[job_id] = {"status": "queued", "error": None, "result": None}
            while len(self.jobs) > KEEP:
                self.jobs.popitem(last=False)
        self._pool.submit(self._run, job_id, req)
        return job_id

    def _run(self, job_id: str, req: dict[str, Any]) -> None:
        from twin.optimise.jobs import run_in_process

        self.jobs[job_id]["status"] = "running"
        try:
            result = run_in_process(req)
            self.jobs[job_id].update(status="succeeded", result=result)
        except Exception as exc:
            self.jobs[job_id].update(status="failed", error=str(exc)[:2000])


def _jobs(request: Request) -> ScheduleJobs:
    jobs = getattr(request.app.state, "schedules", None)
    if jobs is None:
        jobs = request.app.state.schedules = ScheduleJobs()
    return jobs


def _public(job_id: str, job: dict[str, Any], with_result: bool = False) -> SchedulePublic:
    return SchedulePublic(job_id=job_id, status=job["status"], error=job["error"],
                          links={"self": f"/v1/schedules/{job_id}"}, result=job["result"] if with_result else None)


@router.post("", status_code=202, response_model=SchedulePublic, responses=responses(401, 403, 422, 429),
             summary="Optimise units, grid tie and potlines for a plant; every schedule is replayed in the twin")
async def submit(body: ScheduleCreate, request: Request, response: Response, _: RunKey) -> SchedulePublic:
    jobs = _jobs(request)
    job_id = await run_in_threadpool(jobs.submit, body.model_dump())
    response.headers["Location"] = f"/v1/schedules/{job_id}"
    return _public(job_id, jobs.jobs[job_id])


@router.get("/{job_id}", response_model=SchedulePublic, responses=responses(401, 403, 404),
            summary="A schedule job: its status and, once it succeeded, the answer (schedule, replay, baseline)")
def status(job_id: JobPath, request: Request, _: ReadKey) -> SchedulePublic:
    job = _jobs(request).jobs.get(job_id)
    if job is None:
        raise Problem(404, "Not found", f"no schedule job {job_id}")
    return _public(job_id, job, with_result=True)
