"""Random numbers for the kernel's band-limited voltage noise: one xorshift64 generator per cell.

Per-cell generators make a run reproducible from its seed and independent of how it is chunked into kernel
calls (the state travels with the cell).
"""

from __future__ import annotations

import numpy as np

from twin._numba import jit


@jit
def xorshift(x: np.uint64) -> np.uint64:
    """One step of Marsaglia's xorshift64 (J. Stat. Softw. 8(14), 2003)."""
    x ^= x << np.uint64(13)
    x ^= x >> np.uint64(7)
    x ^= x << np.uint64(17)
    return x


@jit
def symmetric_uniform(x: np.uint64) -> float:
    """Map 64 random bits to a float in [-1, 1)."""
    return float(x >> np.uint64(11)) * (2.0 / 9007199254740992.0) - 1.0
