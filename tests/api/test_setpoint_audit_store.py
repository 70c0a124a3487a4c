"""The setpoint audit trail (issue 10 item 7) on both store backends: DuckDB and a real PostgreSQL schema."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from twin.errors import StoreError
from twin.store import DuckDBStore, SetpointEvent, Store

PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "duckdb":
        s: Store = DuckDBStore(tmp_path / "audit.duckdb")
        yield s
        s.close()
        return
    try:
        import psycopg

        with psycopg.connect(PG_CONNINFO):
            pass
    except Exception as exc:  # no server to test against
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable ({exc})")
    from twin.store.pg import PostgresStore

    schema = "t_" + uuid.uuid4().hex[:12]
    s = PostgresStore(PG_CONNINFO, schema=schema)
    try:
        yield s
    finally:
        s.close()
        PostgresStore(PG_CONNINFO, schema=schema).drop_schema()


def ev(event: str, at: datetime, proposal: str = "sp-1", value: float | None = 9.0, detail: str = "") -> SetpointEvent:
    return SetpointEvent(
        proposal, event, at, "a1b2c3", "potline1/gw01/pot_001", "resistance_target_uohm", value, detail
    )


def test_rows_of_a_proposal_come_back_in_the_order_they_happened(store: Store) -> None:
    # recorded out of order, and the write stamped later than its read-back (clocks differ): lifecycle order
    for e in (
        ev("readback", T0 + timedelta(seconds=2)),
        ev("proposed", T0),
        ev("confirmed", T0 + timedelta(seconds=1)),
    ):
        assert store.add_setpoint_event(e)
    assert store.add_setpoint_event(ev("written", T0 + timedelta(seconds=3), detail="DCMD"))
    rows = store.setpoint_events("sp-1")
    assert [r.event for r in rows] == ["proposed", "confirmed", "written", "readback"]
    assert rows[0] == ev("proposed", T0)  # every field survives the round trip
    assert store.add_setpoint_event(ev("proposed", T0, proposal="sp-2", value=None))
    newest = store.setpoint_events(limit=2)
    assert [(r.proposal_id, r.event) for r in newest] == [("sp-1", "written"), ("sp-1", "readback")]  # by time
    assert store.setpoint_events("sp-2")[0].value is None


def test_an_event_happens_once_per_proposal(store: Store) -> None:
    assert store.add_setpoint_event(ev("confirmed", T0))
    assert not store.add_setpoint_event(ev("confirmed", T0 + timedelta(seconds=1)))
    assert len(store.setpoint_events("sp-1")) == 1


def test_racing_confirmations_give_one_winner(store: Store) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def confirm() -> None:
        ok = store.add_setpoint_event(ev("confirmed", datetime.now(UTC), proposal="sp-race"))
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [False] * 5 + [True]


def test_bad_rows_are_refused_with_the_field_named(store: Store) -> None:
    for bad, field in (
        (ev("deleted", T0), "event"),
        (ev("proposed", T0, proposal="../x"), "proposal_id"),
        (SetpointEvent("sp-1", "proposed", T0, "", "t", "s", 1.0), "actor"),
        (SetpointEvent("sp-1", "proposed", T0.replace(tzinfo=None), "a", "t", "s", 1.0), "at"),
    ):
        with pytest.raises(StoreError, match=field):
            store.add_setpoint_event(bad)
    assert store.setpoint_events() == []
    long = ev("alarm", T0, detail="x" * 5000)
    assert store.add_setpoint_event(long)
    assert len(store.setpoint_events("sp-1")[0].detail) <= 400  # clipped, not refused
