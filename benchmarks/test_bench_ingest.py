"""Ingest throughput: Sparkplug metrics decoded, ordered and applied by one host process, against raw paho.

A publisher subprocess (its own core) sends NBIRTH + DBIRTH and then DDATA messages of 8 (one pot per message)
or 50 (a gateway batching several pots) alias-only Double metrics at QoS 0 through a private Mosquitto. The same
stream is received once by :class:`twin.telemetry.SparkplugHost` (decode, seq ordering, alias resolution, samples
to a sink) and once by a bare paho client that only counts messages. Both rates go to ``extra_info``. The host's
sink either only counts, or also writes every sample through :class:`StoreSink` into DuckDB (the rate then
runs until the last batch is in the store, and the test counts the stored points back).
Targets (design.md): >= 200 k metrics/s applied. Under ``--benchmark-disable`` a short stream checks correctness.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from twin.service.store_sink import StoreSink
from twin.store import Store, open_store
from twin.telemetry import HostConfig, Sample, SparkplugHost
from twin_edge.testing import PrivateBroker, unique

_PUBLISHER = """
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from twin_edge.sparkplug import BDSEQ_METRIC, REBIRTH_METRIC, DataType, Metric, encode_payload
port, group, n, m = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=group + "-pub")
c.max_queued_messages_set(0)
c.connect("127.0.0.1", port)
c.loop_start()
base = f"spBv1.0/{group}"
ts = int(time.time() * 1000) - n - 1000  # one ms per message, all in the past: the STALE marks of the host's stop
c.publish(f"{base}/NBIRTH/gw", encode_payload([
    Metric(name=BDSEQ_METRIC, timestamp=ts, datatype=DataType.INT64, value=0),
    Metric(name=REBIRTH_METRIC, timestamp=ts, datatype=DataType.BOOLEAN, value=False)], timestamp=ts, seq=0))
c.publish(f"{base}/DBIRTH/gw/section_01", encode_payload([
    Metric(name=f"pot_{i // 8:03d}/signal_{i % 8}", alias=i + 1, timestamp=ts, datatype=DataType.DOUBLE, value=0.0)
    for i in range(m)], timestamp=ts, seq=1))
payloads = [encode_payload([Metric(alias=i + 1, timestamp=ts + 1 + k, value=float(i + k), value_field="double_value")
                            for i in range(m)], timestamp=ts + 1 + k, seq=(k + 2) % 256) for k in range(n)]
topic = f"{base}/DDATA/gw/section_01"
for k in range(n):
    info = c.publish(topic, payloads[k])
    if k % 2000 == 1999:
        info.wait_for_publish(10)
info.wait_for_publish(30)
time.sleep(0.2)
c.disconnect()
c.loop_stop()
"""


def _publish(port: int, group: str, messages: int, metrics: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _PUBLISHER, str(port), group, str(messages), str(metrics)])


class CountingSink:
    def __init__(self, target: int) -> None:
        self.target, self.count = target, 0
        self.first: float | None = None
        self.last = 0.0
        self.done = threading.Event()

    def accept(self, samples: Sequence[Sample]) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.count += len(samples)
        if self.count >= self.target:
            self.last = time.perf_counter()
            self.done.set()


class StoringSink(CountingSink):
    """Counts like :class:`CountingSink` and passes every batch to a :class:`StoreSink`; the stream counts as
    done once the last batch is written to the store (``flush``), so the rate includes the store's writes."""

    def __init__(self, target: int, store_sink: StoreSink) -> None:
        super().__init__(target)
        self.store_sink = store_sink

    def accept(self, samples: Sequence[Sample]) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.store_sink.accept(samples)
        self.count += len(samples)
        if self.count >= self.target:
            self.store_sink.flush()
            self.last = time.perf_counter()
            self.done.set()


def _host_rate(port: int, messages: int, metrics: int, store: Store | None = None) -> tuple[float, dict[str, int]]:
    group = unique("bench")
    target = metrics * (messages + 1)  # DBIRTH + DDATA
    sink = CountingSink(target) if store is None else StoringSink(target, StoreSink(store))
    host = SparkplugHost(
        HostConfig(
            host_id=unique("benchhost"), broker_port=port, group_ids=(group,), queue_size=max(100_000, messages + 10)
        ),
        sink,
    )
    host.start()
    assert host.wait_online(5)
    publisher = _publish(port, group, messages, metrics)
    try:
        assert sink.done.wait(120), f"only {sink.count} of {target} samples applied; counters {host.counters}"
    finally:
        publisher.wait(60)
        host.stop()
        if isinstance(sink, StoringSink):
            sink.store_sink.flush()  # the STALE marks of the stop
    assert sink.first is not None
    return sink.count / max(sink.last - sink.first, 1e-9), host.counters


