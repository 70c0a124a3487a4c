"""``GET /v1/kpis`` latency at 200 requests/s against an empty route on the same server, in the same run,
without and with 50 SSE clients, with a real live twin of two 352-cell potlines under ingest (issue 9 item 10).

The server runs in its own process (uvicorn, one worker) with what ``twin serve`` runs behind the API:
a :class:`twin.live.LiveTwin` of ``potline1 = potline2 = 352`` cells (ensemble filter, alarms) and a
:class:`twin.service.store_sink.StoreSink` into a DuckDB store, fed through a ``FanoutSink`` as the
Sparkplug host feeds them. The MQTT hop is left out: an ingest thread hands them every pot's samples once
a second (2 × 352 pots × 1 Hz, from :class:`twin.live.PlantSource` models of the two lines), and a
housekeeping thread ticks the twin and flushes the sink each second, as ``ServiceChain`` does. The twin
runs at ``BENCH_SPEED`` model seconds per wall second: 1 (default) as ``twin serve`` runs it, a new snapshot
per 30-s analysis window; 30 as ``twin demo`` runs it, a new snapshot every second (the worst case for
rendering, and more filter work than two cores give a 2 × 352-cell twin: use ``BENCH_CELLS`` to shrink it).

Load is open-loop (requests leave on a fixed schedule; latency counts from the scheduled time, so a slow
answer cannot hide the queue behind it). p50/p99/max of each route and condition go to
``benchmark.extra_info``, with the work done meanwhile (samples ingested, windows, renderings, SSE events).
Target (design.md): /v1/kpis p99 ≤ 2 × the empty route's. Timings are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from twin.api import Settings, create_api_key, create_app
from twin.store import DuckDBStore

ROOT = Path(__file__).resolve().parents[1]
RATE = 200
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))  # per route and condition
CELLS = int(os.environ.get("BENCH_CELLS", "352"))  # per potline
LINES = ("potline1", "potline2")
SPEED = float(os.environ.get("BENCH_SPEED", "1"))  # model s per wall s: 1 as twin serve; 30 as twin demo
SSE_CLIENTS = int(os.environ.get("BENCH_SSE_CLIENTS", "50"))


def make_bench_app():
    from twin.live import LiveTwin, PlantSource
    from twin.params import load_technology
    from twin.service.store_sink import FanoutSink, StoreSink

    store = DuckDBStore(os.environ["BENCH_STORE"])
    tech = load_technology(ROOT / "models/hal275.toml")
    epoch_ms = time.time_ns() // 1_000_000
    live = LiveTwin(tech, dict.fromkeys(LINES, CELLS), epoch_ms=epoch_ms, speed=SPEED)
    sink = StoreSink(store)
    fanout = FanoutSink(live, sink)
    sources = {g: PlantSource(tech, CELLS, seed=n + 1) for n, g in enumerate(LINES)}
    counts = {"samples": 0, "ingest_s": 0.0}
    stop = threading.Event()

    def ingest() -> None:  # stand-in for the Sparkplug host: every pot's samples once a second
        tick = 0
        while not stop.wait(max(0.0, epoch_ms / 1000 + tick + 1 - time.time())):
            tick += 1
            t_model = tick * SPEED
            started = time.perf_counter()
            for group, source in sources.items():
                source.advance_to(t_model)
                batch = source.samples(group=group, node="gw01", timestamp_ms=epoch_ms + tick * 1000)
                fanout.accept(batch)
                counts["samples"] += len(batch)
            counts["ingest_s"] += time.perf_counter() - started

    def housekeeping() -> None:  # as ServiceChain._housekeeping
        while not stop.wait(1.0):
            live.tick()
            sink.flush()

    app = create_app(
        Settings(), store, live=live,
        ingest_stats=lambda: {**counts, **sink.counters, "windows": live.counters["windows"]},
    )

    @app.get("/bench/empty", include_in_schema=False)
    async def empty() -> dict:
        return {}

    threading.Thread(target=ingest, name="ingest", daemon=True).start()
    threading.Thread(target=housekeeping, name="housekeeping", daemon=True).start()
    return app


class _Connection:
    """A keep-alive HTTP/1.1 connection on bare asyncio streams. httpx's pool degrades badly with hundreds
    of queued requests (after any server stall the load generator, not the server, became the bottleneck),
    so the open-loop load uses this instead."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, int]:
        """(status, body bytes) of ``GET path``; once more on a new connection if the server had closed
        this one while it was idle (uvicorn's keep-alive timeout)."""
        reused = self.writer is not None
        try:
            return await self._get(path)
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            if not reused:
                raise
            return await self._get(path)

    async def _get(self, path: str) -> tuple[int, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nX-API-Key: {self.key}\r\n"
            "Accept-Encoding: gzip\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("content-length", headers.get("Content-Length", "0")))
        await self.reader.readexactly(length)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, length

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def _load(url: str, key: str, path: str, rate: int, seconds: float, connections: int = 64) -> np.ndarray:
    """Open loop: request i is due at t0 + i/rate; any free connection takes the next due request; latency
    counts from the due time, so waiting for a connection (a stalled server) is counted too."""
    host, port = url.removeprefix("http://").split(":")
    conns = [_Connection(host, int(port), key) for _ in range(connections)]
    for conn in conns[:20]:  # warm connections and the key cache
        assert (await conn.get(path))[0] == 200
    loop = asyncio.get_running_loop()
    n = int(rate * seconds)
    t0 = loop.time() + 0.05
    due = asyncio.Queue[float]()
    latencies: list[float] = []

    async def schedule() -> None:
        for i in range(n):
            at = t0 + i / rate
            await asyncio.sleep(max(0.0, at - loop.time()))
            due.put_nowait(at)

    async def worker(conn: _Connection) -> None:
        while len(latencies) < n:
            try:
                at = await asyncio.wait_for(due.get(), 1.0)
            except TimeoutError:
                continue
            status, _ = await conn.get(path)
            assert status == 200, f"{path}: {status}"
            latencies.append(loop.time() - at)

    try:
        await asyncio.gather(schedule(), *(worker(c) for c in conns))
    finally:
        for conn in conns:
            await conn.close()
    return np.asarray(latencies) * 1e3


async def _sse_clients(url: str, key: str, n: int, events: Any, ready: Any) -> None:
    async def client() -> None:
        async with (
            httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=None) as c,
            c.stream("GET", "/v1/stream/kpis") as r,
        ):
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    with events.get_lock():
                        events.value += 1
                        if events.value >= n:
                            ready.set()

    await asyncio.gather(*(client() for _ in range(n)))


