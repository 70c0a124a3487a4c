"""Event frames (issue 11 item 3): a mixin for :class:`twin.store.sqlstore.SqlStore` over ``_tx``/``_read``.

One row per frame: id, kind, asset, start and end (epoch µs; end NULL while open) and the attributes as a
JSON object of flat name → number, text or boolean. Pages are keyset-paged on (start, id), so a page is
stable while frames are added behind it. Retention (compaction) leaves frames alone.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from twin.store import validate as v
from twin.store.model import EVENT_KINDS, EventFrame, EventFramePage

Exec = Callable[..., list[tuple[Any, ...]]]
MAX_FRAMES_PER_WRITE = 10_000
MAX_PAGE = 10_000
MAX_ATTRIBUTES = 32
MAX_TEXT = 200
_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_ASSET_RE = re.compile(r"^(plant|potline:\d{1,3}|cell:\d{1,3}-\d{1,4}|unit:[\w\-]{1,32}|rectifier:[\w\-]{1,32})$")
_ATTR_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_COLS = "frame_id, kind, asset, start_ts, end_ts, attributes"


def _check(frame: object, i: int) -> tuple[Any, ...]:
    if not isinstance(frame, EventFrame):
        raise v.error(f"frames[{i}]", type(frame).__name__, "an EventFrame")
    if not isinstance(frame.frame_id, str) or not _ID_RE.fullmatch(frame.frame_id):
        raise v.error(f"frames[{i}].frame_id", frame.frame_id, "1-128 characters from A-Z a-z 0-9 _ . : -")
    if frame.kind not in EVENT_KINDS:
        raise v.error(f"frames[{i}].kind", frame.kind, "one of " + ", ".join(EVENT_KINDS))
    if not isinstance(frame.asset, str) or not _ASSET_RE.fullmatch(frame.asset):
        raise v.error(f"frames[{i}].asset", frame.asset, "plant, potline:N, cell:N-NNN, unit:NAME or rectifier:NAME")
    start = v.to_us(frame.start, f"frames[{i}].start")
    end = None if frame.end is None else v.to_us(frame.end, f"frames[{i}].end")
    if end is not None and end < start:
        raise v.error(f"frames[{i}].end", frame.end, f"a time not before start = {frame.start.isoformat()}")
    attrs = frame.attributes
    if not isinstance(attrs, dict) or len(attrs) > MAX_ATTRIBUTES:
        raise v.error(f"frames[{i}].attributes", attrs, f"a dict of at most {MAX_ATTRIBUTES} entries")
    for name, val in attrs.items():
        field = f"frames[{i}].attributes[{name!r}]"
        if not isinstance(name, str) or not _ATTR_RE.fullmatch(name):
            raise v.error(field, name, "a name of letters, digits and _ (1-64, starting with a letter)")
        if isinstance(val, float) and not math.isfinite(val):
            raise v.error(field, val, "a finite number")
        if isinstance(val, str) and len(val) > MAX_TEXT:
            raise v.error(field, val[:40] + "…", f"text of at most {MAX_TEXT} characters")
        if not isinstance(val, bool | int | float | str):
            raise v.error(field, val, "a number, text or boolean")
    return frame.frame_id, frame.kind, frame.asset, start, end, json.dumps(attrs, sort_keys=True)


def _encode(start_us: int, frame_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([start_us, frame_id]).encode()).decode().rstrip("=")


def _decode(cursor: object) -> tuple[int, str]:
    bad = v.error("cursor", cursor, "a next_cursor from an earlier page of the same query")
    if not isinstance(cursor, str) or len(cursor) > 400:
        raise bad
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:  # not base64, not UTF-8 or not JSON: the same user error
        raise bad from None
    if not (isinstance(decoded, list) and len(decoded) == 2):
        raise bad
    start_us, frame_id = decoded
    if isinstance(start_us, bool) or not isinstance(start_us, int) or not isinstance(frame_id, str):
        raise bad
    return start_us, frame_id


def _asset_filter(asset: str) -> tuple[str, tuple[Any, ...]]:
    """The asset and what lies under it: a potline's cells and rectifiers, the plant's everything."""
    if asset == "plant":
        return "", ()
    if asset.startswith("potline:"):
        n = asset.split(":", 1)[1]
        return " AND (asset = ? OR asset LIKE ? OR asset LIKE ?)", (asset, f"cell:{n}-%", f"rectifier:{n}-%")
    return " AND asset = ?", (asset,)


class EventFramesMixin:
    def _tx(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def write_event_frames(self, frames: Sequence[EventFrame]) -> int:
        if isinstance(frames, EventFrame) or not isinstance(frames, Sequence):
            raise v.error("frames", type(frames).__name__, "a sequence of EventFrame")
        if len(frames) > MAX_FRAMES_PER_WRITE:
            raise v.error("frames", f"{len(frames)} frames", f"at most {MAX_FRAMES_PER_WRITE} per write")
        rows = [_check(f, i) for i, f in enumerate(frames)]
        with self._tx() as x:
            for row in rows:
                x("DELETE FROM event_frames WHERE frame_id = ?", (row[0],))
                x(f"INSERT INTO event_frames ({_COLS}) VALUES (?, ?, ?, ?, ?, ?)", row)
        return len(rows)

    def event_frames(
        self,
        start: datetime,
        end: datetime,
        *,
        kinds: Sequence[str] | None = None,
        asset: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> EventFramePage:
        lo, hi = v.check_range(start, end)
        n = v.check_limit(limit, maximum=MAX_PAGE)
        where = "start_ts < ? AND (end_ts IS NULL OR end_ts >= ?)"
        args: tuple[Any, ...] = (hi, lo)
        if kinds:
            bad = [k for k in kinds if k not in EVENT_KINDS]
            if bad:
                raise v.error("kind", bad[0], "one of " + ", ".join(EVENT_KINDS))
            where += " AND kind IN (" + ",".join("?" * len(set(kinds))) + ")"
            args += tuple(sorted(set(kinds)))
        if asset is not None:
            if not isinstance(asset, str) or not _ASSET_RE.fullmatch(asset):
                raise v.error("asset", asset, "plant, potline:N, cell:N-NNN, unit:NAME or rectifier:NAME")
            extra, extra_args = _asset_filter(asset)
            where += extra
            args += extra_args
        if cursor is not None:
            after_ts, after_id = _decode(cursor)
            where += " AND (start_ts > ? OR (start_ts = ? AND frame_id > ?))"
            args += (after_ts, after_ts, after_id)
        with self._read() as x:
            rows = x(
                f"SELECT {_COLS} FROM event_frames WHERE {where} ORDER BY start_ts, frame_id LIMIT ?", (*args, n + 1)
            )
        more = len(rows) > n
        rows = rows[:n]
        frames = [
            EventFrame(r[0], r[1], r[2], v.from_us(r[3]), None if r[4] is None else v.from_us(r[4]), json.loads(r[5]))
            for r in rows
        ]
        return EventFramePage(frames, _encode(rows[-1][3], rows[-1][0]) if more else None)
