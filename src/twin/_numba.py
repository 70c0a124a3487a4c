"""The project's numba options, in one place.

Kernels are compiled lazily on first call and cached on disk (``NUMBA_CACHE_DIR`` overrides where).
``error_model="numpy"`` removes ZeroDivision checks from the hot loop (performance.md §2.1 point 3);
``fastmath`` stays off so the kernels match their plain-Python references bit for bit in structure.
"""

from __future__ import annotations

from typing import Any

import numba

JIT_OPTIONS: dict[str, Any] = {"cache": True, "error_model": "numpy", "fastmath": False, "nogil": True}


def jit(func: Any) -> Any:
    """Compile ``func`` with the project's options (lazy, cached)."""
    return numba.njit(**JIT_OPTIONS)(func)
