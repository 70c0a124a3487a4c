"""KPI snapshot latency at 200 requests/s while a writer thread ingests points, next to an empty route.

The server runs in its own process (uvicorn, one worker) with the live provider, the DuckDB store and an
ingest stand-in: a thread writing 5 samples of 400 cell voltages every 100 ms (20 k points/s) into the same
store, as a batching ingest would. The
load is open-loop (requests are sent on a fixed schedule and latency counts from the scheduled time, so a
slow answer cannot hide the queue behind it). p50/p99 of both routes go to ``benchmark.extra_info``.
Target (design.md): p99 ≤ 20 ms for the KPI snapshot. Timings are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from twin.api import Settings, create_api_key, create_app
from twin.store import DuckDBStore

ROOT = Path(__file__).resolve().parents[1]
RATE, SECONDS = 200, 3.0


def make_bench_app():
    from tests.api.plantstate import SyntheticPlant

    store = DuckDBStore(os.environ["BENCH_STORE"])
    tags = [f"cell:1-{i:03d}/voltage_V" for i in range(400)]
    store.register_tags(tags)
    written = [0]
    stop = threading.Event()

    def ingest() -> None:  # stand-in for the telemetry ingest
        t = np.datetime64("2026-01-01T00:00:00", "us")
        rng = np.random.default_rng(0)
        names = np.repeat(np.array(tags), 5)
        while not stop.wait(0.1):
            ts = np.tile(t + np.arange(5).astype("timedelta64[s]"), 400)
            t += np.timedelta64(5, "s")
            written[0] += store.write_points(names, ts, 4.2 + 0.05 * rng.standard_normal(2000))

    app = create_app(
        Settings(), store, live=SyntheticPlant(n_cells=200), ingest_stats=lambda: {"points_written": written[0]}
    )

    @app.get("/bench/empty", include_in_schema=False)
    async def empty() -> dict:
        return {}

    threading.Thread(target=ingest, name="ingest", daemon=True).start()
    return app


async def _load(url: str, path: str, key: str, rate: int, seconds: float) -> np.ndarray:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, limits=limits, timeout=10) as c:
        for _ in range(20):  # warm connections and the key cache
            (await c.get(path)).raise_for_status()
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.05
        latencies: list[float] = []

        async def one(at: float) -> None:
            await asyncio.sleep(max(0.0, at - loop.time()))
            r = await c.get(path)
            assert r.status_code == 200, r.text
            latencies.append(loop.time() - at)

        await asyncio.gather(*(one(t0 + i / rate) for i in range(int(rate * seconds))))
    return np.asarray(latencies) * 1e3


@pytest.fixture(scope="module")
def bench_server(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("benchapi") / "api.duckdb"
    with DuckDBStore(path) as store:
        key = create_api_key(store, "bench", ["read"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BENCH_STORE": str(path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks.test_bench_api:make_bench_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/v1/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "benchmark server exited"
                assert time.monotonic() < deadline, "benchmark server did not start"
                time.sleep(0.1)
        yield url, key
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.benchmark(group="api")
def test_bench_kpi_snapshot_p99_under_ingest(benchmark, bench_server: tuple[str, str]) -> None:
    url, key = bench_server
    result: dict[str, np.ndarray] = {}

    def run() -> None:
        result["kpis"] = asyncio.run(_load(url, "/v1/kpis", key, RATE, SECONDS))
        result["empty"] = asyncio.run(_load(url, "/bench/empty", key, RATE, SECONDS))

    benchmark.pedantic(run, rounds=1, iterations=1)
    metrics = httpx.get(url + "/metrics").text
    written = next(
        float(line.split()[1]) for line in metrics.splitlines() if line.startswith("twin_ingest_points_written")
    )
    assert written > 0  # the writer really ran during the load
    for name, lat in result.items():
        assert len(lat) == int(RATE * SECONDS)
        benchmark.extra_info[f"{name}_p50_ms"] = round(float(np.percentile(lat, 50)), 2)
        benchmark.extra_info[f"{name}_p99_ms"] = round(float(np.percentile(lat, 99)), 2)
        benchmark.extra_info[f"{name}_max_ms"] = round(float(lat.max()), 2)
    benchmark.extra_info.update(rate_per_s=RATE, seconds_per_route=SECONDS, points_ingested=int(written))
