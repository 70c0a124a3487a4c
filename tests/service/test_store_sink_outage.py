"""Telemetry across a PostgreSQL outage (a restart, a cut network): the sink holds what the store cannot take,
retries, and writes it when the server is back, losing and rejecting nothing; a service stopping meanwhile does
not hang. The server is the real one behind a TCP proxy that resets every connection (tests/faults.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.api.conftest import LiveServer
from tests.faults import TcpProxy, postgres_behind_proxy

from twin.service.store_sink import StoreSink
from twin.telemetry import Quality, Sample
from twin_edge.testing import wait_until

pytestmark = pytest.mark.postgres

T0 = 1_790_000_000_000  # ms (2026-09-22)
TAG = "cell:1-001/cell_voltage_V"


def _samples(first: int, n: int) -> list[Sample]:
    return [
        Sample(T0 + 1000 * k, "potline1", "gw01", "pot_001", "cell_voltage_V", 4.0 + k / 1000, Quality.GOOD, False)
        for k in range(first, first + n)
    ]


@pytest.fixture
def cut_store() -> Iterator[tuple[object, TcpProxy]]:
    import psycopg

    try:
        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3").close()
    except Exception as exc:  # no server to test against
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable ({exc}); start it with scripts/services")
    with postgres_behind_proxy() as (store, proxy):
        yield store, proxy


def _stored(store) -> int:
    start = datetime.fromtimestamp(T0 / 1000, tz=UTC)
    return len(store.recorded(TAG, start, start + timedelta(hours=1), limit=10_000).value)


def test_points_sent_during_an_outage_are_written_when_the_server_is_back(cut_store) -> None:
    store, proxy = cut_store
    sink = StoreSink(store, batch=100)
    sink.accept(_samples(0, 100))
    assert sink.flush(timeout=10)
    proxy.cut()
    sink.accept(_samples(100, 300))  # three batches: the writer holds the first and retries, two queue behind it
    assert not sink.flush(timeout=0.3)  # bounded: the caller is not held for the outage
    wait_until(lambda: sink.counters["store_unavailable_retries"] >= 2)
    proxy.restore()
    assert sink.flush(timeout=20)
    assert _stored(store) == 400
    c = sink.counters
    assert c["points_written"] == 400
    assert c["points_rejected"] == c["points_lost"] == 0


def test_closing_during_an_outage_counts_what_is_held_and_returns(cut_store) -> None:
    store, proxy = cut_store
    sink = StoreSink(store, batch=100)
    proxy.cut()
    sink.accept(_samples(0, 150))  # one batch handed over, 50 points still buffered
    done = threading.Event()
    outcome: list[bool] = []
    threading.Thread(target=lambda: (outcome.append(sink.close(timeout=0.5)), done.set()), daemon=True).start()
    assert done.wait(15), "close() hung on an unreachable store"
    assert outcome == [False]
    assert sink.counters["points_lost"] == 150
    assert sink.counters["points_written"] == 0


def test_the_api_answers_503_with_retry_after_while_the_store_is_unreachable(cut_store) -> None:
    from twin.api import Settings, create_app

    store, proxy = cut_store
    with LiveServer(create_app(Settings(open_access=True), store)) as srv:
        assert httpx.get(srv.url + "/v1/tags").status_code == 200
        proxy.cut()
        began = time.monotonic()
        r = httpx.get(srv.url + "/v1/tags", timeout=30)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert "could not be reached" in r.json()["detail"]
        assert time.monotonic() - began < 15  # connect_timeout bounds it
        proxy.restore()
        assert httpx.get(srv.url + "/v1/tags").status_code == 200
