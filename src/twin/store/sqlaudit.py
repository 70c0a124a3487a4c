"""The setpoint audit trail (issue 10 item 7): who proposed, confirmed and wrote which setpoint, and what the
PLC read back. A mixin for :class:`twin.store.sqlstore.SqlStore`; it needs only ``_tx`` and ``_read``.

Append-only: rows are never updated or deleted (compaction leaves the table alone). The primary key
(proposal_id, event) makes each event happen at most once per proposal; :meth:`add_setpoint_event` checks and
inserts inside one write transaction (serialised: DuckDB's write lock, PostgreSQL's advisory lock), so two
confirmations of one proposal racing each other give one ``True`` and one ``False``.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from typing import Any

from twin.store import validate as v
from twin.store.model import SETPOINT_EVENTS, SetpointEvent

Exec = Callable[..., list[tuple[Any, ...]]]
MAX_DETAIL = 400
_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_COLUMNS = "proposal_id, event, ts, actor, target, setpoint, value, detail"


def _text(value: object, field: str, limit: int = 200) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise v.error(field, value, f"a string of 1-{limit} characters")
    return value


class SetpointAuditMixin:
    def _tx(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def add_setpoint_event(self, event: SetpointEvent) -> bool:
        if not isinstance(event, SetpointEvent):
            raise v.error("event", type(event).__name__, "a SetpointEvent")
        if not isinstance(event.proposal_id, str) or not _ID_RE.fullmatch(event.proposal_id):
            raise v.error("proposal_id", event.proposal_id, "1-64 characters from A-Z a-z 0-9 _ -")
        if event.event not in SETPOINT_EVENTS:
            raise v.error("event", event.event, f"one of {', '.join(SETPOINT_EVENTS)}")
        value = event.value
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise v.error("value", value, "a number or None")
        if value is not None and not math.isfinite(value):
            value = None  # kept in words in the detail; the column holds finite numbers only
        detail = event.detail if isinstance(event.detail, str) else str(event.detail)
        row = (
            event.proposal_id,
            event.event,
            v.to_us(event.at, "at"),
            _text(event.actor, "actor"),
            _text(event.target, "target"),
            _text(event.setpoint, "setpoint"),
            None if value is None else float(value),
            detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 1] + "…",
        )
        with self._tx() as x:
            if x("SELECT 1 FROM setpoint_audit WHERE proposal_id = ? AND event = ?", row[:2]):
                return False
            x(f"INSERT INTO setpoint_audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        return True

    def setpoint_events(self, proposal_id: str | None = None, *, limit: int = 100) -> list[SetpointEvent]:
        n = v.check_limit(limit, maximum=10_000)
        with self._read() as x:
            if proposal_id is None:
                rows = x(f"SELECT {_COLUMNS} FROM setpoint_audit ORDER BY ts DESC, event DESC LIMIT ?", (n,))
            else:
                if not isinstance(proposal_id, str) or not _ID_RE.fullmatch(proposal_id):
                    raise v.error("proposal_id", proposal_id, "1-64 characters from A-Z a-z 0-9 _ -")
                rows = x(
                    f"SELECT {_COLUMNS} FROM setpoint_audit WHERE proposal_id = ? ORDER BY ts, event LIMIT ?",
                    (proposal_id, n),
                )
        order = {e: i for i, e in enumerate(SETPOINT_EVENTS)}
        events = [SetpointEvent(r[0], r[1], v.from_us(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]
        if proposal_id is not None:
            # In lifecycle order, not by time: the clocks that stamp the rows differ (the API's for proposed and
            # confirmed, the DCMD's and the read-back sample's for written and readback, milliseconds only).
            events.sort(key=lambda e: order[e.event])
        return events
