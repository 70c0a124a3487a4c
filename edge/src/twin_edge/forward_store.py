"""On-disk store-and-forward buffer (sqlite3, stdlib).

While the broker (or the Primary Host) is unreachable, every polled value is appended here; after the next BIRTH
the gateway replays the rows oldest timestamp first as ``is_historical`` metrics and deletes them once they were
handed to the MQTT client. Values published shortly before a connection loss (QoS 0, maybe lost in flight) are
put back here too; the host drops the ones it already had. The file survives gateway restarts.

A file that is not this store (not SQLite, damaged by a power cut or a full disk, or another program's table) is
moved aside as ``<name>.unreadable-<UTC time>`` with its WAL and shared-memory files, logged as an error naming
both, and a fresh store is opened: the gateway goes on publishing, and the old file is kept for whoever can
recover it. A file that cannot be opened at all (locked by another process, not accessible) is left alone and
reported as an error naming it. Found by starting the gateway on a file of random bytes (2026-12-07): it stopped
with a traceback (``sqlite3.DatabaseError: file is not a database``) and polled nothing.

A write the file cannot take (the disk is full, an I/O error) loses only the values of that write: they are
counted in ``lost``, an error is logged (at most once a minute), the transaction is rolled back, and the gateway
goes on publishing live values; the next write tries again. Until 2026-12-07 the exception went up through the
gateway's poll loop and stopped the gateway, during the very broker outage the store is for.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from twin_edge.errors import EdgeError

logger = logging.getLogger(__name__)
LOG_EVERY_S = 60.0  # a failing file is logged at most this often


@dataclass(frozen=True, slots=True)
class StoredValue:
    row_id: int
    device_id: str
    metric: str
    timestamp: int
    value: float | int | bool


_COLUMNS = ("id", "device", "metric", "ts", "value", "is_bool")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value, is_bool INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pending_by_time ON pending (ts, id);
"""


def runs_by_device(rows: list[StoredValue]) -> list[list[StoredValue]]:
    """Split rows into consecutive runs of the same device (the replay sends each run as one DDATA)."""
    runs: list[list[StoredValue]] = []
    for row in rows:
        if runs and runs[-1][0].device_id == row.device_id:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _open(path: Path) -> tuple[sqlite3.Connection, int]:
    """The store's connection and row count; sqlite3.DatabaseError if the file is not (or no longer) this store."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        # read before anything is written, so that a file that is not ours is moved aside as it was found
        columns = [row[1] for row in db.execute("PRAGMA table_info(pending)")]  # "file is not a database"
        if columns and columns != list(_COLUMNS):
            raise sqlite3.DatabaseError(f"its table pending has the columns {columns}, not {list(_COLUMNS)}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db, int(db.execute("SELECT COUNT(*) FROM pending").fetchone()[0])
    except sqlite3.DatabaseError:
        db.close()
        raise


def _move_aside(path: Path) -> Path:
    """Rename ``path`` (and its -wal and -shm files) to ``<name>.unreadable-<UTC time>``; the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.unreadable-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.rename(aside.with_name(aside.name + suffix))
    return aside


class ForwardStore:
    """Values not yet published, replayed oldest timestamp first; bounded by ``max_records`` (oldest dropped and
    counted in ``dropped``). Thread-safe: the gateway's loop writes, monitoring may read :meth:`count`."""

    def __init__(self, path: Path, *, max_records: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db, self._count = _open(path)
        except sqlite3.OperationalError as exc:  # locked by another process, no access, I/O: not the file's content
            raise EdgeError(f"store.path = {str(path)!r}: the store-and-forward file cannot be opened ({exc})") from exc
        except sqlite3.DatabaseError as exc:  # not SQLite, corrupt, or not this store's table: the content
            aside = _move_aside(path)
            logger.error(
                "store-and-forward file %s is unreadable (%s): moved to %s, starting an empty store", path, exc, aside
            )
            try:
                self._db, self._count = _open(path)
            except sqlite3.DatabaseError as again:
                raise EdgeError(
                    f"store.path = {str(path)!r}: a new store-and-forward file cannot be made ({again})"
                ) from again
        self._max_records = max_records
        self._lock = threading.Lock()
        self.dropped = 0  # oldest values dropped to stay within max_records
        self.lost = 0  # values a failed write could not store (module docstring)
        self._error_logged_at = -LOG_EVERY_S

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, rows: Sequence[tuple[str, str, int, float | int | bool]]) -> None:
        """Append (device, metric, timestamp_ms, value) rows."""
        if not rows:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO pending (device, metric, ts, value, is_bool) VALUES (?, ?, ?, ?, ?)",
                    [(d, m, t, v, isinstance(v, bool)) for d, m, t, v in rows],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._failed("storing", len(rows), exc)
                return
            self._count += len(rows)
            overflow = self._count - self._max_records
            if overflow > 0:
                try:
                    self._db.execute(
                        "DELETE FROM pending WHERE id IN (SELECT id FROM pending ORDER BY ts, id LIMIT ?)", (overflow,)
                    )
                except sqlite3.Error as exc:  # kept for now: the bound is tried again at the next write
                    self._failed("dropping the oldest", 0, exc)
                    return
                self._count -= overflow
                self.dropped += overflow
                logger.warning("store-and-forward buffer full: dropped %d oldest values", overflow)

    def _failed(self, action: str, lost: int, exc: sqlite3.Error) -> None:
        """A write the file could not take: roll back, count what is lost, log at most once a minute."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        self.lost += lost
        now = time.monotonic()
        if now - self._error_logged_at >= LOG_EVERY_S:
            self._error_logged_at = now
            logger.error(
                "store-and-forward file: %s values failed (%s: %s); %d values lost so far (counters: lost)",
                action, type(exc).__name__, exc, self.lost,
            )

    def count(self) -> int:
        with self._lock:
            return self._count

    def oldest(self, limit: int) -> list[StoredValue]:
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT id, device, metric, ts, value, is_bool FROM pending ORDER BY ts, id LIMIT ?", (limit,)
                ).fetchall()
            except sqlite3.Error as exc:  # nothing to replay this time; tried again at the next replay
                self._failed("reading stored", 0, exc)
                return []
        return [StoredValue(r[0], r[1], r[2], r[3], bool(r[4]) if r[5] else r[4]) for r in rows]

    def delete(self, row_ids: list[int]) -> None:
        """Delete replayed rows; if the file cannot take it, they stay and are replayed again (the host drops a
        value it already has)."""
        if not row_ids:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN")
                cursor = self._db.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in row_ids])
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._failed("deleting replayed", 0, exc)
                return
            self._count -= cursor.rowcount
