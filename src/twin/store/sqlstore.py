"""Backend-independent store logic over a small SQL executor; DuckDB and PostgreSQL subclass it.

A subclass supplies a transaction (:meth:`_tx`), a read connection (:meth:`_read`), the staging of a
point batch into ``_stage`` and the merge of ``_stage`` into ``points``. Everything else — validation,
rollup maintenance, bucket planning, pagination, jobs and keys — lives here once.
"""

from __future__ import annotations

import abc
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from twin.store import sqlschema as q
from twin.store import validate as v
from twin.store.model import (
    AGGREGATES,
    Aggregates,
    CompactionReport,
    Point,
    RecordedPage,
    Source,
    Store,
    TagInfo,
    UnknownKeyError,
)
from twin.store.rollup_delta import rollup_delta
from twin.store.sqlalarms import AlarmActionsMixin
from twin.store.sqlaudit import SetpointAuditMixin
from twin.store.sqlevents import EventFramesMixin
from twin.store.sqlrecords import RecordsMixin
from twin.store.sqlrejected import RejectedMixin

log = logging.getLogger(__name__)
Exec = Callable[..., list[tuple[Any, ...]]]
WATERMARK = "raw_purged_before"
JOB_STATES = ("queued", "running", "succeeded", "failed")
__all__ = ["AGGREGATES", "Exec", "SqlStore"]


