"""On-disk store-and-forward buffer (sqlite3, stdlib).

While the broker (or the Primary Host) is unreachable, every polled value is appended here; after the next BIRTH
the gateway replays the rows oldest timestamp first as ``is_historical`` metrics and deletes them once they were
handed to the MQTT client. Values published shortly before a connection loss (QoS 0, maybe lost in flight) are
put back here too; the host drops the ones it already had. The file survives gateway restarts.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredValue:
    row_id: int
    device_id: str
    metric: str
    timestamp: int
    value: float | int | bool


_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value, is_bool INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS pending_by_time ON pending (ts, id);
"""


class ForwardStore:
    """Values not yet published, replayed oldest timestamp first; bounded by ``max_records`` (oldest dropped and
    counted in ``dropped``). Thread-safe: the gateway's loop writes, monitoring may read :meth:`count`."""

    def __init__(self, path: Path, *, max_records: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._max_records = max_records
        self._lock = threading.Lock()
        self._count = int(self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0])
        self.dropped = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, rows: Sequence[tuple[str, str, int, float | int | bool]]) -> None:
        """Append (device, metric, timestamp_ms, value) rows."""
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO pending (device, metric, ts, value, is_bool) VALUES (?, ?, ?, ?, ?)",
                [(d, m, t, v, isinstance(v, bool)) for d, m, t, v in rows],
            )
            self._db.execute("COMMIT")
            self._count += len(rows)
            overflow = self._count - self._max_records
            if overflow > 0:
                self._db.execute(
                    "DELETE FROM pending WHERE id IN (SELECT id FROM pending ORDER BY ts, id LIMIT ?)", (overflow,)
                )
                self._count -= overflow
                self.dropped += overflow
                logger.warning("store-and-forward buffer full: dropped %d oldest values", overflow)

    def count(self) -> int:
        with self._lock:
            return self._count

    def oldest(self, limit: int) -> list[StoredValue]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, device, metric, ts, value, is_bool FROM pending ORDER BY ts, id LIMIT ?", (limit,)
            ).fetchall()
        return [StoredValue(r[0], r[1], r[2], r[3], bool(r[4]) if r[5] else r[4]) for r in rows]

    def delete(self, row_ids: list[int]) -> None:
        if not row_ids:
            return
        with self._lock:
            self._db.execute("BEGIN")
            cursor = self._db.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in row_ids])
            self._db.execute("COMMIT")
            self._count -= cursor.rowcount
