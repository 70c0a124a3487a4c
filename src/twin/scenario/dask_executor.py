"""Dask distributed as a sweep executor (optional extra ``[dask]``).

A cluster is a scheduler and worker processes, started the way a user starts them on several machines::

    dask scheduler --port 8786                                   # on one machine
    NUMBA_NUM_THREADS=1 dask worker tcp://HOST:8786 --nthreads 1  # on each machine, one per core
    twin sweep sweeps/monte_carlo_1000.toml --scheduler tcp://HOST:8786

or, on one machine, a ``LocalCluster`` the executor starts itself (``--dask-local N``). ``Client.get_executor()`` is
a ``concurrent.futures`` executor, so the sweep runner needs no Dask code (performance.md §3.3). The scheduler
reschedules the tasks of a worker that dies (up to ``distributed.scheduler.allowed-failures`` times per task).
Workers import the same ``twin`` package and read the sweep's model files at the same paths as the driver (one
checkout on a shared file system, or the same checkout on every machine). One thread per worker process: the
SimPy layer holds the GIL, so processes, not threads, give the parallelism.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

from twin.errors import TwinError


class DaskExecutor(Executor):
    """A Dask client's ``concurrent.futures`` executor that also reports how many tasks run at once."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._inner = client.get_executor()

    @property
    def slots(self) -> int:
        """Worker threads in the cluster now (what sizes the automatic batch)."""
        return sum(self.client.nthreads().values())

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait)


@contextmanager
def dask_executor(
    scheduler: str | None,
    local_workers: int | None,
    *,
    connect_timeout_s: float = 10.0,
    worker_timeout_s: float = 60.0,
) -> Iterator[DaskExecutor]:
    """An executor on the Dask scheduler at ``scheduler``, or on a new LocalCluster of ``local_workers``.

    Waits up to ``worker_timeout_s`` for the first worker; a scheduler that does not answer within
    ``connect_timeout_s`` or has no worker by then is a one-line :class:`TwinError`.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise TwinError("Dask is not installed; install the extra: pip install 'smelter-twin[dask]'") from None
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise TwinError(
                f"--scheduler {scheduler}: no Dask scheduler answered within {connect_timeout_s:g} s "
                f"({type(exc).__name__}: {exc}); expected tcp://HOST:PORT of a running `dask scheduler`"
            ) from None
    else:
        if not local_workers or local_workers < 1:
            raise TwinError(f"--dask-local = {local_workers!r} is invalid; expected an integer >= 1")
        cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        try:
            client.wait_for_workers(1, timeout=worker_timeout_s)
        except TimeoutError:
            raise TwinError(
                f"--scheduler {scheduler}: no Dask worker joined within {worker_timeout_s:g} s; start one with "
                f"`dask worker {scheduler} --nthreads 1`"
            ) from None
        client.run(os.environ.__setitem__, "NUMBA_NUM_THREADS", "1")
        yield DaskExecutor(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
