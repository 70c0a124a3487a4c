"""Time-series store: raw points with quality, 1-minute and 1-hour rollups, KPI history, jobs, API keys.

One interface (:class:`Store`), two backends: :class:`DuckDBStore` (embedded, the default) and
:class:`PostgresStore` (server; import needs psycopg). :func:`open_store` picks one from a URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twin.store.duck import DuckDBStore
from twin.store.factory import open_store
from twin.store.model import (
    AGGREGATES,
    EVENT_KINDS,
    Aggregates,
    AlarmActionRecord,
    ApiKeyRecord,
    CompactionReport,
    EventFrame,
    EventFramePage,
    Point,
    RecordedPage,
    RejectedPoint,
    ScenarioJob,
    SetpointEvent,
    Store,
    TagInfo,
    UnknownKeyError,
)

if TYPE_CHECKING:
    from twin.store.pg import PostgresStore

__all__ = [
    "AGGREGATES",
    "EVENT_KINDS",
    "Aggregates",
    "AlarmActionRecord",
    "ApiKeyRecord",
    "CompactionReport",
    "DuckDBStore",
    "EventFrame",
    "EventFramePage",
    "Point",
    "PostgresStore",
    "RecordedPage",
    "RejectedPoint",
    "ScenarioJob",
    "SetpointEvent",
    "Store",
    "TagInfo",
    "UnknownKeyError",
    "open_store",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":  # psycopg is an optional dependency
        from twin.store.pg import PostgresStore

        return PostgresStore
    raise AttributeError(name)
