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
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from twin.api.problems import Problem
from twin.api.worker import JobFailedError, RunScenario, WorkerPool
from twin.errors import TwinError
from twin.store import ScenarioJob, Store, UnknownKeyError
from twin_edge.configfile import parse_toml

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the service stopped before the job finished"


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
        if self._run_scenario is None:
            raise Problem(503, "Scenario runner unavailable", "this service was started without a runner")
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
        with self._lock:
            if self._pending >= self._max_pending:
                raise Problem(
                    429,
                    "Too many scenario jobs",
                    f"{self._pending} jobs are waiting; retry later",
                    headers={"Retry-After": "5"},
                )
            self._pending += 1
        try:
            job = self._store.create_job(job_id or "job-" + uuid.uuid4().hex[:16], body, label=label)
            self._pool.submit(self._run, job.job_id, body)
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise
        log.info("scenario job %s queued (%s)", job.job_id, label or "no label")
        return job

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
