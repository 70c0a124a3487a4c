"""Operator actions on alarms: acknowledge and shelve, shared by every client of one API process.

The live twin owns the alarms (raised and cleared by its detectors, :mod:`twin.live.alarms`, and by setpoint
read-backs, :mod:`twin.live.setpoint_alarms`); this book owns only what operators did about them, keyed by alarm
id, with who and when. With a store (the API's), every action is written to it before it is answered
(table ``alarm_actions``) and the book is restored from it when the service starts, so a restart keeps the
shift's acknowledgements and shelving; the store keeps the first acknowledgement even when two processes race.
Without a store it is held in memory only. In memory it is bounded: past ``max_entries`` the least recently
touched entries are dropped (and not restored either).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from twin.errors import TwinError
from twin.store import AlarmActionRecord, Store

MAX_SHELVE_H = 24.0


def _entry_of(record: AlarmActionRecord) -> dict[str, Any]:
    fields = ("acknowledged_at", "acknowledged_by", "shelved_at", "shelved_until", "shelved_by")
    return {f: getattr(record, f) for f in fields if getattr(record, f) is not None}


class AlarmActions:
    """Acknowledgements and shelving per alarm id (thread-safe), persisted in ``store`` when one is given."""

    def __init__(self, store: Store | None = None, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise TwinError(f"AlarmActions max_entries = {max_entries} is invalid; expected >= 1")
        self.max_entries = max_entries
        self._store = store
        self._lock = threading.Lock()
        self._book: OrderedDict[str, dict[str, Any]] = OrderedDict()
        if store is not None:  # restore what operators did before the restart, oldest change first
            for record in store.alarm_actions(limit=max_entries):
                self._book[record.alarm_id] = _entry_of(record)

    def _put(self, alarm_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        self._book.pop(alarm_id, None)
        self._book[alarm_id] = entry  # most recently touched last
        while len(self._book) > self.max_entries:
            self._book.popitem(last=False)
        return dict(entry)

    def acknowledge(self, alarm_id: str, by: str, now: datetime | None = None) -> dict[str, Any]:
        """Mark ``alarm_id`` acknowledged by ``by`` (a key id); a second acknowledgement keeps the first."""
        at = now or datetime.now(UTC)
        with self._lock:
            if self._store is not None:
                return self._put(alarm_id, _entry_of(self._store.acknowledge_alarm(alarm_id, by, at)))
            entry = dict(self._book.get(alarm_id, {}))
            entry.setdefault("acknowledged_at", at)
            entry.setdefault("acknowledged_by", by)
            return self._put(alarm_id, entry)

    def shelve(self, alarm_id: str, hours: float, by: str, now: datetime | None = None) -> dict[str, Any]:
        """Hide ``alarm_id`` from the alarm list for ``hours`` (0 < hours <= 24)."""
        if not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= MAX_SHELVE_H:
            raise TwinError(f"hours = {hours!r} is invalid; expected 0 < hours <= {MAX_SHELVE_H:g}")
        at = now or datetime.now(UTC)
        until = at + timedelta(hours=hours)
        with self._lock:
            if self._store is not None:
                return self._put(alarm_id, _entry_of(self._store.shelve_alarm(alarm_id, by, at, until)))
            entry = dict(self._book.get(alarm_id, {}))
            entry.update(shelved_at=at, shelved_until=until, shelved_by=by)
            return self._put(alarm_id, entry)

    def unshelve(self, alarm_id: str, now: datetime | None = None) -> dict[str, Any] | None:
        """Show ``alarm_id`` again; None (and nothing added) when the book holds no action on it."""
        with self._lock:
            if self._store is not None:
                record = self._store.unshelve_alarm(alarm_id, now or datetime.now(UTC))
                return None if record is None else self._put(alarm_id, _entry_of(record))
            entry = self._book.get(alarm_id)
            if entry is None:
                return None
            for f in ("shelved_at", "shelved_until", "shelved_by"):
                entry.pop(f, None)
            return dict(entry)

    def all(self, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """Every alarm's actions; shelving that has run out is left out."""
        now = now or datetime.now(UTC)
        with self._lock:
            out = {}
            for alarm_id, entry in self._book.items():
                e = dict(entry)
                if e.get("shelved_until") is not None and e["shelved_until"] <= now:
                    for f in ("shelved_at", "shelved_until", "shelved_by"):
                        e.pop(f, None)
                if e:
                    out[alarm_id] = e
            return out
