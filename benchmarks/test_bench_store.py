"""Store benchmarks: batched write throughput (DuckDB, PostgreSQL) and a 30-day trend from rollups.

Targets (design.md): ≥ 500 k points/s into the embedded store; a 30-day trend of one signal at
max_points=1000 from rollups in ≤ 200 ms; the PostgreSQL write figure is reported. Timings are never
asserted; each benchmark checks its answer so it doubles as a smoke test under --benchmark-disable.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from twin.store import DuckDBStore, Store

N_TAGS, N_STEPS = 400, 2500  # 1 M points per batch: 400 cells × 2500 one-second samples
T0 = np.datetime64("2026-01-01T00:00:00", "us")
PG = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


def _batch(round_no: int, n_tags: int, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tags = np.array([f"cell:1-{i:03d}/voltage_V" for i in range(n_tags)])
    start = T0 + np.timedelta64(round_no * n_steps, "s")
    ts = start + np.arange(n_steps).astype("timedelta64[s]")
    return (
        np.repeat(tags, n_steps),
        np.tile(ts, n_tags),
        4.2 + 0.05 * np.random.default_rng(round_no).standard_normal(n_tags * n_steps),
    )


def _bench_writes(benchmark, store: Store, n_tags: int, n_steps: int, rounds: int) -> None:
    store.register_tags(f"cell:1-{i:03d}/voltage_V" for i in range(n_tags))
    batches = iter([_batch(r, n_tags, n_steps) for r in range(rounds + 1)])
    elapsed: list[float] = []

    def write() -> int:
        tags, ts, values = next(batches)
        t = time.perf_counter()
        n = store.write_points(tags, ts, values)
        elapsed.append(time.perf_counter() - t)
        return n

    n = benchmark.pedantic(write, rounds=rounds, iterations=1, warmup_rounds=0)
    assert n == n_tags * n_steps
    best = min(elapsed)
    benchmark.extra_info.update(
        points_per_batch=n, best_points_per_s=round(n / best), median_points_per_s=round(n / float(np.median(elapsed)))
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    agg = store.aggregate("cell:1-000/voltage_V", start, start + timedelta(days=1), bucket=timedelta(hours=1))
    assert agg.count.sum() == n_steps * len(elapsed)  # rollups kept up with every batch


@pytest.mark.benchmark(group="store-write")
def test_bench_write_duckdb(benchmark, tmp_path) -> None:
    with DuckDBStore(tmp_path / "bench.duckdb") as store:
        _bench_writes(benchmark, store, N_TAGS, N_STEPS, rounds=5)


@pytest.mark.postgres
@pytest.mark.benchmark(group="store-write")
def test_bench_write_postgres(benchmark) -> None:
    try:
        from twin.store.pg import PostgresStore

        store = PostgresStore(PG, schema="bench_" + uuid.uuid4().hex[:10])
    except Exception as exc:  # no server: nothing to measure
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        _bench_writes(benchmark, store, N_TAGS, 500, rounds=3)  # 200 k points per batch
    finally:
        store.drop_schema()


@pytest.fixture(scope="module")
def month_store(tmp_path_factory: pytest.TempPathFactory):
    """30 days of one cell voltage at 1 Hz (2.6 M points), written in daily batches."""
    store = DuckDBStore(tmp_path_factory.mktemp("bench") / "month.duckdb")
    store.register_tags(["cell:1-017/voltage_V"])
    day = np.arange(86_400)
    for d in range(30):
        ts = T0 + np.timedelta64(d, "D") + day.astype("timedelta64[s]")
        store.write_points("cell:1-017/voltage_V", ts, 4.2 + 0.1 * np.sin((day + d * 86_400) / 3600))
    yield store
    store.close()


@pytest.mark.benchmark(group="store-trend")
def test_bench_trend_30d_from_rollups(benchmark, month_store: Store) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=30)
    agg = benchmark(month_store.aggregate, "cell:1-017/voltage_V", start, end, max_points=1000)
    assert agg.source == "1h"
    assert len(agg) == 720
    assert agg.count.sum() == 30 * 86_400
    t = time.perf_counter()
    raw = month_store.aggregate("cell:1-017/voltage_V", start, end, bucket=agg.bucket, source="raw")
    benchmark.extra_info["same_query_from_raw_s"] = round(time.perf_counter() - t, 4)
    np.testing.assert_allclose(raw.twa, agg.twa, rtol=1e-9)
