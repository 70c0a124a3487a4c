"""A PostgreSQL server that goes away and comes back (a restart, a cut network), as the store sees it: through a
TCP proxy in front of the real server (tests/faults.py) that resets every connection and refuses new ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tests.faults import TcpProxy, postgres_behind_proxy

from twin.errors import StoreError, StoreUnavailableError

pytestmark = pytest.mark.postgres

TAG = "cell:1-001/cell_voltage_V"
START = datetime(2026, 9, 22, tzinfo=UTC)
TS = np.datetime64("2026-09-22T00:00:00", "ms") + np.arange(10).astype("timedelta64[s]")


@pytest.fixture
def cut_store(pg_unavailable: str | None) -> Iterator[tuple[object, TcpProxy]]:
    if pg_unavailable:
        pytest.skip(pg_unavailable)
    with postgres_behind_proxy() as (store, proxy):
        yield store, proxy


def test_an_unreachable_server_is_unavailable_not_a_bad_request(cut_store) -> None:
    store, proxy = cut_store
    store.register_tags([TAG])
    store.write_points(TAG, TS[:5], np.full(5, 4.2))
    proxy.cut()
    with pytest.raises(StoreUnavailableError, match=r"could not be reached for the (query|connection)"):
        store.tags()  # a pooled connection that the cut reset
    with pytest.raises(StoreUnavailableError, match="could not be reached"):
        store.write_points(TAG, TS[5:], np.full(5, 4.3))  # a new connection, refused
    proxy.restore()
    assert store.write_points(TAG, TS[5:], np.full(5, 4.3)) == 5  # the store reconnects by itself
    page = store.recorded(TAG, START, START + timedelta(seconds=10), limit=100)
    assert len(page.value) == 10  # nothing written before the cut was lost


def test_a_refused_request_stays_a_store_error(cut_store) -> None:
    """Only a server that cannot be reached is 'unavailable': a request it refuses is the caller's error."""
    store, _ = cut_store
    with pytest.raises(StoreError) as refused:
        store.write_points("no such tag", TS[:1], [1.0])
    assert not isinstance(refused.value, StoreUnavailableError)
