"""Dask distributed as a sweep executor (optional extra ``[dask]``).

``Client.get_executor()`` is a ``concurrent.futures`` executor, so the sweep runner needs no Dask code
(performance.md §3.3). A task is a whole scenario; workers run one numba thread each.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

from twin.errors import TwinError


@contextmanager
def dask_executor(scheduler: str | None, local_workers: int | None) -> Iterator[Executor]:
    """An executor on the Dask scheduler at ``scheduler``, or on a new LocalCluster of ``local_workers``."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise TwinError("Dask is not installed; install the extra: pip install 'smelter-twin[dask]'") from None
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        if not local_workers or local_workers < 1:
            raise TwinError(f"--dask-local = {local_workers!r} is invalid; expected an integer >= 1")
        cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        client.run(os.environ.__setitem__, "NUMBA_NUM_THREADS", "1")
        yield client.get_executor()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
