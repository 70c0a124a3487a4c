"""On-disk store-and-forward buffer (sqlite3, stdlib) plus the persisted bdSeq.

While the broker (or the Primary Host) is unreachable, every polled value is appended here; after the next BIRTH
the gateway replays the rows oldest timestamp first as ``is_historical`` metrics and deletes them once they were
handed to the MQTT client. Values published shortly before a connection loss (QoS 0, maybe lost in flight) are
put back here too; the host drops the ones it already had. The file survives gateway restarts.
"""

from __future__ import annotations

import logging
import sqlite3
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
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class ForwardStore:
    """Append-only FIFO of values not yet published, bounded by ``max_records`` (oldest dropped, and counted)."""

    def __init__(self, path: Path, *, max_records: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._max_records = max_records
        self.dropped = 0

    def close(self) -> None:
        self._db.close()

    # -- bdSeq -------------------------------------------------------------------------------------------
    def load_bdseq(self) -> int | None:
        row = self._db.execute("SELECT value FROM kv WHERE key = 'bdSeq'").fetchone()
        return None if row is None else int(row[0])

    def save_bdseq(self, bdseq: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES ('bdSeq', ?)", (bdseq,))

    # -- pending values ----------------------------------------------------------------------------------
    def append(self, rows: Sequence[tuple[str, str, int, float | int | bool]]) -> None:
        """Append (device, metric, timestamp_ms, value) rows in order."""
        if not rows:
            return
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO pending (device, metric, ts, value, is_bool) VALUES (?, ?, ?, ?, ?)",
            [(d, m, t, v, isinstance(v, bool)) for d, m, t, v in rows],
        )
        self._db.execute("COMMIT")
        overflow = self.count() - self._max_records
        if overflow > 0:
            self._db.execute(
                "DELETE FROM pending WHERE id IN (SELECT id FROM pending ORDER BY ts, id LIMIT ?)", (overflow,)
            )
            self.dropped += overflow
            logger.warning("store-and-forward buffer full: dropped %d oldest values", overflow)

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    def oldest(self, limit: int) -> list[StoredValue]:
        rows = self._db.execute(
            "SELECT id, device, metric, ts, value, is_bool FROM pending ORDER BY ts, id LIMIT ?", (limit,)
        ).fetchall()
        return [StoredValue(r[0], r[1], r[2], r[3], bool(r[4]) if r[5] else r[4]) for r in rows]

    def delete(self, row_ids: list[int]) -> None:
        self._db.executemany("DELETE FROM pending WHERE id = ?", [(i,) for i in row_ids])