def _sse_process(url: str, key: str, n: int, events: Any, ready: Any) -> None:
    """``n`` SSE clients in a process of their own, so that reading their events does not slow the load
    generator's event loop (and with it the latencies it measures)."""
    asyncio.run(_sse_clients(url, key, n, events, ready))


async def _measure(url: str, key: str, sse_clients: int, seconds: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    events, ready = ctx.Value("l", 0), ctx.Event()
    proc = ctx.Process(target=_sse_process, args=(url, key, sse_clients, events, ready), daemon=True)
    if sse_clients:
        proc.start()
    try:
        if sse_clients:
            assert await asyncio.to_thread(ready.wait, 90), "the SSE clients did not all get their first event"
        before = events.value
        kpis = await _load(url, key, "/v1/kpis", RATE, seconds)
        empty = await _load(url, key, "/bench/empty", RATE, seconds)
        return {"kpis": kpis, "empty": empty, "sse_events": events.value - before}
    finally:
        if sse_clients:
            proc.terminate()
            proc.join(10)


@pytest.fixture(scope="module")
def bench_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    path = tmp_path_factory.mktemp("benchapi") / "api.duckdb"
    with DuckDBStore(path) as store:
        key = create_api_key(store, "bench", ["read"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BENCH_STORE": str(path), "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    if request.config.getoption("benchmark_disable") and "BENCH_SPEED" not in os.environ:
        env["BENCH_SPEED"] = "30"  # a smoke test (the suite): the twin's first windows in seconds, as twin demo
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.test_bench_api:make_bench_app", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/v1/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "benchmark server exited"
                assert time.monotonic() < deadline, "benchmark server did not start"
                time.sleep(0.1)
        while _figures(url).get("twin_ingest_windows", 0) < 2:  # the twin has published a snapshot
            assert time.monotonic() < deadline + 60, "the live twin did not start processing windows"
            time.sleep(0.5)
        yield url, key
    finally:
        proc.terminate()
        proc.wait(10)


def _figures(url: str) -> dict[str, float]:
    out = {}
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith(("twin_", "process_")) and " " in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def _record(benchmark, prefix: str, lat: np.ndarray, seconds: float) -> None:
    assert len(lat) == int(RATE * seconds)
    benchmark.extra_info[f"{prefix}_p50_ms"] = round(float(np.percentile(lat, 50)), 2)
    benchmark.extra_info[f"{prefix}_p99_ms"] = round(float(np.percentile(lat, 99)), 2)
    benchmark.extra_info[f"{prefix}_max_ms"] = round(float(lat.max()), 2)


@pytest.mark.benchmark(group="api")
def test_bench_kpis_p99_live_twin_with_and_without_sse(benchmark, bench_server: tuple[str, str]) -> None:
    url, key = bench_server
    result: dict[str, dict] = {}
    # a smoke test (the suite) loads each route for 1 s, not 5: the four loads took 20 of its 29 s on a Zen 3 VM
    seconds = 1.0 if benchmark.disabled and "BENCH_SECONDS" not in os.environ else SECONDS

    def run() -> None:
        before = _figures(url)
        result["plain"] = asyncio.run(_measure(url, key, 0, seconds))
        middle = _figures(url)
        result["sse"] = asyncio.run(_measure(url, key, SSE_CLIENTS, seconds)) if SSE_CLIENTS else result["plain"]
        after = _figures(url)
        result["figures"] = {"before": before, "middle": middle, "after": after}

    benchmark.pedantic(run, rounds=1, iterations=1)
    fig = result["figures"]
    for condition in ("plain", "sse"):
        _record(benchmark, f"{condition}_kpis", result[condition]["kpis"], seconds)
        _record(benchmark, f"{condition}_empty", result[condition]["empty"], seconds)
    start, end = fig["before"], fig["after"]
    samples = end["twin_ingest_samples"] - start["twin_ingest_samples"]
    windows = end["twin_ingest_windows"] - start["twin_ingest_windows"]
    renders = end.get("twin_api_snapshot_renders_total", 0) - start.get("twin_api_snapshot_renders_total", 0)
    assert samples > 0  # the ingest ran during the load
    # the SSE clients all had their first event before the load (_measure); more come only with new snapshots
    benchmark.extra_info.update(
        rate_per_s=RATE, seconds_per_route=seconds, cells=f"{len(LINES)} x {CELLS}", twin_speed=SPEED,
        sse_clients=SSE_CLIENTS, samples_ingested=int(samples), twin_windows=int(windows),
        snapshot_renders=int(renders), sse_events=int(result["sse"]["sse_events"]),
        ingest_cpu_s=round(end["twin_ingest_ingest_s"] - start["twin_ingest_ingest_s"], 2),
        points_written=int(end.get("twin_ingest_points_written", 0) - start.get("twin_ingest_points_written", 0)),
    )
