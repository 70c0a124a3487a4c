"""One scenario job in its own worker process, with an address-space and a time limit (issue 9 item 2).

The API's process never runs a job: each job is a fresh child forked from a ``forkserver`` (a small,
single-threaded process that has imported the runner's module once), so a job that runs away with memory
or time is stopped without touching the event loop, the store or the other jobs. In the child,
``RLIMIT_AS`` caps the address space (an allocation beyond it raises ``MemoryError``) and ``RLIMIT_CPU``
backs up the parent's wall-clock limit; the parent kills the child when the time limit is reached.

``run`` must be picklable (a module-level function or an instance of a module-level class).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import resource
import signal
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twin.errors import TwinError

log = logging.getLogger(__name__)
RunScenario = Callable[[str], Mapping[str, float]]


class JobFailedError(Exception):
    """The job did not produce KPIs; the message is safe to show to the client."""


class WorkerPool:
    """Starts job processes from one forkserver whose preloaded modules include the runner's."""

    def __init__(self, preload: Sequence[str] = ()) -> None:
        self._ctx = multiprocessing.get_context("forkserver")
        modules = ["twin.api.worker", *preload]
        self._ctx.set_forkserver_preload(list(dict.fromkeys(modules)))
        self._running: set[Any] = set()
        self._lock = threading.Lock()

    def run(self, run: RunScenario, text: str, *, timeout_s: float, memory_mb: int) -> dict[str, float]:
        """The KPIs ``run(text)`` returns in a child process; :class:`JobFailedError` otherwise."""
        receiver, sender = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=_child, args=(run, text, memory_mb, timeout_s, sender), name="twin-scenario-job", daemon=True
        )
        try:
            with self._lock:
                proc.start()
                self._running.add(proc)
            sender.close()
            if not receiver.poll(timeout_s):
                raise JobFailedError(f"the job exceeded its time limit of {timeout_s:g} s and was stopped")
            try:
                outcome = receiver.recv()
            except EOFError:
                proc.join(5)
                raise JobFailedError(_death(proc.exitcode, memory_mb)) from None
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            receiver.close()
            with self._lock:
                self._running.discard(proc)
        if outcome[0] == "ok":
            return outcome[1]
        if outcome[2]:
            log.warning("scenario job failed in its worker:\n%s", outcome[2])
        raise JobFailedError(outcome[1])


    def stop(self) -> None:
        """Kill every running job (the service is stopping; the jobs are marked failed at next start)."""
        with self._lock:
            running = list(self._running)
        for proc in running:
            with contextlib.suppress(Exception):
                proc.kill()


def _death(exitcode: int | None, memory_mb: int) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        if -exitcode in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT):
            return f"the job's worker process died ({name}), most likely at its memory limit of {memory_mb} MB"
        return f"the job's worker process was stopped by {name}"
    return f"the job's worker process exited with status {exitcode} without a result"


def _child(run: RunScenario, text: str, memory_mb: int, timeout_s: float, conn: Any) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(timeout_s) + 5
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    try:
        result = run(text)
        kpis = {str(k): float(v) for k, v in dict(result).items()}
        bad = [k for k, v in kpis.items() if v != v or v in (float("inf"), float("-inf"))]
        if bad:
            raise ValueError(f"runner returned a non-finite KPI {bad[0]!r}")
        outcome: tuple[Any, ...] = ("ok", kpis)
    except MemoryError:
        outcome = ("error", f"the job exceeded its memory limit of {memory_mb} MB", "")
    except TwinError as exc:  # a user error: its message names the field, the value and what is valid
        outcome = ("error", str(exc)[:2000], "")
    except Exception as exc:
        outcome = ("error", f"{type(exc).__name__}: {exc}"[:2000], traceback.format_exc())
    try:
        conn.send(outcome)
    finally:
        conn.close()
