"""Scenario jobs: validated, recorded in the store, run by the injected runner in worker processes.

Each job runs in its own process (:mod:`twin.api.worker`) with a memory and a time limit; ``job_workers``
threads of the API process only wait for them. A runner may offer ``check(text)``, a cheap validation
called at submission so that a bad scenario gets its 422 at once (it raises a :class:`TwinError`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from twin.api.problems import Problem
from twin.api.worker import JobFailedError, RunScenario, WorkerPool
from twin.errors import TwinError
from twin.store import ScenarioJob, Store, UnknownKeyError
from twin_edge.configfile import parse_toml

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the service stopped before the job finished"


def new_job_id() -> str:
    """A fresh job id; the API makes it before queueing when another job's id derives from it (a baseline)."""
    return "job-" + uuid.uuid4().hex[:16]


def check_toml(text: str) -> None:
    parse_toml(text, "toml", lambda message: Problem(422, "Invalid scenario", message))


class JobRunner:
    """Owns the threads that wait for the job processes; one per app (shut down with its lifespan)."""

    def __init__(
        self,
        store: Store,
        run_scenario: RunScenario | None,
        *,
        workers: int,
        max_pending: int,
        baseline_toml: str | None,
        timeout_s: float = 600.0,
        memory_mb: int = 3072,
        max_bytes: int = 65_536,
    ) -> None:
        self._store = store
        self._run_scenario = run_scenario
        self._max_pending = max_pending
        self._baseline_toml = baseline_toml
        self._timeout_s = timeout_s
        self._memory_mb = memory_mb
        self._max_bytes = max_bytes
        self._pending = 0
        self._stopping = False
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="twin-scenario")
        self._workers: WorkerPool | None = None
        if run_scenario is not None:
            module = getattr(run_scenario, "__module__", None) or type(run_scenario).__module__
            self._workers = WorkerPool([module, *getattr(run_scenario, "preload", ())])

    @property
    def available(self) -> bool:
        return self._run_scenario is not None

    def catalogue(self) -> Mapping[str, Any] | None:
        """What scenario jobs may name (plant and technology ids), if the runner has a catalogue."""
        describe = getattr(self._run_scenario, "describe", None)
        return describe() if describe is not None else None

    def recover(self) -> int:
        """Mark jobs left queued or running by a previous process as failed; returns how many."""
        n = 0
        for job in self._store.list_jobs(1000):
            if job.status in ("queued", "running"):
                self._store.update_job(job.job_id, "failed", error=INTERRUPTED)
                n += 1
        return n

    def submit(self, body: str, label: str = "", job_id: str | None = None) -> ScenarioJob:
        """Validate and queue one job (see :meth:`submit_together`)."""
        return self.submit_together([(body, label, job_id)])[0]

    def submit_together(self, requests: Sequence[tuple[str, str, str | None]]) -> list[ScenarioJob]:
        """Validate and queue jobs ``(body, label, job_id or None)`` all or none.

        A what-if submitted with a change runs with its baseline; queueing them one by one let the queue
        refuse the second after the first was created, so the client got a 429 while an orphan job (whose id
        it never saw) ran, and every retry added another. So every body is validated first, then the queue
        places for all of them are reserved at once under the lock, and only then is any job created.
        """
        if self._run_scenario is None:
            raise Problem(503, "Scenario runner unavailable", "this service was started without a runner")
        for body, _, _ in requests:
            self._validate(body)
        n = len(requests)
        if n > self._max_pending:  # never satisfiable: a 429 would have the client retry for ever
            raise Problem(
                503,
                "Scenario queue too small",
                f"this request queues {n} jobs together (a what-if with 'change' runs with its baseline) but "
                f"this server lets at most max_pending_jobs = {self._max_pending} wait; submit without 'change'",
            )
        with self._lock:
            if self._pending + n > self._max_pending:
                need = f" and this request needs {n} places (at most {self._max_pending})" if n > 1 else ""
                raise Problem(
                    429,
                    "Too many scenario jobs",
                    f"{self._pending} jobs are waiting{need}; retry later",
                    headers={"Retry-After": "5"},
                )
            self._pending += n
        jobs: list[ScenarioJob] = []
        try:
            for body, label, job_id in requests:
                jobs.append(self._store.create_job(job_id or new_job_id(), body, label=label))
        except BaseException:
            with self._lock:
                self._pending -= n
            self._abandon(jobs, "not run: a job submitted with it could not be recorded")
            raise
        for k, (job, (body, _, _)) in enumerate(zip(jobs, requests, strict=True)):
            try:
                self._pool.submit(self._run, job.job_id, body)
            except BaseException:  # the pool is shut down: the rest never run (those queued are cancelled too)
                with self._lock:
                    self._pending -= n - k
                self._abandon(jobs[k:], INTERRUPTED)
                raise
            log.info("scenario job %s queued (%s)", job.job_id, job.label or "no label")
        return jobs

    def _validate(self, body: str) -> None:
        """The size limit, the TOML syntax and the runner's own ``check``: a 422 before anything is queued."""
        size = len(body.encode("utf-8", "surrogatepass"))
        if size > self._max_bytes:
            raise Problem(
                422, "Invalid scenario", f"toml = {size} bytes is invalid; expected at most {self._max_bytes} bytes"
            )
        check_toml(body)
        check = getattr(self._run_scenario, "check", None)
        if check is not None:
            try:
                check(body)
            except TwinError as exc:
                raise Problem(422, "Invalid scenario", str(exc)) from None

    def _abandon(self, jobs: Sequence[ScenarioJob], reason: str) -> None:
        """Mark jobs that were recorded but will never run as failed, so that none stays queued for ever."""
        for job in jobs:
            try:
                self._store.update_job(job.job_id, "failed", error=reason)
            except Exception:
                log.exception("could not mark job %s failed", job.job_id)

    def _run(self, job_id: str, body: str) -> None:
        assert self._run_scenario is not None
        assert self._workers is not None
        try:
            self._store.update_job(job_id, "running")
            kpis = self._workers.run(
                self._run_scenario, body, timeout_s=self._timeout_s, memory_mb=self._memory_mb
            )
            self._store.update_job(job_id, "succeeded", kpis=kpis)
            log.info("scenario job %s succeeded (%d KPIs)", job_id, len(kpis))
        except Exception as exc:
            if self._stopping:  # the service stopped it (and may have closed the store): recover() marks it
                log.info("scenario job %s interrupted by the shutdown; marked interrupted at the next start", job_id)
                return
            message = str(exc) if isinstance(exc, JobFailedError) else f"{type(exc).__name__}: {exc}"
            log.warning("scenario job %s failed: %s", job_id, message)
            try:
                self._store.update_job(job_id, "failed", error=message[:2000])
            except Exception:
                log.exception("could not record the failure of job %s", job_id)
        finally:
            with self._lock:
                self._pending -= 1

    def baseline(self) -> ScenarioJob | None:
        """The baseline job (started on first use), or None if no baseline scenario is configured."""
        if self._baseline_toml is None:
            return None
        job_id = "baseline-" + hashlib.sha256(self._baseline_toml.encode()).hexdigest()[:16]
        try:
            job = self._store.get_job(job_id)
            if job.status != "failed" or job.error != INTERRUPTED:
                return job
        except UnknownKeyError:
            return self.submit(self._baseline_toml, "baseline", job_id)
        return job

    def shutdown(self) -> None:
        self._stopping = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._workers is not None:
            self._workers.stop()
