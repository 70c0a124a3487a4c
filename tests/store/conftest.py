"""Store fixtures: every contract test runs against the embedded DuckDB file and a real PostgreSQL schema."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from twin.store import DuckDBStore, Store

PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_CONNINFO):
            return None
    except Exception as exc:  # any failure means: no server to test against
        return f"PostgreSQL at 127.0.0.1:5432 not reachable ({exc}); start it with scripts/services"


@pytest.fixture(scope="session")
def pg_unavailable() -> str | None:
    return _pg_available()


StoreFactory = Callable[[], Store]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A factory that opens (and re-opens) the same store; everything is dropped at the end."""
    opened: list[Store] = []
    if request.param == "duckdb":
        path = tmp_path / "twin.duckdb"

        def factory() -> Store:
            opened.append(DuckDBStore(path))
            return opened[-1]
    else:
        reason = request.getfixturevalue("pg_unavailable")
        if reason:
            pytest.skip(reason)
        from twin.store.pg import PostgresStore

        schema = "t_" + uuid.uuid4().hex[:12]

        def factory() -> Store:
            opened.append(PostgresStore(PG_CONNINFO, schema=schema))
            return opened[-1]

    yield factory
    for s in opened:
        s.close()
    if request.param == "postgres":
        from twin.store.pg import PostgresStore

        PostgresStore(PG_CONNINFO, schema=schema).drop_schema()


@pytest.fixture
def store(open_store: StoreFactory) -> Store:
    s = open_store()
    s.register_tags(["cell:1-001/voltage_V", "cell:1-002/voltage_V", "potline:1/current_kA"])
    return s
