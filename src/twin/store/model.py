"""Value types and the interface every store backend implements.

Times cross this interface as timezone-aware UTC :class:`datetime` objects or numpy ``datetime64`` arrays
(taken as UTC). Inside the store they are integer microseconds since the Unix epoch (``BIGINT``), which keeps
bucket arithmetic exact and identical on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

from twin.errors import StoreError

Quality = Literal["good", "bad", "stale"]
QUALITY_CODES: dict[str, int] = {"good": 0, "bad": 1, "stale": 2}
QUALITY_NAMES: tuple[Quality, ...] = ("good", "bad", "stale")
AGGREGATES: tuple[str, ...] = ("avg", "min", "max", "count", "twa")
JobStatus = Literal["queued", "running", "succeeded", "failed"]
Source = Literal["auto", "raw", "1m", "1h"]


class UnknownKeyError(StoreError):
    """A tag, job or key that the store does not hold (the API maps it to 404)."""


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A registered signal: its stable name, engineering unit and description."""

    tag: str
    unit: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Point:
    """One recorded value."""

    ts: datetime
    value: float
    quality: Quality


@dataclass(frozen=True, slots=True)
class RecordedPage:
    """One page of recorded values in time order; ``next_cursor`` is None on the last page."""

    tag: str
    ts: np.ndarray  # datetime64[us], UTC
    value: np.ndarray  # float64
    quality: list[Quality]
    next_cursor: str | None

    @property
    def truncated(self) -> bool:
        return self.next_cursor is not None

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class Aggregates:
    """Per-bucket aggregates of the *good* samples of one tag; buckets without good samples are omitted.

    ``twa`` is the time-weighted average: each good sample holds until the next sample (of any quality),
    the end of its bucket or the end of its UTC minute, whichever comes first; the average is taken over
    the time so covered. Bounding the hold by the minute makes raw and rollup answers identical.
    """

    tag: str
    bucket: timedelta
    source: Literal["raw", "1m", "1h"]
    ts: np.ndarray  # bucket starts, datetime64[us], UTC, epoch-aligned
    avg: np.ndarray
    min: np.ndarray
    max: np.ndarray
    count: np.ndarray  # int64
    twa: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class ScenarioJob:
    """A what-if run: its TOML body, state and, once finished, its KPIs (name → value)."""

    job_id: str
    status: JobStatus
    body: str
    created: datetime
    finished: datetime | None = None
    kpis: dict[str, float] | None = None
    error: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A stored API key: only the hash of its secret is kept."""

    key_id: str
    name: str
    secret_hash: str
    scopes: frozenset[str]
    created: datetime
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class CompactionReport:
    raw_deleted: int
    raw_kept_from: datetime | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RejectedPoint:
    """A point refused on its own (quarantined) instead of failing its batch; fields are kept as text because
    the tag or time may be exactly what was wrong. ``source`` names where it came from (e.g. the edge node)."""

    received: datetime
    source: str
    tag: str
    ts: str
    value: str
    reason: str


# In the order they happen to a proposal (a refusal is always its last event); the rows of one proposal are
# returned in this order.
SETPOINT_EVENTS: tuple[str, ...] = ("proposed", "confirmed", "written", "readback", "alarm", "refused")


@dataclass(frozen=True, slots=True)
class SetpointEvent:
    """One row of the setpoint audit trail (issue 10 item 7): what happened to a proposal, when and by whom.

    ``event`` is one of :data:`SETPOINT_EVENTS`; each proposal has at most one row per event (a second
    ``confirmed`` row is refused, which makes a confirmation single-use). ``actor`` is the API key id or the
    component (``host``); ``target`` the Sparkplug address ``group/node/device``; ``value`` the value proposed,
    written or read back; ``detail`` the reason or outcome in words.
    """

    proposal_id: str
    event: str
    at: datetime
    actor: str
    target: str
    setpoint: str
    value: float | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AlarmActionRecord:
    """What operators did about one alarm (issue 11 item 1): acknowledged and shelved, by whom and when.

    ``alarm_id`` is the live twin's alarm id; ``*_by`` are API key ids; ``shelved_until`` is None when not
    shelved (it is kept after it ran out; readers compare it with the time); ``updated`` is the last change.
    """

    alarm_id: str
    updated: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    shelved_at: datetime | None = None
    shelved_until: datetime | None = None
    shelved_by: str | None = None


#: Kinds of event frame (issue 11 item 3): what happened to which asset, from when to when.
EVENT_KINDS: tuple[str, ...] = (
    "anode_effect",
    "tap",
    "anode_change",
    "outage",
    "curtailment",
    "alarm",
    "dispatch_window",
)


@dataclass(frozen=True, slots=True)
class EventFrame:
    """Something that happened to an asset over a time span (an event frame, as historians call it).

    ``frame_id`` is the producer's stable id (writing it again replaces the frame, e.g. to close it);
    ``end`` is None while the frame is open; ``attributes`` are flat name → number/text/bool
    (``peak_V``, ``minutes``, ``metal_t``...).
    """

    frame_id: str
    kind: str
    asset: str
    start: datetime
    end: datetime | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventFramePage:
    frames: list[EventFrame]
    next_cursor: str | None


class Store(abc.ABC):
    """The time-series store: raw points, rollups, KPI history, scenario jobs and API keys.

    Every method validates its input and raises :class:`twin.errors.StoreError` naming the field and value;
    a write is one transaction, so a rejected or failed write leaves what was stored unchanged.
    """

    retention: timedelta

    # -- signals ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def register_tags(self, tags: Iterable[str | TagInfo]) -> None:
        """Declare signals (idempotent; a later call may update unit and description)."""

    @abc.abstractmethod
    def tags(self) -> list[TagInfo]: ...

    @abc.abstractmethod
    def tag_info(self, tag: str) -> TagInfo:
        """Metadata of one tag; :class:`UnknownKeyError` if it is not registered."""

    @abc.abstractmethod
    def write_points(
        self,
        tag: str | Sequence[str] | np.ndarray,
        ts: Any,
        value: Any,
        quality: Quality | Sequence[str] | np.ndarray = "good",
        *,
        register: Sequence[TagInfo] = (),
    ) -> int:
        """Write a batch of points (columnar); returns the number written.

        ``tag`` and ``quality`` are one value for the whole batch or one per point; ``ts`` is datetime64,
        datetimes (aware) or a pyarrow timestamp array. A point at an existing (tag, ts) replaces it.
        ``register`` declares tags (as :meth:`register_tags`) in the same transaction as the points, so a
        reader never sees a new tag listed without its first points.
        """

    @abc.abstractmethod
    def write_arrow(self, table: Any) -> int:
        """Write a pyarrow Table with columns ``tag``, ``ts``, ``value`` and optionally ``quality``."""

    @abc.abstractmethod
    def latest(self, tags: Sequence[str] | None = None) -> dict[str, Point]: ...

    @abc.abstractmethod
    def recorded(
        self, tag: str, start: datetime, end: datetime, *, limit: int = 1000, cursor: str | None = None
    ) -> RecordedPage: ...

    @abc.abstractmethod
    def aggregate(
        self,
        tag: str,
        start: datetime,
        end: datetime,
        *,
        bucket: timedelta | None = None,
        max_points: int | None = None,
        source: Source = "auto",
    ) -> Aggregates: ...

    @abc.abstractmethod
    def compact(self, now: datetime | None = None) -> CompactionReport:
        """Delete raw points older than ``now - retention`` (rollups are kept)."""

    def raw_kept_from(self) -> datetime | None:
        """The time before which raw points were compacted into rollups (a write of a point before it is
        refused), or None if nothing was compacted. Writers check their points against it one by one."""
        return None

    # -- quarantine -------------------------------------------------------------------------------
    def write_rejected(self, points: Sequence[RejectedPoint]) -> int:
        """Keep points that were refused one by one (the rest of their batch was stored)."""
        raise StoreError(f"store: {type(self).__name__} keeps no rejected points")

    def rejected(self, limit: int = 100) -> list[RejectedPoint]:
        """The most recently rejected points, newest first."""
        raise StoreError(f"store: {type(self).__name__} keeps no rejected points")

    # -- operators' alarm actions (acknowledge, shelve) ----------------------------------------------
    def acknowledge_alarm(self, alarm_id: str, by: str, at: datetime) -> AlarmActionRecord:
        """Record that ``by`` acknowledged ``alarm_id`` at ``at``; an earlier acknowledgement is kept."""
        raise StoreError(f"store: {type(self).__name__} keeps no alarm actions")

    def shelve_alarm(self, alarm_id: str, by: str, at: datetime, until: datetime) -> AlarmActionRecord:
        """Record that ``by`` shelved ``alarm_id`` at ``at`` until ``until`` (replaces an earlier shelving)."""
        raise StoreError(f"store: {type(self).__name__} keeps no alarm actions")

    def unshelve_alarm(self, alarm_id: str, at: datetime) -> AlarmActionRecord | None:
        """End the shelving of ``alarm_id``; None (nothing added) if the store holds no action on it."""
        raise StoreError(f"store: {type(self).__name__} keeps no alarm actions")

    def alarm_actions(self, limit: int = 10_000) -> list[AlarmActionRecord]:
        """The ``limit`` most recently changed alarm actions, oldest change first."""
        raise StoreError(f"store: {type(self).__name__} keeps no alarm actions")

    # -- setpoint audit trail ----------------------------------------------------------------------
    def add_setpoint_event(self, event: SetpointEvent) -> bool:
        """Append a row to the audit trail; False (nothing written) if the proposal already has that event."""
        raise StoreError(f"store: {type(self).__name__} keeps no setpoint audit trail")

    def setpoint_events(self, proposal_id: str | None = None, *, limit: int = 100) -> list[SetpointEvent]:
        """Rows of one proposal in order, or the newest ``limit`` rows of all proposals (newest first)."""
        raise StoreError(f"store: {type(self).__name__} keeps no setpoint audit trail")

    # -- event frames ----------------------------------------------------------------------------
    def write_event_frames(self, frames: Sequence[EventFrame]) -> int:
        """Store frames (one transaction; a frame with a stored ``frame_id`` replaces it); returns how many."""
        raise StoreError(f"store: {type(self).__name__} keeps no event frames")

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
        """Frames that overlap ``[start, end)`` (open frames overlap everything after their start), by start
        time, one page at a time; ``asset`` matches the asset and everything under it (``potline:1``
        matches ``cell:1-017``)."""
        raise StoreError(f"store: {type(self).__name__} keeps no event frames")

    # -- KPI history -----------------------------------------------------------------------------
    @abc.abstractmethod
    def write_kpis(self, scope: str, ts: datetime, values: Mapping[str, float]) -> int: ...

    @abc.abstractmethod
    def kpi_history(
        self,
        scope: str,
        start: datetime,
        end: datetime,
        names: Sequence[str] | None = None,
        *,
        max_points: int | None = None,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """KPI name → (ts datetime64[us], value); with ``max_points`` values are bucket averages."""

    @abc.abstractmethod
    def kpi_latest(self, scope: str | None = None) -> dict[str, dict[str, tuple[datetime, float]]]: ...

    # -- scenario jobs ---------------------------------------------------------------------------
    @abc.abstractmethod
    def create_job(self, job_id: str, body: str, *, label: str = "") -> ScenarioJob: ...

    @abc.abstractmethod
    def update_job(
        self,
        job_id: str,
        status: JobStatus,
        *,
        kpis: Mapping[str, float] | None = None,
        error: str | None = None,
    ) -> ScenarioJob: ...

    @abc.abstractmethod
    def get_job(self, job_id: str) -> ScenarioJob: ...

    @abc.abstractmethod
    def list_jobs(self, limit: int = 50) -> list[ScenarioJob]: ...

    # -- API keys --------------------------------------------------------------------------------
    @abc.abstractmethod
    def put_api_key(self, record: ApiKeyRecord) -> None: ...

    @abc.abstractmethod
    def get_api_key(self, key_id: str) -> ApiKeyRecord: ...

    @abc.abstractmethod
    def list_api_keys(self) -> list[ApiKeyRecord]: ...

    @abc.abstractmethod
    def revoke_api_key(self, key_id: str) -> None: ...

    # -- lifecycle -------------------------------------------------------------------------------
    @abc.abstractmethod
    def ping(self) -> None:
        """Raise StoreError if the store cannot answer a trivial query."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def engine_memory_bytes(self) -> int | None:
        """Memory the store's database engine holds inside this process (an embedded engine's buffer pool, its
        indexes and open transactions), or None where the engine is a separate server. Reported on ``/metrics``
        so that an operator can tell the bounded cache from a leak."""
        return None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
