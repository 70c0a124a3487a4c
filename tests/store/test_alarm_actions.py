"""Operators' alarm actions on DuckDB and PostgreSQL: kept across a re-open, first acknowledgement wins,
shelving replaced and ended, bad input refused naming the field, and a refused call leaves the table as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.store.conftest import StoreFactory

from twin.api.alarm_actions import AlarmActions
from twin.errors import StoreError

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def test_actions_survive_a_reopen_with_who_and_when(open_store: StoreFactory) -> None:
    store = open_store()
    store.acknowledge_alarm("a-1", "key-day", T0)
    again = store.acknowledge_alarm("a-1", "key-night", T0 + timedelta(hours=1))
    assert (again.acknowledged_by, again.acknowledged_at) == ("key-day", T0)  # the first is kept
    store.shelve_alarm("setpoint-sp-0a", "key-day", T0, T0 + timedelta(hours=8))
    store.shelve_alarm("setpoint-sp-0a", "key-night", T0 + timedelta(hours=2), T0 + timedelta(hours=4))
    store.close()

    reopened = open_store()
    records = {r.alarm_id: r for r in reopened.alarm_actions()}
    assert set(records) == {"a-1", "setpoint-sp-0a"}
    shelved = records["setpoint-sp-0a"]
    assert (shelved.shelved_by, shelved.shelved_at, shelved.shelved_until) == (
        "key-night", T0 + timedelta(hours=2), T0 + timedelta(hours=4))  # the later shelving replaced it
    assert shelved.acknowledged_at is None
    assert records["a-1"].shelved_until is None
    assert [r.alarm_id for r in reopened.alarm_actions(limit=1)] == ["setpoint-sp-0a"]  # the latest change

    ended = reopened.unshelve_alarm("setpoint-sp-0a", T0 + timedelta(hours=3))
    assert ended is not None
    assert (ended.shelved_until, ended.shelved_by, ended.acknowledged_at) == (None, None, None)
    assert reopened.unshelve_alarm("never-acted-on", T0) is None
    assert {r.alarm_id for r in reopened.alarm_actions()} == {"a-1", "setpoint-sp-0a"}  # unshelving adds nothing


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.acknowledge_alarm("../etc", "k", T0), r"alarm_id = '\.\./etc' is invalid"),
        (lambda s: s.acknowledge_alarm("a-2", "", T0), r"by = '' is invalid"),
        (lambda s: s.acknowledge_alarm("a-2", "k", datetime(2026, 3, 1)), r"at = .* is invalid"),
        (lambda s: s.shelve_alarm("a-2", "k", T0, T0 - timedelta(hours=1)), r"until = .* is invalid"),
        (lambda s: s.alarm_actions(limit=0), r"limit = 0 is invalid"),
    ],
)
def test_bad_input_costs_only_itself(open_store: StoreFactory, call, message: str) -> None:  # type: ignore[no-untyped-def]
    store = open_store()
    store.acknowledge_alarm("a-1", "key-day", T0)
    with pytest.raises(StoreError, match=message):
        call(store)
    assert [(r.alarm_id, r.acknowledged_by) for r in store.alarm_actions()] == [("a-1", "key-day")]
    assert store.acknowledge_alarm("a-3", "key-day", T0).acknowledged_by == "key-day"  # the store still works


def test_the_book_restores_from_the_store(open_store: StoreFactory) -> None:
    now = datetime.now(UTC)
    book = AlarmActions(open_store())
    book.acknowledge("a-7", "key-day", now=now)
    book.shelve("a-7", 2.0, "key-day", now=now)
    book.shelve("a-8", 1.0, "key-day", now=now - timedelta(hours=3))  # run out already
    restarted = AlarmActions(open_store())
    kept = restarted.all()
    assert set(kept) == {"a-7"}
    assert kept["a-7"]["acknowledged_by"] == "key-day"
    assert kept["a-7"]["shelved_until"] == now.replace(microsecond=now.microsecond) + timedelta(hours=2)
