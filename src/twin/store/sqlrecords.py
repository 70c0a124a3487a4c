"""KPI history, scenario jobs and API keys: the small relational records every SQL backend keeps.

A mixin for :class:`twin.store.sqlstore.SqlStore`; it needs only ``_tx`` and ``_read``.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from twin.store import sqlschema as q
from twin.store import validate as v
from twin.store.model import ApiKeyRecord, JobStatus, ScenarioJob, UnknownKeyError

Exec = Callable[..., list[tuple[Any, ...]]]
JOB_STATES = ("queued", "running", "succeeded", "failed")


class RecordsMixin:
    """KPI history, scenario jobs and API keys over ``?``-style SQL."""

    def _tx(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Exec]:
        raise NotImplementedError

    # -- KPI history -----------------------------------------------------------------------------
    def write_kpis(self, scope: str, ts: datetime, values: Mapping[str, float]) -> int:
        v.check_scope(scope)
        t = v.to_us(ts, "ts")
        rows = []
        for name, val in values.items():
            v.check_tag(name, "kpi name")
            if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val):
                raise v.error(f"kpis[{name!r}]", val, "a finite number")
            rows.append((scope, name, t, float(val)))
        with self._tx() as x:
            for row in rows:
                x("DELETE FROM kpis WHERE scope = ? AND name = ? AND ts = ?", row[:3])
                x("INSERT INTO kpis VALUES (?, ?, ?, ?)", row)
        return len(rows)

    def kpi_history(
        self,
        scope: str,
        start: datetime,
        end: datetime,
        names: Sequence[str] | None = None,
        *,
        max_points: int | None = None,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        v.check_scope(scope)
        lo, hi = v.check_range(start, end)
        wanted = v.names_list(names)
        w = 1 if max_points is None else v.bucket_width_us(lo, hi, None, max_points)
        filt = "" if wanted is None else "AND name IN (" + ",".join("?" * len(wanted)) + ")"
        with self._read() as x:
            rows = x(q.KPI_BUCKETS.format(w=w, names=filt), (scope, lo, hi, *(wanted or ())))
        out: dict[str, tuple[list[int], list[float]]] = {}
        for name, b, val in rows:
            ts_list, val_list = out.setdefault(name, ([], []))
            ts_list.append(b)
            val_list.append(val)
        return {
            name: (v.us_array_to_dt64(np.asarray(t, dtype=np.int64)), np.asarray(vals, dtype=np.float64))
            for name, (t, vals) in out.items()
        }

    def kpi_latest(self, scope: str | None = None) -> dict[str, dict[str, tuple[datetime, float]]]:
        args: tuple[Any, ...] = ()
        where = ""
        if scope is not None:
            where, args = "WHERE scope = ?", (v.check_scope(scope),)
        with self._read() as x:
            rows = x(
                f"SELECT DISTINCT ON (scope, name) scope, name, ts, value FROM kpis {where} "
                "ORDER BY scope, name, ts DESC",
                args,
            )
        out: dict[str, dict[str, tuple[datetime, float]]] = {}
        for sc, name, ts, val in rows:
            out.setdefault(sc, {})[name] = (v.from_us(ts), float(val))
        return out

    # -- scenario jobs ---------------------------------------------------------------------------
    _JOB_COLS = "job_id, status, body, label, created, finished, kpis, error"

    @staticmethod
    def _job(row: tuple[Any, ...]) -> ScenarioJob:
        job_id, status, body, label, created, finished, kpis, err = row
        return ScenarioJob(
            job_id=job_id,
            status=status,
            body=body,
            label=label,
            created=v.from_us(created),
            finished=None if finished is None else v.from_us(finished),
            kpis=None if kpis is None else json.loads(kpis),
            error=err,
        )

    def create_job(self, job_id: str, body: str, *, label: str = "") -> ScenarioJob:
        v.check_tag(job_id, "job_id")
        if not isinstance(body, str):
            raise v.error("body", type(body).__name__, "scenario TOML text")
        with self._tx() as x:
            if x("SELECT 1 FROM scenario_jobs WHERE job_id = ?", (job_id,)):
                raise v.error("job_id", job_id, "an id not used by another job")
            x(
                "INSERT INTO scenario_jobs VALUES (?, 'queued', ?, ?, ?, NULL, NULL, NULL)",
                (job_id, body, label, v.to_us(datetime.now(UTC), "now")),
            )
        return self.get_job(job_id)

    def update_job(
        self,
        job_id: str,
        status: JobStatus,
        *,
        kpis: Mapping[str, float] | None = None,
        error: str | None = None,
    ) -> ScenarioJob:
        if status not in JOB_STATES:
            raise v.error("status", status, "one of " + ", ".join(JOB_STATES))
        payload = None
        if kpis is not None:
            clean = {}
            for name, val in kpis.items():
                if not isinstance(name, str) or isinstance(val, bool) or not isinstance(val, int | float):
                    raise v.error(f"kpis[{name!r}]", val, "a number keyed by a KPI name")
                clean[name] = float(val)
            payload = json.dumps(clean, allow_nan=True)
        finished = v.to_us(datetime.now(UTC), "now") if status in ("succeeded", "failed") else None
        with self._tx() as x:
            if not x("SELECT 1 FROM scenario_jobs WHERE job_id = ?", (job_id,)):
                raise UnknownKeyError(f"store: job_id = {job_id!r} does not exist")
            x(
                "UPDATE scenario_jobs SET status = ?, kpis = coalesce(?, kpis), error = ?, finished = ? "
                "WHERE job_id = ?",
                (status, payload, error, finished, job_id),
            )
        return self.get_job(job_id)

    def get_job(self, job_id: str) -> ScenarioJob:
        with self._read() as x:
            rows = x(f"SELECT {self._JOB_COLS} FROM scenario_jobs WHERE job_id = ?", (job_id,))
        if not rows:
            raise UnknownKeyError(f"store: job_id = {job_id!r} does not exist")
        return self._job(rows[0])

    def list_jobs(self, limit: int = 50) -> list[ScenarioJob]:
        v.check_limit(limit, "limit", 1000)
        with self._read() as x:
            rows = x(f"SELECT {self._JOB_COLS} FROM scenario_jobs ORDER BY created DESC, job_id LIMIT ?", (limit,))
        return [self._job(r) for r in rows]

    # -- API keys --------------------------------------------------------------------------------
    def put_api_key(self, record: ApiKeyRecord) -> None:
        v.check_tag(record.key_id, "key_id")
        with self._tx() as x:
            x("DELETE FROM api_keys WHERE key_id = ?", (record.key_id,))
            x(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.key_id,
                    record.name,
                    record.secret_hash,
                    ",".join(sorted(record.scopes)),
                    v.to_us(record.created, "created"),
                    record.revoked,
                ),
            )

    def _key(self, row: tuple[Any, ...]) -> ApiKeyRecord:
        key_id, name, secret_hash, scopes, created, revoked = row
        return ApiKeyRecord(
            key_id,
            name,
            secret_hash,
            frozenset(filter(None, scopes.split(","))),
            v.from_us(created),
            bool(revoked),
        )

    def get_api_key(self, key_id: str) -> ApiKeyRecord:
        with self._read() as x:
            rows = x("SELECT * FROM api_keys WHERE key_id = ?", (key_id,))
        if not rows:
            raise UnknownKeyError(f"store: key_id = {key_id!r} does not exist")
        return self._key(rows[0])

    def list_api_keys(self) -> list[ApiKeyRecord]:
        with self._read() as x:
            return [self._key(r) for r in x("SELECT * FROM api_keys ORDER BY created, key_id")]

    def revoke_api_key(self, key_id: str) -> None:
        self.get_api_key(key_id)
        with self._tx() as x:
            x("UPDATE api_keys SET revoked = TRUE WHERE key_id = ?", (key_id,))
