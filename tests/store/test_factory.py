"""open_store: one string names a store (settings, command line, environment)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from tests.store.conftest import PG_CONNINFO

from twin.errors import StoreError
from twin.store import DuckDBStore, open_store


def test_duckdb_urls(tmp_path: Path) -> None:
    path = tmp_path / "f.duckdb"
    with open_store(f"duckdb://{path}") as store:
        assert isinstance(store, DuckDBStore)
        store.register_tags(["x"])
    assert path.exists()
    with open_store("duckdb://:memory:") as mem:
        assert mem.tags() == []


@pytest.mark.postgres
def test_postgres_url_with_schema(pg_unavailable: str | None) -> None:
    if pg_unavailable:
        pytest.skip(pg_unavailable)
    from twin.store.pg import PostgresStore

    schema = "t_" + uuid.uuid4().hex[:12]
    store = open_store(f"postgresql://postgres@127.0.0.1:5432/test?schema={schema}&connect_timeout=3")
    try:
        assert isinstance(store, PostgresStore)
        assert store.schema == schema
        store.register_tags(["x"])
        assert [t.tag for t in store.tags()] == ["x"]
    finally:
        store.drop_schema()
    assert "127.0.0.1" in PG_CONNINFO


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("sqlite:///x.db", "store_url = 'sqlite:…'"),
        ("postgresql://postgres@127.0.0.1/test?schema=Robert'); DROP", "schema = "),
        ("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=1", "conninfo = '<hidden>'"),
    ],
)
def test_bad_urls_are_clear_and_hide_secrets(url: str, match: str) -> None:
    with pytest.raises(StoreError, match=match) as info:
        open_store(url)
    assert "secret" not in str(info.value)
