"""The embedded store bounds DuckDB's buffer manager (issue 9, the soak's "memory flat").

DuckDB takes up to 80 % of RAM by default (DuckDB, "Limits", operations manual); the store sets 1 GB unless the
URL names another. The setting is read back from DuckDB itself, not from the store.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from twin.store import open_store
from twin.store.duck import DuckDBStore
from twin.store.validate import StoreError


def _duckdb_limit_bytes(store: object) -> float:
    text = store._con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # e.g. '953.6 MiB'
    number, unit = text.split()
    return float(number) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]


def test_default_bound_is_one_gigabyte_not_eighty_percent_of_ram(tmp_path: Path) -> None:
    store = open_store(f"duckdb:///{tmp_path / 'a.duckdb'}")
    try:
        assert _duckdb_limit_bytes(store) == pytest.approx(1e9, rel=1e-3)
    finally:
        store.close()


def test_url_option_sets_the_bound(tmp_path: Path) -> None:
    store = open_store(f"duckdb:///{tmp_path / 'a.duckdb'}?memory_limit=2GiB")
    try:
        assert _duckdb_limit_bytes(store) == pytest.approx(2**31, rel=1e-3)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("option", "named"),
    [("memory_limit=5", "'5'"), ("memory_limit=10MB", "'10MB'"), ("memory_limit=2PB", "'2PB'"),
     ("memory_limit=" + "9" * 40 + "GB", "memory_limit"), ("threads=64", "'threads'")],
)
def test_bad_option_is_refused_before_the_file_is_touched(tmp_path: Path, option: str, named: str) -> None:
    path = tmp_path / "kept.duckdb"
    with open_store(f"duckdb:///{path}") as store:
        store.register_tags(["cell:1-001/voltage_V"])
        store.write_points("cell:1-001/voltage_V", np.array([1_700_000_000_000], dtype="datetime64[ms]"), [4.2])
    with pytest.raises(StoreError) as err:
        open_store(f"duckdb:///{path}?{option}")
    assert named in str(err.value)
    assert "\n" not in str(err.value)
    with duckdb.connect(str(path), read_only=True) as db:  # nothing already stored is lost
        assert db.execute("SELECT count(*) FROM points").fetchone()[0] == 1


def test_writes_beyond_the_bound_still_land(tmp_path: Path) -> None:
    """3 M points (~100 MB of columns) through a store bounded at 256 MB: DuckDB evicts, nothing is refused."""
    path = tmp_path / "small.duckdb"
    n = 300_000
    with open_store(f"duckdb:///{path}?memory_limit=256MB") as store:
        store.register_tags(["cell:1-001/voltage_V"])
        for k in range(10):
            ms = 1_700_000_000_000 + (np.arange(n, dtype=np.int64) + k * n) * 1000
            store.write_points("cell:1-001/voltage_V", ms.astype("datetime64[ms]"), np.full(n, 4.2))
    with duckdb.connect(str(path), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM points").fetchone()[0] == 10 * n


def test_engine_memory_is_reported_and_held_at_the_bound(tmp_path: Path) -> None:
    """What ``engine_memory_bytes`` (and ``/metrics``) reports is DuckDB's cache of the data: it grows as points
    land and stops at the bound, where DuckDB evicts blocks to the file. The soak's RSS grew ~100 MB per plant
    hour for the first hours of data for exactly this reason (benchmarks/README.md, "Soak"). The bound is set low
    on the connection here (the store's URL refuses less than 256MB) so that a few seconds of writes cross it."""
    bound = 48 * 2**20
    n = 400_000
    with open_store(f"duckdb:///{tmp_path / 'm.duckdb'}") as store:
        store._con.execute(f"SET memory_limit = '{bound}B'")
        store.register_tags(["cell:1-001/voltage_V", "cell:1-002/voltage_V"])
        empty = store.engine_memory_bytes()
        readings = []
        for k in range(12):  # 9.6 M points, ~115 MB of table blocks: more than twice the bound
            ms = 1_700_000_000_000 + (np.arange(n, dtype=np.int64) + k * n) * 1000
            tags = np.where(np.arange(n) % 2 == 0, "cell:1-001/voltage_V", "cell:1-002/voltage_V")
            store.write_points(tags, ms.astype("datetime64[ms]"), np.random.default_rng(k).random(n))
            readings.append(store.engine_memory_bytes())
    assert empty is not None
    assert readings[0] > empty  # the cache holds the data just written
    assert max(readings) <= bound  # and never more than the bound
    assert readings[-1] > bound / 4  # held near the bound, not dropped


def test_a_server_store_reports_no_engine_memory_in_process(store: object) -> None:
    """PostgreSQL's memory is the server's, not this process's: None, so ``/metrics`` does not report a 0."""
    reported = store.engine_memory_bytes()
    if isinstance(store, DuckDBStore):
        assert reported is not None
        assert reported > 0
    else:
        assert reported is None


def test_the_first_write_does_not_pay_for_imports(tmp_path: Path) -> None:
    """DuckDB imports pandas on its first ``register`` (every write registers its batch): over 5 s on a loaded
    machine, during which ingest stalled (soak, issue 9). Opening the store pays it instead. In a fresh process."""
    script = f"""
import sys
from twin.store import open_store
before = "pandas" in sys.modules
store = open_store("duckdb:///{tmp_path / 'w.duckdb'}")
print(before, "pandas" in sys.modules)
store.close()
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["False", "True"]
