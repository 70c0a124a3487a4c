"""Embedded backend: one DuckDB file (or memory), columnar, no server.

DuckDB allows one read-write process per database file (iiot.md §4.6), so this backend is for the demo and
single-process deployments. Inside the process, writes are serialised by a lock and reads use one cursor per
thread (DuckDB cursors are separate connections to the same database and see committed data).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from twin.store import validate as v
from twin.store.duck_limits import DEFAULT_DUCKDB_MEMORY_LIMIT, memory_limit_bytes
from twin.store.model import TagInfo
from twin.store.sqlstore import Exec, SqlStore, translate

log = logging.getLogger(__name__)


class DuckDBStore(SqlStore):
    """The embedded store. ``path`` is a file (created if missing) or ``":memory:"``; ``memory_limit`` bounds
    DuckDB's buffer manager (see :mod:`twin.store.duck_limits`)."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        retention: timedelta = timedelta(days=7),
        memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT,
    ) -> None:
        super().__init__(retention)
        self.path = str(path)
        limit_bytes = memory_limit_bytes(memory_limit)
        try:
            self._con = duckdb.connect(self.path, config={"memory_limit": f"{int(limit_bytes)}B"})
        except duckdb.Error as exc:
            raise v.error("path", self.path, f"a DuckDB file this process can open for writing ({exc})") from exc
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._closed = False
        self._create_schema()
        self._warm_registration()
        log.info("DuckDB store opened at %s (retention %s, memory limit %s)", self.path, retention, memory_limit)

    def _warm_registration(self) -> None:
        """Register and drop a one-row Arrow table, as every write does: DuckDB's first ``register`` imports
        pandas, which took over 5 s on a loaded 2-core machine and stalled ingest behind the first batch (soak,
        issue 9); here it happens once, at open."""
        with translate((duckdb.Error,), "open"):
            cur = self._cursor()
            cur.register("_warm", pa.table({"x": np.zeros(1)}))
            cur.unregister("_warm")

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        if self._closed:
            raise v.error("store", "closed", "an open store")
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cur = cur
            with self._cursors_lock:
                self._cursors.append(cur)
        return cur

    @staticmethod
    def _executor(cur: duckdb.DuckDBPyConnection) -> Exec:
        def x(sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

        return x

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Exec]:
        with self._write_lock, translate((duckdb.Error,), "write"):
            cur = self._cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield self._executor(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[Exec]:
        with translate((duckdb.Error,), "query"):
            yield self._executor(self._cursor())

    def _stage_points(self, x: Exec, tag_id: np.ndarray, ts: np.ndarray, value: np.ndarray, qual: np.ndarray) -> None:
        table = pa.table({"tag_id": tag_id, "ts": ts, "value": value, "quality": qual})
        cur = self._cursor()
        with contextlib.suppress(duckdb.Error):
            cur.unregister("_stage")
        cur.register("_stage", table)

    def _stage_rollup(self, x: Exec, rows: dict[str, np.ndarray]) -> None:
        cur = self._cursor()
        with contextlib.suppress(duckdb.Error):
            cur.unregister("_roll")
        cur.register("_roll", pa.table(rows))

    def _merge_stage(self, x: Exec, *, append: bool = False) -> None:
        if append:  # nothing to replace
            x("INSERT INTO points SELECT tag_id, ts, value, quality FROM _stage")
            return
        lo, hi = x("SELECT min(ts), max(ts) FROM _stage")[0]
        tags = ",".join(str(t) for (t,) in x("SELECT DISTINCT tag_id FROM _stage"))
        overlap = x(f"SELECT count(*) FROM points WHERE tag_id IN ({tags}) AND ts >= ? AND ts <= ?", (lo, hi))
        if overlap[0][0]:
            x(
                "DELETE FROM points USING _stage s WHERE points.tag_id = s.tag_id AND points.ts = s.ts "
                "AND points.ts >= ? AND points.ts <= ?",
                (lo, hi),
            )
        x("INSERT INTO points SELECT tag_id, ts, value, quality FROM _stage")

    def write_points(
        self, tag: Any, ts: Any, value: Any, quality: Any = "good", *, register: Sequence[TagInfo] = ()
    ) -> int:
        try:
            return super().write_points(tag, ts, value, quality, register=register)
        finally:
            with contextlib.suppress(duckdb.Error, v.StoreError):
                self._cursor().unregister("_stage")
            with contextlib.suppress(duckdb.Error, v.StoreError):
                self._cursor().unregister("_roll")

    def engine_memory_bytes(self) -> int | None:
        """DuckDB's own account of its memory (``duckdb_memory()``, DuckDB >= 0.10): the buffer manager's table
        blocks, indexes, transactions. It grows with the data until ``memory_limit`` (DuckDB "Limits"), then
        blocks are evicted to the file; everything else the process holds is outside it."""
        with self._read() as x:
            return int(x("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()")[0][0])

    def close(self) -> None:
        if self._closed:
            return
        with self._write_lock:
            self._closed = True
            with self._cursors_lock:
                for cur in self._cursors:
                    with contextlib.suppress(duckdb.Error):
                        cur.close()
                self._cursors.clear()
            for attempt in range(50):  # a call still running on the connection (e.g. a thread ending) refuses close
                try:
                    self._con.close()
                    break
                except duckdb.Error:
                    if attempt == 49:
                        raise
                try:
                    self._con.interrupt()
                except duckdb.ConnectionException:  # the refused close still closed it (seen under load): done
                    break
                time.sleep(0.02)
        log.info("DuckDB store at %s closed", self.path)
