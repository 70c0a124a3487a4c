"""PostgreSQL backend (psycopg 3) for deployments with several processes.

All tables live in one schema (``search_path``), so several twins — or several tests — can share a database.
Writers take a transaction-level advisory lock on the schema, which serialises rollup maintenance across
processes; readers never block (MVCC). Batches are staged with a binary ``COPY`` built by numpy.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg.conninfo import conninfo_to_dict

from twin.store import validate as v
from twin.store.sqlschema import ROLL_COLUMNS
from twin.store.sqlstore import Exec, SqlStore, translate

log = logging.getLogger(__name__)
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONNECT_TIMEOUT_S = 10  # [C] a blackholed server must not hold a writer or a request for libpq's default (none)
#: SQLSTATE classes of a server that cannot serve now, whatever the request (PostgreSQL manual, Appendix A):
#: 08 connection exception, 53 insufficient resources (disk full, out of memory), 57P admin or crash shutdown,
#: "cannot connect now" (a server starting up), 58 system error (I/O)
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "58")


def _lost(exc: BaseException) -> bool:
    """Whether a driver error means the server could not be reached or serve (retry later), not that it refused
    this request: a connection psycopg knows is closed, a connection lost without a server answer (no
    SQLSTATE), or one of ``_UNAVAILABLE_SQLSTATES``."""
    if isinstance(exc, psycopg.InterfaceError):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith(_UNAVAILABLE_SQLSTATES)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"


def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def copy_buffer(tag_id: np.ndarray, ts: np.ndarray, value: np.ndarray, qual: np.ndarray) -> bytes:
    """The point batch in PostgreSQL's binary COPY format, built without a Python loop per row."""
    return copy_columns([(tag_id, ">i4"), (ts, ">i8"), (value, ">f8"), (qual, ">i2")])


def copy_columns(columns: list[tuple[np.ndarray, str]]) -> bytes:
    """Rows of the given columns (array, big-endian numpy type) in PostgreSQL's binary COPY format."""
    n = len(columns[0][0]) if columns else 0
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for k, (_, kind) in enumerate(columns):
        fields += [(f"l{k}", ">i4"), (f"c{k}", kind)]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["n"] = len(columns)
    for k, (col, kind) in enumerate(columns):
        rows[f"l{k}"] = np.dtype(kind).itemsize
        rows[f"c{k}"] = col
    return _COPY_HEADER + rows.tobytes() + b"\xff\xff"


class _PgExec:
    """Runs ``?``-style SQL on one connection and returns all rows."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def __call__(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        # without parameters psycopg reads the text as is ("%" unescaped); with them, "?" become "%s"
        cur = self.conn.execute(_pg_sql(sql), params) if params else self.conn.execute(sql)
        return cur.fetchall() if cur.description else []


class PostgresStore(SqlStore):
    """The server store. ``conninfo`` is a libpq string or URL; ``schema`` is created if missing."""

    def __init__(
        self,
        conninfo: str = "host=127.0.0.1 port=5432 user=postgres dbname=test",
        *,
        schema: str = "twin",
        retention: timedelta = timedelta(days=7),
        pool_size: int = 8,
    ) -> None:
        super().__init__(retention)
        if not isinstance(schema, str) or not SCHEMA_RE.fullmatch(schema):
            raise v.error("schema", schema, "a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 chars)")
        self.schema = schema
        self._conninfo = conninfo
        self._opened = False  # a connection failure while opening is a bad conninfo; afterwards, an outage
        self._pool: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(v.check_limit(pool_size, "pool_size", 64))
        self._closed = False
        with self._connection() as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        self._create_schema()
        self._opened = True
        log.info("PostgreSQL store opened (schema %s, retention %s)", schema, retention)

    def _connect(self) -> psycopg.Connection[Any]:
        given = conninfo_to_dict(self._conninfo)
        timeout = {} if "connect_timeout" in given else {"connect_timeout": CONNECT_TIMEOUT_S}
        try:
            return psycopg.connect(
                self._conninfo, autocommit=True, options=f"-c search_path={self.schema}", **timeout
            )
        except psycopg.Error as exc:
            # The message of a failed connection never contains the password; the conninfo is not logged.
            if self._opened:  # it worked before: the server is down, restarting or cut off
                raise v.unavailable("connection", exc) from exc
            raise v.error("conninfo", "<hidden>", f"a reachable PostgreSQL server ({exc})") from exc

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise v.error("store", "closed", "an open store")
        self._slots.acquire()
        conn = None
        try:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                conn = self._connect()
            yield conn
        finally:
            if conn is not None:
                if conn.broken or conn.closed or self._closed:
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                else:
                    self._pool.put(conn)
            self._slots.release()

    @staticmethod
    def _executor(conn: psycopg.Connection[Any]) -> _PgExec:
        return _PgExec(conn)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Exec]:
        with self._connection() as conn, translate((psycopg.Error,), "write", _lost), conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
            yield self._executor(conn)

    @contextlib.contextmanager
    def _read(self) -> Iterator[Exec]:
        with self._connection() as conn, translate((psycopg.Error,), "query", _lost):
            yield self._executor(conn)

    def _points_suffix(self) -> str:
        return ", PRIMARY KEY (tag_id, ts)"

    def _stage_points(self, x: Exec, tag_id: np.ndarray, ts: np.ndarray, value: np.ndarray, qual: np.ndarray) -> None:
        x(
            "CREATE TEMP TABLE IF NOT EXISTS _stage (tag_id INTEGER, ts BIGINT, value DOUBLE PRECISION, "
            "quality SMALLINT) ON COMMIT DELETE ROWS"
        )
        self._copy_into_stage(x, copy_buffer(tag_id, ts, value, qual))

    def _copy_into_stage(self, x: Exec, data: bytes) -> None:
        assert isinstance(x, _PgExec)
        with x.conn.cursor().copy("COPY _stage FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)

    def _stage_rollup(self, x: Exec, rows: dict[str, np.ndarray]) -> None:
        x(
            "CREATE TEMP TABLE IF NOT EXISTS _roll (tag_id INTEGER, bucket BIGINT, n BIGINT, total DOUBLE PRECISION, "
            "vmin DOUBLE PRECISION, vmax DOUBLE PRECISION, integral DOUBLE PRECISION, duration DOUBLE PRECISION) "
            "ON COMMIT DELETE ROWS"
        )
        data = copy_columns([(rows[c], ">i4" if c == "tag_id" else ">f8" if rows[c].dtype.kind == "f" else ">i8")
                             for c in ROLL_COLUMNS])
        assert isinstance(x, _PgExec)
        with x.conn.cursor().copy("COPY _roll FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)

    def _merge_stage(self, x: Exec, *, append: bool = False) -> None:
        x(
            "INSERT INTO points SELECT tag_id, ts, value, quality FROM _stage "
            "ON CONFLICT (tag_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality"
        )

    def drop_schema(self) -> None:
        """Delete every table of this store (tests and teardown); the store is closed afterwards."""
        with self._connection() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self.close()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                break
            with contextlib.suppress(psycopg.Error):
                conn.close()
