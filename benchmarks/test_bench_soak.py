"""Soak: the ingest chain at plant scale, time accelerated (issue 9).

Two potlines of 352 pots (the reference plant) report at 1 Hz of plant time through a private Mosquitto into one
twin process: :class:`twin.telemetry.SparkplugHost` → ``FanoutSink(LiveTwin, StoreSink)`` → DuckDB, as
``twin serve`` wires them. A publisher subprocess stands in for the two edge gateways (a real gateway polls
its PLCs in wall-clock time, so it cannot be accelerated): per potline an NBIRTH, one DBIRTH per pot with the
gateway's metric names and aliases (``POT_LAYOUT``), then per plant second one alias-only DDATA per pot with what
report-by-exception sends every second (voltage, current, pseudo-resistance), the feed counter every 90 s and a
bath-temperature dip every 4 h, at ``SOAK_SPEED`` plant seconds per wall second, QoS 1. Like a gateway, it
answers the host's rebirth requests (NCMD) with a new NBIRTH and every DBIRTH (``rebirths_answered``).

Where the chain stalls: beside each RSS reading the trace holds the host's queue depth, the sink's waits for room,
its slowest write, the messages dropped and the longest gap between ticks of a watchdog thread (a long gap: one
thread held the GIL); the watchdog dumps every thread's stack to ``SOAK_STALL_DUMPS`` (default a file in the
test's tmp dir) when the host has messages queued and applies none for 5 s, or when its own tick is held 5 s.

Reported in ``extra_info``: resident memory (RSS) of the twin process at start, middle and end, a trace of
RSS_SAMPLES readings (plant seconds applied, RSS MB, DuckDB's own memory MB from ``engine_memory_bytes``), and the
least-squares growth over the run's second half in MB per plant hour of RSS and of RSS less DuckDB's memory (the
"memory flat" criterion: DuckDB caches table blocks up to its ``memory_limit`` and then evicts, so RSS grows by
the cache until the bound is reached and is flat after; what grows outside the cache is a leak); values
published, applied by the host, written to the store and counted back from the DuckDB file after it is closed;
the host's loss counters (queue overflow, seq gaps, sink errors); the achieved rate against raw paho on the
same stream (baseline: a bare subscriber that counts messages, measured in the same run).

``SOAK_DUCKDB_MEMORY`` the store's DuckDB memory limit (default 1GB, the store's own default).
``SOAK_HOURS`` sets the plant time (24 for the issue's day; CI under ``--benchmark-disable`` runs 30 plant
seconds as a smoke test); ``SOAK_SPEED`` the acceleration (default 10; the publisher never runs ahead of it, the
twin may fall behind it, and the run then lasts as long as the twin needs).
"""

from __future__ import annotations

import faulthandler
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from twin.live import LiveConfig, LiveTwin
from twin.params import load_technology
from twin.service.store_sink import FanoutSink, StoreSink
from twin.store import open_store
from twin.telemetry import HostConfig, SparkplugHost
from twin_edge.testing import PrivateBroker, unique

ROOT = Path(__file__).resolve().parents[1]
POTS = 352
RSS_SAMPLES = 20
LINES = ("potline1", "potline2")