def _raw_paho_rate(port: int, messages: int, metrics: int) -> float:
    group = unique("benchraw")
    state = {"n": 0, "first": 0.0, "last": 0.0}
    done, subscribed = threading.Event(), threading.Event()

    def on_message(_c: object, _u: object, _m: mqtt.MQTTMessage) -> None:
        if state["n"] == 0:
            state["first"] = time.perf_counter()
        state["n"] += 1
        if state["n"] >= messages + 2:
            state["last"] = time.perf_counter()
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=group + "-sub")
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", port)
    client.subscribe(f"spBv1.0/{group}/#", qos=1)
    client.loop_start()
    assert subscribed.wait(5)
    publisher = _publish(port, group, messages, metrics)
    try:
        assert done.wait(120), f"raw paho received only {state['n']} of {messages + 2}"
    finally:
        publisher.wait(60)
        client.disconnect()
        client.loop_stop()
    return (messages + 1) * metrics / max(state["last"] - state["first"], 1e-9)


@pytest.mark.mqtt
@pytest.mark.parametrize("metrics", [8, 50], ids=["8_metrics_per_message", "50_metrics_per_message"])
@pytest.mark.parametrize("sink", ["count", "duckdb"], ids=["counting_sink", "duckdb_store_sink"])
def test_bench_ingest_vs_raw_paho(benchmark, metrics: int, sink: str, tmp_path: Path) -> None:
    # A private Mosquitto with an unbounded per-client queue: the backlog waits in the broker instead of being
    # dropped, so each client drains the same stream at its own pace (mosquitto's default queue is 1000).
    broker = PrivateBroker(extra_config=["max_queued_messages 0", "max_queued_bytes 0"])
    broker.start()
    store = open_store(f"duckdb:///{tmp_path / 'ingest.duckdb'}") if sink == "duckdb" else None
    try:
        _bench(benchmark, broker.port, metrics, store)
        if store is not None:  # every value applied is in the store once
            n = sum(len(store.recorded(t.tag, *_span(), limit=100_000)) for t in store.tags())
            assert n == benchmark.extra_info["applied_and_stale"], (n, benchmark.extra_info)
    finally:
        broker.stop()
        if store is not None:
            store.close()


def _span() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=1)


def _bench(benchmark, port: int, metrics: int, store: Store | None = None) -> None:
    messages = 200 if benchmark.disabled else 400_000 // metrics
    results: dict[str, object] = {}
    applied: list[int] = []  # per run (the smoke run under --benchmark-disable runs twice into one store)

    def run() -> None:
        rate, counters = _host_rate(port, messages, metrics, store)
        results.update(metrics_per_s=round(rate), counters=counters)
        applied.append(counters["applied"] + counters["stale_marked"])  # the host's stop marks every metric STALE

    benchmark.pedantic(run, rounds=1, iterations=1)
    if benchmark.disabled:
        run()
    raw = _raw_paho_rate(port, messages, metrics)
    counters = results["counters"]
    assert isinstance(counters, dict)
    assert counters["applied"] == metrics * (messages + 1)  # zero loss at QoS 0 on loopback
    assert counters["seq_gaps"] == 0
    assert counters["queue_overflow"] == 0
    assert counters["malformed"] == 0
    benchmark.extra_info.update(
        metrics_per_s=results["metrics_per_s"],
        raw_paho_metrics_per_s=round(raw),
        ratio_to_raw_paho=round(results["metrics_per_s"] / raw, 3),  # type: ignore[operator]
        metrics_per_message=metrics,
        messages=messages,
        applied_and_stale=sum(applied),
        sink="counting" if store is None else "StoreSink(DuckDB)",
    )
    print(
        f"\ningest ({metrics} metrics/message) {results['metrics_per_s']:,} metrics/s applied; "
        f"raw paho receive {raw:,.0f} metrics/s"
    )
