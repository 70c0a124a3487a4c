"""The project's numba options, in one place, and one compiled-kernel cache shared by every command.

Kernels are compiled lazily on first call and cached on disk. ``error_model="numpy"`` removes ZeroDivision
checks from the hot loop (performance.md §2.1 point 3); ``fastmath`` stays off so the kernels match their
plain-Python references bit for bit in structure.

**The cache.** numba re-validates a cached kernel only against the file that defines it: a change to a function
it inlines from another module (``thermal.py`` into ``kernel.py``), or to a module-level constant (the
parameter rows), would silently run stale machine code. So the cache directory is keyed by a hash of every
source file of the package that holds jitted code (``twin/cell/*.py`` and this file): ``<base>/<hash>``, where
``<base>`` is ``$NUMBA_CACHE_DIR`` if set, else ``numba-cache`` in the Python environment (the project's
``.venv``, so ``twin run``, ``twin demo`` and the tests share one cache), else the user cache directory.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import numba

JIT_OPTIONS: dict[str, Any] = {"cache": True, "error_model": "numpy", "fastmath": False, "nogil": True}
KERNEL_SOURCES = (Path(__file__), *sorted((Path(__file__).parent / "cell").glob("*.py")))
CACHE_ENV = "NUMBA_CACHE_DIR"


def kernel_source_hash() -> str:
    """A short hash of every file whose code can end up in a compiled kernel."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in KERNEL_SOURCES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_dir() -> Path:
    """Where compiled kernels of this source tree live (module docstring)."""
    if os.environ.get(CACHE_ENV):
        base = Path(os.environ[CACHE_ENV])
    elif os.access(sys.prefix, os.W_OK):
        base = Path(sys.prefix) / "numba-cache"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "smelter-twin" / "numba"
    return base / kernel_source_hash()


def _use_keyed_cache() -> None:
    path = cache_dir()
    if Path(numba.config.CACHE_DIR or "") != path:
        numba.config.CACHE_DIR = str(path)


_use_keyed_cache()


def jit(func: Any) -> Any:
    """Compile ``func`` with the project's options (lazy, cached in :func:`cache_dir`)."""
    return numba.njit(**JIT_OPTIONS)(func)