class SqlStore(RecordsMixin, RejectedMixin, SetpointAuditMixin, EventFramesMixin, AlarmActionsMixin, Store):
    """Shared implementation; see :class:`twin.store.model.Store` for the contract."""

    def __init__(self, retention: timedelta) -> None:
        if not isinstance(retention, timedelta) or retention < timedelta(hours=1):
            raise v.error("retention", retention, "a timedelta of at least 1 hour")
        self.retention = retention
        self._tag_ids: dict[str, int] = {}

    # -- backend hooks ---------------------------------------------------------------------------
    @abc.abstractmethod
    def _tx(self) -> contextlib.AbstractContextManager[Exec]:
        """One write transaction, serialised against other writers of this store."""

    @abc.abstractmethod
    def _read(self) -> contextlib.AbstractContextManager[Exec]: ...

    @abc.abstractmethod
    def _stage_points(self, x: Exec, tag_id: np.ndarray, ts: np.ndarray, value: np.ndarray, qual: np.ndarray) -> None:
        """Make the batch visible as table ``_stage(tag_id, ts, value, quality)`` inside transaction ``x``."""

    @abc.abstractmethod
    def _merge_stage(self, x: Exec, *, append: bool = False) -> None:
        """Insert ``_stage`` into ``points``, replacing rows with the same (tag_id, ts); ``append``: every staged
        point is after its tag's latest point, so none can replace a row."""

    @abc.abstractmethod
    def _stage_rollup(self, x: Exec, rows: dict[str, np.ndarray]) -> None:
        """Make ``rows`` (columns ``sqlschema.ROLL_COLUMNS``) visible as table ``_roll`` inside transaction ``x``."""

    def _create_schema(self) -> None:
        with self._tx() as x:
            for ddl in q.TABLES:
                x(ddl)
            x(
                "CREATE TABLE IF NOT EXISTS points (tag_id INTEGER NOT NULL, ts BIGINT NOT NULL, "
                "value DOUBLE PRECISION NOT NULL, quality SMALLINT NOT NULL" + self._points_suffix() + ")"
            )

    def _points_suffix(self) -> str:
        return ""

    # -- signals ---------------------------------------------------------------------------------
    def register_tags(self, tags: Iterable[str | TagInfo]) -> None:
        infos = self._check_infos(tags)
        with self._tx() as x:
            known = self._register(x, infos)
        self._tag_ids = known

    @staticmethod
    def _check_infos(tags: Iterable[str | TagInfo]) -> list[TagInfo]:
        infos = [t if isinstance(t, TagInfo) else TagInfo(t) for t in tags]
        for info in infos:
            v.check_tag(info.tag)
        return infos

    @staticmethod
    def _register(x: Exec, infos: Sequence[TagInfo]) -> dict[str, int]:
        """Insert or update ``infos`` inside transaction ``x``; every tag's id after it."""
        known = {tag: tid for tid, tag in x("SELECT tag_id, tag FROM tags")}
        next_id = max(known.values(), default=0) + 1
        rows: list[tuple[int, str, str, str]] = []
        for info in infos:
            if info.tag in known:
                x("UPDATE tags SET unit = ?, description = ? WHERE tag = ?", (info.unit, info.description, info.tag))
            else:
                rows.append((next_id, info.tag, info.unit, info.description))
                known[info.tag] = next_id
                next_id += 1
        # New tags in multi-row INSERTs: one statement per tag took 3.7 s for a birth of two 352-pot lines (2 816
        # tags) on a loaded machine, holding up the store's writer (soak, issue 9).
        for lo in range(0, len(rows), _INSERT_ROWS):
            chunk = rows[lo : lo + _INSERT_ROWS]
            x("INSERT INTO tags VALUES " + ", ".join(["(?, ?, ?, ?)"] * len(chunk)), [v for row in chunk for v in row])
        return known

    def tags(self) -> list[TagInfo]:
        with self._read() as x:
            return [TagInfo(*row) for row in x("SELECT tag, unit, description FROM tags ORDER BY tag")]

    def tag_info(self, tag: str) -> TagInfo:
        v.check_tag(tag)
        with self._read() as x:
            rows = x("SELECT tag, unit, description FROM tags WHERE tag = ?", (tag,))
        if not rows:
            raise UnknownKeyError(f"store: tag = {tag!r} is not registered; see GET /v1/tags for known tags")
        return TagInfo(*rows[0])

    def _ids(self, tags: Iterable[str], field: str = "tag") -> dict[str, int]:
        tags = set(tags)
        missing = tags.difference(self._tag_ids)
        if missing:
            with self._read() as x:
                self._tag_ids = {tag: tid for tid, tag in x("SELECT tag_id, tag FROM tags")}
            missing = tags.difference(self._tag_ids)
        if missing:
            bad = sorted(missing)[0]
            v.check_tag(bad, field)
            raise UnknownKeyError(
                f"store: {field} = {bad!r} is not registered ({len(missing)} unknown); register it first"
            )
        return {t: self._tag_ids[t] for t in tags}

    # -- writes ----------------------------------------------------------------------------------
    def write_arrow(self, table: Any) -> int:
        names = set(getattr(table, "column_names", ()))
        if not {"tag", "ts", "value"} <= names:
            raise v.error("table", sorted(names), "a pyarrow Table with columns tag, ts, value[, quality]")
        quality = table.column("quality").to_numpy(zero_copy_only=False) if "quality" in names else "good"
        return self.write_points(
            table.column("tag").to_numpy(zero_copy_only=False),
            table.column("ts"),
            table.column("value").to_numpy(),
            quality,
        )

    def write_points(
        self, tag: Any, ts: Any, value: Any, quality: Any = "good", *, register: Sequence[TagInfo] = ()
    ) -> int:
        val = v.value_array(value)
        n = len(val)
        ts_us = v.ts_array(ts, n)
        qual = v.quality_codes(quality, n)
        tags = v.per_point(tag, n, "tag")
        infos = self._check_infos(register)
        if isinstance(tags, str):
            names, tag_ix = [tags], np.zeros(n, dtype=np.int32)
        else:
            uniq, tag_ix = np.unique(tags.astype(str), return_inverse=True)
            names = uniq.tolist()
        declared = {info.tag for info in infos}
        self._ids([t for t in names if t not in declared])  # unknown and not declared here: refused up front
        if n == 0:
            if infos:
                self.register_tags(infos)
            return 0
        bad = ~np.isfinite(val) & (qual == 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise v.error(f"value[{i}]", float(val[i]), "a finite number for a good-quality point")
        order = np.lexsort((ts_us, tag_ix))
        tag_ix, ts_us, val, qual = tag_ix[order], ts_us[order], val[order], qual[order]
        last = np.ones(n, dtype=bool)  # keep the last of duplicate (tag, ts) in the batch
        last[:-1] = (tag_ix[1:] != tag_ix[:-1]) | (ts_us[1:] != ts_us[:-1])
        if not last.all():
            keep = np.flatnonzero(last)
            tag_ix, ts_us, val, qual = tag_ix[keep], ts_us[keep], val[keep], qual[keep]
        lo_us, hi_us = int(ts_us.min()), int(ts_us.max())
        known = None
        with self._tx() as x:
            mark = self._meta(x, WATERMARK)
            if mark is not None and lo_us < mark:
                raise v.error(
                    "ts",
                    str(v.from_us(lo_us)),
                    f"a time on or after {v.from_us(mark)} (raw data before it has been compacted into rollups)",
                )
            # New tags and their first points commit together: no reader sees one without the other.
            ids = known = self._register(x, infos) if infos else self._tag_ids
            tag_id = np.asarray([ids[t] for t in names], dtype=np.int32)[tag_ix]
            first = np.ones(len(tag_ix), dtype=bool)  # each tag's first point of the batch
            first[1:] = tag_ix[1:] != tag_ix[:-1]
            prev_ts, prev_val, prev_q = self._latest_rows(x, tag_id[first])
            append = bool((ts_us[first] > prev_ts).all())  # the common case: live data after what is stored
            self._stage_points(x, tag_id, ts_us, val, qual)
            self._merge_stage(x, append=append)
            x(q.LATEST_UPSERT)
            delta = rollup_delta(tag_id, ts_us, val, qual, prev_ts, prev_val, prev_q) if append else None
            self._refresh_rollups(x, np.unique(tag_id).tolist(), lo_us, hi_us, only_good=not qual.any(), delta=delta)
        if infos:
            self._tag_ids = known
        return len(ts_us)

    @staticmethod
    def _latest_rows(x: Exec, tag_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each tag's latest stored (ts, value, quality), ts -1 for a tag without points."""
        ids = tag_ids.tolist()
        rows = x(f"SELECT tag_id, ts, value, quality FROM latest WHERE tag_id IN ({','.join(map(str, ids))})")
        found = {int(r[0]): r[1:] for r in rows}
        none = (-1, 0.0, 1)
        got = [found.get(t, none) for t in ids]
        return (
            np.fromiter((g[0] for g in got), dtype=np.int64, count=len(got)),
            np.fromiter((g[1] for g in got), dtype=np.float64, count=len(got)),
            np.fromiter((g[2] for g in got), dtype=np.int16, count=len(got)),
        )

    def _refresh_rollups(
        self,
        x: Exec,
        tag_ids: list[int],
        lo_us: int,
        hi_us: int,
        *,
        only_good: bool,
        delta: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Bring the rollups of the batch's tags and times up to date.

        ``delta`` (a batch appended after every tag's latest point, :mod:`twin.store.rollup_delta`) is added to
        the rows. Otherwise the batch's minutes are recomputed from raw points and its hours from minutes: a
        batch of good points can only add good samples, so every rollup row it touches survives and an upsert
        suffices; a batch with bad or stale points may empty a bucket, so its buckets are rebuilt.
        """
        if delta is not None:
            if len(delta["tag_id"]):
                self._stage_rollup(x, delta)
                x(q.ROLLUP_1M_ADD)
                x(q.ROLLUP_1H_ADD)
            return
        tags = ",".join(str(int(t)) for t in tag_ids)
        m_lo, m_hi = lo_us - lo_us % v.MINUTE_US, hi_us - hi_us % v.MINUTE_US + v.MINUTE_US
        h_lo, h_hi = lo_us - lo_us % v.HOUR_US, hi_us - hi_us % v.HOUR_US + v.HOUR_US
        if only_good:
            x(q.ROLLUP_1M_INSERT.format(tags=tags) + q.ROLLUP_UPSERT, (m_lo, m_hi))
            x(q.ROLLUP_1H_INSERT.format(tags=tags) + q.ROLLUP_UPSERT, (h_lo, h_hi))
            return
        x(q.ROLLUP_1M_DELETE.format(tags=tags), (m_lo, m_hi))
        x(q.ROLLUP_1M_INSERT.format(tags=tags), (m_lo, m_hi))
        x(q.ROLLUP_1H_DELETE.format(tags=tags), (h_lo, h_hi))
        x(q.ROLLUP_1H_INSERT.format(tags=tags), (h_lo, h_hi))

    @staticmethod
    def _meta(x: Exec, key: str) -> int | None:
        rows = x("SELECT value FROM meta WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else None

    def compact(self, now: datetime | None = None) -> CompactionReport:
        now_us = v.to_us(now or datetime.now(UTC), "now")
        horizon = now_us - int(self.retention / timedelta(microseconds=1))
        horizon -= horizon % v.HOUR_US
        with self._tx() as x:
            deleted = x("SELECT count(*) FROM points WHERE ts < ?", (horizon,))[0][0]
            x("DELETE FROM points WHERE ts < ?", (horizon,))
            mark = max(self._meta(x, WATERMARK) or 0, horizon)
            x("DELETE FROM meta WHERE key = ?", (WATERMARK,))
            x("INSERT INTO meta VALUES (?, ?)", (WATERMARK, mark))
        log.info("store compaction: %d raw points before %s deleted", deleted, v.from_us(horizon))
        return CompactionReport(raw_deleted=int(deleted), raw_kept_from=v.from_us(mark))

    def raw_kept_from(self) -> datetime | None:
        with self._read() as x:
            mark = self._meta(x, WATERMARK)
        return None if mark is None else v.from_us(mark)

    # -- reads -----------------------------------------------------------------------------------
    def latest(self, tags: Sequence[str] | None = None) -> dict[str, Point]:
        if tags is not None:
            self._ids(tags)
        with self._read() as x:
            rows = x("SELECT t.tag, l.ts, l.value, l.quality FROM latest l JOIN tags t USING (tag_id)")
        wanted = None if tags is None else set(tags)
        return {
            tag: Point(v.from_us(ts), float(val), v.quality_name(qual))
            for tag, ts, val, qual in rows
            if wanted is None or tag in wanted
        }

    def recorded(
        self, tag: str, start: datetime, end: datetime, *, limit: int = 1000, cursor: str | None = None
    ) -> RecordedPage:
        lo, hi = v.check_range(start, end)
        limit = v.check_limit(limit)
        tid = self._ids([v.check_tag(tag)])[tag]
        if cursor is not None:
            lo = max(lo, v.decode_cursor(cursor, tid) + 1)
        with self._read() as x:
            rows = x(
                "SELECT ts, value, quality FROM points WHERE tag_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?",
                (tid, lo, hi, limit + 1),
            )
        more = len(rows) > limit
        rows = rows[:limit]
        ts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return RecordedPage(
            tag=tag,
            ts=v.us_array_to_dt64(ts),
            value=np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows)),
            quality=[v.quality_name(r[2]) for r in rows],
            next_cursor=v.encode_cursor(tid, int(ts[-1])) if more else None,
        )

    def aggregate(
        self,
        tag: str,
        start: datetime,
        end: datetime,
        *,
        bucket: timedelta | None = None,
        max_points: int | None = None,
        source: Source = "auto",
    ) -> Aggregates:
        lo, hi = v.check_range(start, end)
        tid = self._ids([v.check_tag(tag)])[tag]
        w = v.bucket_width_us(lo, hi, bucket, max_points)
        lo, hi = lo - lo % w, hi + (-hi % w)
        chosen = self._plan_source(w, source)
        if chosen == "raw":
            with self._read() as x:
                mark = self._meta(x, WATERMARK)
            if mark is not None and lo < mark:
                raise v.error(
                    "start",
                    str(v.from_us(lo)),
                    f"a time on or after {v.from_us(mark)} for buckets "
                    "under 1 minute (older raw data was compacted; use bucket >= 60 s)",
                )
            sql = q.AGG_RAW.format(w=w)
        else:
            sql = q.AGG_ROLLUP.format(w=w, table="rollup_" + chosen)
        with self._read() as x:
            rows = x(sql, (tid, lo, hi))
        cols = list(zip(*rows, strict=True)) if rows else [(), (), (), (), (), ()]
        return Aggregates(
            tag=tag,
            bucket=timedelta(microseconds=w),
            source=chosen,
            ts=v.us_array_to_dt64(np.asarray(cols[0], dtype=np.int64)),
            count=np.asarray(cols[1], dtype=np.int64),
            avg=np.asarray(cols[2], dtype=np.float64),
            min=np.asarray(cols[3], dtype=np.float64),
            max=np.asarray(cols[4], dtype=np.float64),
            twa=np.asarray(cols[5], dtype=np.float64),
        )

    @staticmethod
    def _plan_source(w: int, source: str) -> Any:
        if source not in ("auto", "raw", "1m", "1h"):
            raise v.error("source", source, "one of 'auto', 'raw', '1m', '1h'")
        if source == "auto":
            return "1h" if w % v.HOUR_US == 0 else "1m" if w % v.MINUTE_US == 0 else "raw"
        if (source == "1h" and w % v.HOUR_US) or (source == "1m" and w % v.MINUTE_US):
            raise v.error("source", source, f"a rollup whose width divides the bucket ({w / 1e6:g} s)")
        return source

    def ping(self) -> None:
        with self._read() as x:
            x("SELECT 1")


_INSERT_ROWS = 500  # rows per multi-row INSERT (2 000 parameters, within every driver's limit)


@contextlib.contextmanager
def translate(
    errors: tuple[type[BaseException], ...], what: str, lost: Callable[[BaseException], bool] | None = None
) -> Iterator[None]:
    """Turn driver errors into StoreError, keeping the driver's message (never parameters or secrets); those that
    ``lost`` says mean the server could not be reached (a failed or lost connection) into
    :class:`~twin.errors.StoreUnavailableError`."""
    try:
        yield
    except errors as exc:
        if lost is not None and lost(exc):
            raise v.unavailable(what, exc) from exc
        raise v.error(what, type(exc).__name__, f"a successful database operation ({exc})") from exc
