"""Operators' alarm actions (issue 11 item 1): acknowledged and shelved, by whom and when, kept across restarts.

A mixin for :class:`twin.store.sqlstore.SqlStore`; it needs only ``_tx`` and ``_read``. One row per alarm id.
Each change is a read-modify-write inside one write transaction (serialised: DuckDB's write lock, PostgreSQL's
advisory lock), so two acknowledgements racing each other keep the first. Compaction leaves the table alone.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from twin.store import validate as v
from twin.store.model import AlarmActionRecord

Exec = Callable[..., list[tuple[Any, ...]]]
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$")
_COLS = "alarm_id, updated, acknowledged_at, acknowledged_by, shelved_at, shelved_until, shelved_by"


def _alarm_id(alarm_id: object) -> str:
    if not isinstance(alarm_id, str) or not _ID_RE.fullmatch(alarm_id):
        raise v.error("alarm_id", alarm_id, "1-100 characters from A-Z a-z 0-9 _ . : - (starting with a letter/digit)")
    return alarm_id


def _who(by: object) -> str:
    if not isinstance(by, str) or not 1 <= len(by) <= 200:
        raise v.error("by", by, "a string of 1-200 characters (an API key id)")
    return by


def _record(row: tuple[Any, ...]) -> AlarmActionRecord:
    def t(us: int | None) -> datetime | None:
        return None if us is None else v.from_us(int(us))

    return AlarmActionRecord(row[0], v.from_us(int(row[1])), t(row[2]), row[3], t(row[4]), t(row[5]), row[6])


class AlarmActionsMixin:
    def _tx(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def acknowledge_alarm(self, alarm_id: str, by: str, at: datetime) -> AlarmActionRecord:
        key, who, at_us = _alarm_id(alarm_id), _who(by), v.to_us(at, "at")
        with self._tx() as x:
            rows = x(f"SELECT {_COLS} FROM alarm_actions WHERE alarm_id = ?", (key,))
            if not rows:
                x(
                    "INSERT INTO alarm_actions (alarm_id, updated, acknowledged_at, acknowledged_by) "
                    "VALUES (?, ?, ?, ?)",
                    (key, at_us, at_us, who),
                )
            elif rows[0][2] is None:
                x(
                    "UPDATE alarm_actions SET updated = ?, acknowledged_at = ?, acknowledged_by = ? WHERE alarm_id = ?",
                    (at_us, at_us, who, key),
                )
            rows = x(f"SELECT {_COLS} FROM alarm_actions WHERE alarm_id = ?", (key,))
        return _record(rows[0])

    def shelve_alarm(self, alarm_id: str, by: str, at: datetime, until: datetime) -> AlarmActionRecord:
        key, who, at_us = _alarm_id(alarm_id), _who(by), v.to_us(at, "at")
        until_us = v.to_us(until, "until")
        if until_us <= at_us:
            raise v.error("until", until, f"a time after at = {at.isoformat()}")
        with self._tx() as x:
            if x("SELECT 1 FROM alarm_actions WHERE alarm_id = ?", (key,)):
                x(
                    "UPDATE alarm_actions SET updated = ?, shelved_at = ?, shelved_until = ?, shelved_by = ? "
                    "WHERE alarm_id = ?",
                    (at_us, at_us, until_us, who, key),
                )
            else:
                x(
                    "INSERT INTO alarm_actions (alarm_id, updated, shelved_at, shelved_until, shelved_by) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (key, at_us, at_us, until_us, who),
                )
            rows = x(f"SELECT {_COLS} FROM alarm_actions WHERE alarm_id = ?", (key,))
        return _record(rows[0])

    def unshelve_alarm(self, alarm_id: str, at: datetime) -> AlarmActionRecord | None:
        key, at_us = _alarm_id(alarm_id), v.to_us(at, "at")
        with self._tx() as x:
            if not x("SELECT 1 FROM alarm_actions WHERE alarm_id = ?", (key,)):
                return None
            x(
                "UPDATE alarm_actions SET updated = ?, shelved_at = NULL, shelved_until = NULL, shelved_by = NULL "
                "WHERE alarm_id = ?",
                (at_us, key),
            )
            rows = x(f"SELECT {_COLS} FROM alarm_actions WHERE alarm_id = ?", (key,))
        return _record(rows[0])

    def alarm_actions(self, limit: int = 10_000) -> list[AlarmActionRecord]:
        n = v.check_limit(limit, maximum=100_000)
        with self._read() as x:
            rows = x(f"SELECT {_COLS} FROM alarm_actions ORDER BY updated DESC, alarm_id DESC LIMIT ?", (n,))
        return [_record(r) for r in reversed(rows)]