_PUBLISHER = """
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from twin_edge.simplc.layout import POT_LAYOUT, device_id
from twin_edge.sparkplug import BDSEQ_METRIC, REBIRTH_METRIC, DataType, Metric, encode_payload
port, prefix, pots, seconds, speed, t0 = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                         float(sys.argv[5]), int(sys.argv[6]))
lines = [f"potline{n}" for n in (1, 2)]
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=prefix + "-pub")
c.max_inflight_messages_set(1000)
c.max_queued_messages_set(0)
rebirth = set()  # lines whose host asked for a rebirth (NCMD Node Control/Rebirth), answered between rounds
c.on_message = lambda _c, _u, m: rebirth.add(m.topic.split("/")[1])
c.connect("127.0.0.1", port)
for line in lines:
    c.subscribe(f"spBv1.0/{line}/NCMD/gw01", qos=1)
c.loop_start()
slot = {s.name: k for k, s in enumerate(POT_LAYOUT)}
def alias(p, name):  # unique across all devices of the edge node (Sparkplug B 3.0, tck-id-payloads-alias-uniqueness)
    return p * len(POT_LAYOUT) + slot[name] + 1
kind = {"Float": DataType.FLOAT, "UInt32": DataType.UINT32, "Boolean": DataType.BOOLEAN}
seq = {line: 0 for line in lines}
published = 0
def nxt(line):
    seq[line] = (seq[line] + 1) % 256
    return seq[line]
def pot_values(p, k):
    v = 4.20 + 0.002 * ((p * 7 + k) % 11 - 5)
    i = 300.0
    return {"cell_voltage_V": v, "line_current_kA": i, "pseudo_resistance_uohm": (v - 1.65) / i * 1000.0,
            "feed_count": k // 90, "beam_count": 0, "anode_effect": False, "bath_temp_degC": 958.0 + (p % 5) * 0.5,
            "metal_height_cm": 22.0}
def births(line, k, ts):  # NBIRTH (seq 0, same bdSeq: the session goes on) and every pot's DBIRTH
    global published
    seq[line] = 0
    c.publish(f"spBv1.0/{line}/NBIRTH/gw01", encode_payload([
        Metric(name=BDSEQ_METRIC, timestamp=ts, datatype=DataType.INT64, value=0),
        Metric(name=REBIRTH_METRIC, timestamp=ts, datatype=DataType.BOOLEAN, value=False)], timestamp=ts, seq=0),
        qos=1)
    for p in range(pots):
        vals = pot_values(p, k)
        c.publish(f"spBv1.0/{line}/DBIRTH/gw01/{device_id(p)}", encode_payload([
            Metric(name=s.name, alias=alias(p, s.name), timestamp=ts, datatype=kind[s.datatype], value=vals[s.name])
            for s in POT_LAYOUT], timestamp=ts, seq=nxt(line)), qos=1)
        published += len(POT_LAYOUT)
for line in lines:
    births(line, 0, t0)
start = time.perf_counter()
rebirths = 0
for k in range(1, seconds + 1):
    ts = t0 + k * 1000
    for line in lines:
        if line in rebirth:
            rebirth.discard(line)
            rebirths += 1
            births(line, k, ts - 1)
    for line in lines:
        for p in range(pots):
            vals = pot_values(p, k)
            names = ["cell_voltage_V", "line_current_kA", "pseudo_resistance_uohm"]
            if k % 90 == 0:
                names.append("feed_count")
            if (k + p * 41) % 14400 == 0:
                names.append("bath_temp_degC")
            metrics = [Metric(alias=alias(p, n), timestamp=ts, value=vals[n],
                              value_field="int_value" if n == "feed_count" else "float_value") for n in names]
            info = c.publish(f"spBv1.0/{line}/DDATA/gw01/{device_id(p)}",
                             encode_payload(metrics, timestamp=ts, seq=nxt(line)), qos=1)
            published += len(metrics)
    info.wait_for_publish(120)  # flow control: one round in flight at a time (the broker queues for the twin)
    lag = k / speed - (time.perf_counter() - start)
    if lag > 0:
        time.sleep(lag)
info.wait_for_publish(60)
time.sleep(0.5)
print(rebirths, published, flush=True)
c.disconnect()
c.loop_stop()
"""


