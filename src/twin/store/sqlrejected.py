"""The quarantine table: points refused one by one, so that one bad point never costs its batch.

A mixin for :class:`twin.store.sqlstore.SqlStore`; it needs only ``_tx`` and ``_read``. Every field is text
(bounded in length), because the tag or the time may be exactly what was wrong with the point.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from twin.store import validate as v
from twin.store.model import RejectedPoint

Exec = Callable[..., list[tuple[Any, ...]]]
MAX_TEXT = 400  # characters kept of each text field


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class RejectedMixin:
    def _tx(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def write_rejected(self, points: Sequence[RejectedPoint]) -> int:
        rows = []
        for i, p in enumerate(points):
            if not isinstance(p, RejectedPoint):
                raise v.error(f"points[{i}]", type(p).__name__, "a RejectedPoint")
            rows.append(
                (
                    v.to_us(p.received, f"points[{i}].received"),
                    *(_clip(str(f)) for f in (p.source, p.tag, p.ts, p.value, p.reason)),
                )
            )
        if rows:
            with self._tx() as x:
                for row in rows:
                    x("INSERT INTO rejected_points VALUES (?, ?, ?, ?, ?, ?)", row)
        return len(rows)

    def rejected(self, limit: int = 100) -> list[RejectedPoint]:
        n = v.check_limit(limit)
        with self._read() as x:
            rows = x(
                "SELECT received, source, tag, ts, value, reason FROM rejected_points ORDER BY received DESC LIMIT ?",
                (n,),
            )
        return [RejectedPoint(v.from_us(r[0]), *r[1:]) for r in rows]
