"""Several writers and readers on one PostgreSQL schema at once, as with several processes."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tests.store.conftest import PG_CONNINFO

pytestmark = pytest.mark.postgres

T0 = np.datetime64("2026-03-01T00:00:00", "us")
START = datetime(2026, 3, 1, tzinfo=UTC)


def test_concurrent_writers_and_readers(pg_unavailable: str | None) -> None:
    if pg_unavailable:
        pytest.skip(pg_unavailable)
    from twin.store.pg import PostgresStore

    schema = "t_" + uuid.uuid4().hex[:12]
    stores = [PostgresStore(PG_CONNINFO, schema=schema) for _ in range(2)]  # two "processes"
    tags = [f"cell:1-{i:03d}/voltage_V" for i in range(4)]
    stores[0].register_tags(tags)
    errors: list[BaseException] = []
    stop = threading.Event()
    batches, batch_n = 10, 600

    def writer(k: int) -> None:
        store = stores[k % 2]
        try:
            for b in range(batches):
                # writers 0/1 share tag 0 (interleaved minutes), writers 2/3 own one tag each
                tag = tags[0] if k < 2 else tags[k]
                offset = (b * 2 + (k % 2)) * batch_n if k < 2 else b * batch_n
                ts = T0 + (np.arange(batch_n) + offset).astype("timedelta64[s]")
                store.write_points(tag, ts, np.full(batch_n, float(k)))
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                agg = stores[1].aggregate(tags[0], START, START + timedelta(days=1), bucket=timedelta(minutes=10))
                assert (agg.count <= 600).all()
                stores[0].recorded(tags[2], START, START + timedelta(days=1), limit=100)
                stores[1].latest()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    try:
        for t in readers + threads:
            t.start()
        for t in threads:
            t.join(60)
        stop.set()
        for t in readers:
            t.join(10)
        assert errors == []
        raw = stores[0].aggregate(tags[0], START, START + timedelta(days=1), bucket=timedelta(minutes=10), source="raw")
        roll = stores[1].aggregate(tags[0], START, START + timedelta(days=1), bucket=timedelta(minutes=10))
        assert raw.count.sum() == 2 * batches * batch_n
        np.testing.assert_array_equal(roll.count, raw.count)
        np.testing.assert_allclose(roll.twa, raw.twa)
        for k in (2, 3):
            hourly = stores[0].aggregate(tags[k], START, START + timedelta(days=1), bucket=timedelta(hours=1))
            assert hourly.count.sum() == batches * batch_n
            np.testing.assert_allclose(hourly.avg, float(k))
    finally:
        stores[1].close()
        stores[0].drop_schema()
