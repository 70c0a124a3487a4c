"""Operator actions on alarms: acknowledge and shelve, shared by every client of one API process.

The live twin owns the alarms (raised and cleared by its detectors, :mod:`twin.live.alarms`); this book owns only
what operators did about them, keyed by alarm id. It is held in memory (a restart forgets it: acknowledgements
are a shift's working state, not a record) and bounded: past ``max_entries`` the oldest entries are dropped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from twin.errors import TwinError

MAX_SHELVE_H = 24.0


class AlarmActions:
    """Acknowledgements and shelving per alarm id (thread-safe)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise TwinError(f"AlarmActions max_entries = {max_entries} is invalid; expected >= 1")
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._book: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def _entry(self, alarm_id: str) -> dict[str, Any]:
        entry = self._book.pop(alarm_id, None) or {}
        self._book[alarm_id] = entry  # most recently touched last
        while len(self._book) > self.max_entries:
            self._book.popitem(last=False)
        return entry

    def acknowledge(self, alarm_id: str, by: str, now: datetime | None = None) -> dict[str, Any]:
        """Mark ``alarm_id`` acknowledged by ``by`` (a key id); a second acknowledgement keeps the first."""
        with self._lock:
            entry = self._entry(alarm_id)
            entry.setdefault("acknowledged_at", now or datetime.now(UTC))
            entry.setdefault("acknowledged_by", by)
            return dict(entry)

    def shelve(self, alarm_id: str, hours: float, by: str, now: datetime | None = None) -> dict[str, Any]:
        """Hide ``alarm_id`` from the alarm list for ``hours`` (0 < hours <= 24)."""
        if not 0 < hours <= MAX_SHELVE_H:
            raise TwinError(f"hours = {hours!r} is invalid; expected 0 < hours <= {MAX_SHELVE_H:g}")
        with self._lock:
            entry = self._entry(alarm_id)
            entry["shelved_until"] = (now or datetime.now(UTC)) + timedelta(hours=hours)
            entry["shelved_by"] = by
            return dict(entry)

    def unshelve(self, alarm_id: str) -> dict[str, Any]:
        """Show ``alarm_id`` again (an id the book does not hold is not added)."""
        with self._lock:
            entry = self._book.get(alarm_id, {})
            entry.pop("shelved_until", None)
            entry.pop("shelved_by", None)
            return dict(entry)

    def all(self, now: datetime | None = None) -> dict[str, dict[str, Any]]:
        """Every alarm's actions; shelving that has run out is left out."""
        now = now or datetime.now(UTC)
        with self._lock:
            out = {}
            for alarm_id, entry in self._book.items():
                e = dict(entry)
                if e.get("shelved_until") is not None and e["shelved_until"] <= now:
                    e.pop("shelved_until")
                    e.pop("shelved_by", None)
                if e:
                    out[alarm_id] = e
            return out
