"""The embedded store's memory bound: DuckDB's ``memory_limit``, checked before it reaches DuckDB.

DuckDB's buffer manager may by default take 80 % of the machine's RAM (DuckDB, "Limits",
https://duckdb.org/docs/stable/operations_manual/limits; the limit covers the buffer manager only). A twin that
runs for months beside other services wants a bound it can plan for, so the store sets one: 1 GB unless the store
URL names another (``duckdb:///twin.duckdb?memory_limit=2GB``). DuckDB needs at least 128 MB per thread it
runs (DuckDB, "Out-of-memory errors" guide), hence the lower end of the valid range.
"""

from __future__ import annotations

import re

from twin.store import validate as v

DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"
_UNITS = {"MB": 1e6, "MIB": 2**20, "GB": 1e9, "GIB": 2**30, "TB": 1e12, "TIB": 2**40}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")
_LOWEST, _HIGHEST = 256e6, 1e12


def memory_limit_bytes(text: str) -> float:
    """``"1GB"`` → 1e9; anything that is not a size between 256 MB and 1 TB is a StoreError naming the value."""
    valid = "a size between 256MB and 1TB such as 512MB, 1GB or 2GiB"
    match = _PATTERN.match(text) if isinstance(text, str) and len(text) <= 32 else None
    if match is None or match.group(2).upper() not in _UNITS:
        raise v.error("memory_limit", text, valid)
    size = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if not _LOWEST <= size <= _HIGHEST:
        raise v.error("memory_limit", text, valid)
    return size