class _Watchdog:
    """Finds where the chain stalls: a thread that ticks every ``TICK_S`` and records the longest gap between
    ticks (a gap far over the tick means one thread held the GIL that long), with faulthandler armed to dump every
    thread's stack to ``path`` when a gap exceeds ``hold_s`` (its C thread needs no GIL) and a dump of its own
    when the host has messages queued but applies nothing for ``hold_s``."""

    TICK_S = 0.1

    def __init__(self, host: SparkplugHost, path: Path, hold_s: float = 5.0, max_dumps: int = 5) -> None:
        self.host, self.path, self.hold_s, self.max_dumps = host, path, hold_s, max_dumps
        self.longest_gap_s = 0.0  # since the last read (``take_gap``)
        self.dumps = 0
        self._stop = threading.Event()
        self._file = open(path, "w")  # noqa: SIM115 - held for faulthandler until stop()
        self._thread = threading.Thread(target=self._run, name="soak-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        faulthandler.cancel_dump_traceback_later()
        self._file.close()

    def take_gap(self) -> float:
        gap, self.longest_gap_s = self.longest_gap_s, 0.0
        return round(gap, 2)

    def _dump(self, why: str) -> None:
        if self.dumps < self.max_dumps:
            self.dumps += 1
            self._file.write(f"\n== {why} at {time.strftime('%H:%M:%S')} ==\n")
            self._file.flush()
            faulthandler.dump_traceback(self._file, all_threads=True)

    def _run(self) -> None:
        last = time.perf_counter()
        applied, moved = -1, last
        while not self._stop.wait(self.TICK_S):
            if self.dumps < self.max_dumps:
                faulthandler.dump_traceback_later(self.hold_s, file=self._file)  # re-armed every tick
            now = time.perf_counter()
            self.longest_gap_s = max(self.longest_gap_s, now - last)
            last = now
            counters = self.host.counters
            if counters["applied"] != applied or self.host.queue_depth == 0:
                applied, moved = counters["applied"], now
            elif now - moved > self.hold_s:
                self._dump(f"nothing applied for {now - moved:.1f} s with {self.host.queue_depth} queued")
                moved = now


def _chain_state(host: SparkplugHost, sink: StoreSink, watchdog: _Watchdog) -> tuple[int, int, int, int, float]:
    """(host queue depth, the sink's waits for room, its slowest write ms so far, messages dropped, the longest
    GIL gap in s since the last sample)."""
    return (host.queue_depth, sink.counters["store_queue_waits"], sink.slowest_write_ms,
            host.counters["queue_overflow"], watchdog.take_gap())


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def _second_half_slope(trace: list[tuple[int, float, float]], less_engine: bool = False) -> float | None:
    """Least-squares growth over the second half of the run, MB per plant hour (flat memory: near 0), of RSS or
    of RSS less DuckDB's own memory."""
    half = [p for p in trace[len(trace) // 2:] if p[0] > 0]
    if len(half) < 3 or half[-1][0] == half[0][0]:
        return None
    t = np.array([p[0] for p in half], dtype=float) / 3600.0
    mb = np.array([p[1] - (p[2] if less_engine else 0.0) for p in half])
    return round(float(np.polyfit(t, mb, 1)[0]), 1)


def _plant_seconds(benchmark) -> int:
    if benchmark.disabled:
        return 10
    return int(float(os.environ.get("SOAK_HOURS", "0.25")) * 3600)


def _raw_rate(port: int, seconds: int, speed: float) -> float:
    """Messages per second a bare paho subscriber receives from the same publisher (the baseline)."""
    prefix = unique("raw")
    state = {"n": 0, "first": 0.0, "last": 0.0}
    subscribed = threading.Event()

    def on_message(_c: object, _u: object, _m: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        if state["n"] == 0:
            state["first"] = now
        state["n"] += 1
        state["last"] = now

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=prefix + "-sub")
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", port)
    client.subscribe("spBv1.0/#", qos=1)
    client.loop_start()
    assert subscribed.wait(5)
    t0 = int(time.time() * 1000)
    subprocess.run([sys.executable, "-c", _PUBLISHER, str(port), prefix, str(POTS), str(seconds), str(speed), str(t0)],
                   check=True, capture_output=True, timeout=seconds / speed * 4 + 120)
    time.sleep(1.0)
    client.disconnect()
    client.loop_stop()
    return state["n"] / max(state["last"] - state["first"], 1e-9)


@pytest.mark.mqtt
def test_bench_soak_two_potlines_of_352_pots(benchmark, tmp_path: Path) -> None:
    seconds = _plant_seconds(benchmark)
    speed = float(os.environ.get("SOAK_SPEED", "10"))
    broker = PrivateBroker(extra_config=["max_queued_messages 0", "max_inflight_messages 0"])
    broker.start()
    figures: dict[str, float] = {}
    try:
        technology = load_technology(ROOT / "models" / "hal275.toml")
        t0 = int(time.time() * 1000)  # plant time of the first birth; the publisher runs ahead of the wall clock
        live = LiveTwin(technology, dict.fromkeys(LINES, POTS), LiveConfig(), epoch_ms=t0, speed=1.0)
        live.warm_up()  # as ServiceChain.start does
        path = tmp_path / "soak.duckdb"
        store = open_store(f"duckdb:///{path}?memory_limit={os.environ.get('SOAK_DUCKDB_MEMORY', '1GB')}")
        sink = StoreSink(store)
        host = SparkplugHost(HostConfig(host_id=unique("soak"), broker_port=broker.port, group_ids=LINES),
                             FanoutSink(live, sink))
        rss = [_rss_mb()]
        trace: list[tuple[int, float, float]] = []  # (plant s applied, RSS MB, DuckDB MB) at RSS_SAMPLES points
        values_per_plant_s = 2 * POTS * 3  # voltage, current, pseudo-resistance per pot and plant second
        drain: list[float] = []  # wall s from the publisher's end until everything was applied and stored
        answered: list[int] = []  # rebirths the publisher answered
        chain: list[tuple[int, int, int, int, float]] = []  # _chain_state() beside each trace point
        watchdog = _Watchdog(host, Path(os.environ.get("SOAK_STALL_DUMPS", tmp_path / "stalls.txt")))

        def run() -> int:
            host.start()
            assert host.wait_online(10)
            watchdog.start()
            publisher = subprocess.Popen(
                [sys.executable, "-c", _PUBLISHER, str(broker.port), "soak", str(POTS), str(seconds), str(speed),
                 str(t0)],
                stdout=subprocess.PIPE, text=True,
            )
            begun = time.monotonic()
            while publisher.poll() is None:
                time.sleep(0.5)
                if time.monotonic() - begun >= len(trace) * seconds / speed / RSS_SAMPLES:
                    trace.append((round(host.counters["applied"] / values_per_plant_s), round(_rss_mb(), 1),
                                  round((store.engine_memory_bytes() or 0) / 1e6, 1)))
                    chain.append(_chain_state(host, sink, watchdog))
            out, _ = publisher.communicate()
            assert publisher.returncode == 0
            rebirths, published = (int(word) for word in out.split()[-2:])
            answered.append(rebirths)
            ended = time.monotonic()
            last, still = -1, time.monotonic()
            while host.counters["applied"] < published and time.monotonic() - still < 120:  # until it stops moving
                time.sleep(0.2)
                if host.counters["applied"] != last:
                    last, still = host.counters["applied"], time.monotonic()
            sink.flush()
            drain.append(time.monotonic() - ended)
            watchdog.stop()
            host.stop()
            sink.flush()
            return published

        started = time.perf_counter()
        published = benchmark.pedantic(run, rounds=1, iterations=1)
        elapsed = time.perf_counter() - started
        rss.append(trace[len(trace) // 2][1] if trace else _rss_mb())
        rss.append(_rss_mb())
        store.close()
        with duckdb.connect(str(path), read_only=True) as db:
            stored = db.execute("SELECT count(*) FROM points").fetchone()[0]
        counters = host.counters
        figures = {
            "plant_seconds": seconds,
            "speed": speed,
            "wall_s": round(elapsed, 1),
            "rss_start_MB": round(rss[0], 1),
            "rss_middle_MB": round(rss[1], 1),
            "rss_end_MB": round(rss[2], 1),
            "values_published": published,
            "values_applied": counters["applied"],
            "points_written": sink.counters["points_written"],
            "points_in_duckdb": stored,
            "queue_overflow": counters["queue_overflow"],
            "seq_gaps": counters["seq_gaps"],
            "stale_marked": counters["stale_marked"],
            "sink_errors": counters["sink_errors"],
            "twin_values_per_s": round(counters["applied"] / elapsed),
            # kept up: the twin had applied and stored (nearly) everything when the publisher ended
            "drain_after_publisher_s": round(drain[0], 1) if drain else None,
            "messages_received": counters["received"],
            "messages_decoded": counters["decoded"],
            "rss_trace_plant_s_MB": trace,
            "rss_growth_second_half_MB_per_plant_h": _second_half_slope(trace),
            "rss_less_duckdb_growth_second_half_MB_per_plant_h": _second_half_slope(trace, less_engine=True),
            "duckdb_memory_end_MB": trace[-1][2] if trace else None,
            "chain_trace_queue_waits_slowest_write_ms_dropped_gil_gap_s": chain,
            "store_writes": sink.counters["store_writes"],
            "store_write_ms_mean": round(sink.counters["store_write_ms"] / max(sink.counters["store_writes"], 1), 1),
            "store_write_ms_max": sink.slowest_write_ms,
            "store_queue_wait_ms": sink.counters["store_queue_wait_ms"],
            "stall_dumps": watchdog.dumps,
            "rebirths_answered": answered[0] if answered else None,
            "live_twin_windows": live.counters["windows"],
        }
        if not benchmark.disabled:
            figures["raw_paho_messages_per_s"] = round(_raw_rate(broker.port, min(seconds, 120), speed * 4))
    finally:
        broker.stop()
    benchmark.extra_info.update(figures)
    assert figures["values_applied"] == figures["values_published"], (figures, counters)
    # the store holds every value once, plus the STALE mark of each metric when the host stopped
    assert figures["points_in_duckdb"] == figures["points_written"], figures
    assert figures["points_written"] == figures["values_published"] + figures["stale_marked"], figures
    assert figures["queue_overflow"] == figures["seq_gaps"] == figures["sink_errors"] == 0, figures
