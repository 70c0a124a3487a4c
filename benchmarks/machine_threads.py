"""What the machine's second core gives, measured beside a two-thread benchmark (issue 12 item 4).

A 2-vCPU virtual machine may put its two vCPUs on two physical cores or on the two hardware threads (SMT) of one
core. On SMT siblings the two threads share one core's execution units: code that keeps those units busy (a
vectorised loop such as the cell kernel or the arithmetic ceiling) gains little from the second thread, while
code that waits on the latency of a dependency chain runs nearly twice as fast on two. The guest's ``lscpu`` does
not tell (it reports one thread per core either way), so two probes measure it, each as the time of two equal
jobs run one after the other over their time on two threads:

* ``throughput_bound``: the arithmetic ceiling (:func:`ceiling.ceiling_advance`, vectorised, no branches) on
  two independent states;
* ``latency_bound``: a dependent chain of square roots on two independent seeds (one operation in flight at a
  time, so a core's execution units are mostly idle).

On two physical cores both read about 2×; on SMT siblings the first reads well under 2× and the second about
2×: the two hardware threads of a core share its execution units (Intel 64 and IA-32 Architectures Optimization
Reference Manual, the chapter on Hyper-Threading Technology; AMD, Software Optimization Guide for the AMD Zen4
Microarchitecture, pub. 57647, on simultaneous multi-threading; Oracle Cloud's platform configuration documents
the same for its AMD VMs: "two hardware execution threads per core", docs.oracle.com AmdVmPlatformConfig).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from ceiling import ceiling_advance, ceiling_state

from twin._numba import JIT_OPTIONS


@numba.njit(**JIT_OPTIONS)
def latency_chain(seed: float, steps: int) -> float:
    """``steps`` dependent square roots: each waits for the one before it."""
    x = seed
    for _ in range(steps):
        x = math.sqrt(x + 1.0)
    return x


@dataclass(frozen=True)
class ProbeSizes:
    """Work per job of each probe: chosen so that one job takes ~0.1 s on a 2026 server core."""

    ceiling_cells: int = 352
    ceiling_steps: int = 12_000
    chain_steps: int = 20_000_000


SMOKE = ProbeSizes(ceiling_cells=64, ceiling_steps=20, chain_steps=1_000)


def _speedup(job_a, job_b, pool: ThreadPoolExecutor) -> float:
    """Time of ``job_a(); job_b()`` over the time of the two on two threads (``job_b`` in the pool)."""
    start = time.perf_counter()
    job_a()
    job_b()
    serial = time.perf_counter() - start
    start = time.perf_counter()
    future = pool.submit(job_b)
    job_a()
    future.result()
    return serial / (time.perf_counter() - start)


def two_thread_speedups(pool: ThreadPoolExecutor, sizes: ProbeSizes = ProbeSizes()) -> dict[str, float]:
    """{probe: 2-thread speed-up} for ``throughput_bound`` and ``latency_bound`` (see the module docstring)."""
    states = [ceiling_state(sizes.ceiling_cells) for _ in range(2)]
    for state in states:
        ceiling_advance(*state, 2)  # compiled (or loaded from the cache) outside the timing
    latency_chain(2.0, 10)

    def ceiling_job(k: int):
        return lambda: ceiling_advance(*states[k], sizes.ceiling_steps)

    def chain_job(seed: float):
        return lambda: latency_chain(seed, sizes.chain_steps)

    result = {
        "throughput_bound": _speedup(ceiling_job(0), ceiling_job(1), pool),
        "latency_bound": _speedup(chain_job(2.0), chain_job(3.0), pool),
    }
    if not all(np.all(np.isfinite(state[0])) for state in states):
        raise AssertionError("the ceiling kernel diverged")
    return result
