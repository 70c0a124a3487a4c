"""Hostile telemetry against the service's wiring (host → FanoutSink(live twin, collector)) on a real Mosquitto:
one bad metric costs only itself and ingest keeps consuming."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from twin.live import LiveTwin
from twin.params import load_technology
from twin.service.config import resolve
from twin.service.store_sink import FanoutSink
from twin.telemetry import CollectingSink, HostConfig, Quality, SparkplugHost
from twin_edge.sparkplug import BDSEQ_METRIC, REBIRTH_METRIC, DataType
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb
from twin_edge.testing import PrivateBroker, Recorder, unique, wait_until

pytestmark = pytest.mark.mqtt

YEAR_9999_MS = 253_402_300_799_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def wired() -> Iterator[tuple[SparkplugHost, CollectingSink, Recorder]]:
    """A host feeding a two-pot live twin and a collector, as ServiceChain feeds the live twin and the store."""
    private_broker = PrivateBroker()
    private_broker.start()
    live = LiveTwin(load_technology(resolve("models/hal275.toml")), {"potline1": 2}, epoch_ms=_now_ms())
    live.warm_up()
    collected = CollectingSink()
    host = SparkplugHost(
        HostConfig(host_id=unique("twin"), broker_port=private_broker.port, group_ids=("potline1",)),
        FanoutSink(live, collected),
    )
    edge = Recorder("127.0.0.1", private_broker.port, "spBv1.0/potline1/NCMD/#")
    host.start()
    try:
        assert host.wait_online(5)
        yield host, collected, edge
    finally:
        edge.close()
        host.stop()
        private_broker.stop()


def _birth(edge: Recorder, t: int) -> None:
    nbirth = pb.Payload(timestamp=t, seq=0)
    nbirth.metrics.add(name=BDSEQ_METRIC, timestamp=t, datatype=DataType.INT64, long_value=0)
    nbirth.metrics.add(name=REBIRTH_METRIC, timestamp=t, datatype=DataType.BOOLEAN, boolean_value=False)
    dbirth = pb.Payload(timestamp=t, seq=1)
    dbirth.metrics.add(name="cell_voltage_V", alias=1, timestamp=t, datatype=DataType.FLOAT, float_value=4.2)
    dbirth.metrics.add(name="line_current_kA", alias=2, timestamp=t, datatype=DataType.FLOAT, float_value=300.0)
    edge.publish("spBv1.0/potline1/NBIRTH/gw01", nbirth.SerializeToString(), qos=1)
    edge.publish("spBv1.0/potline1/DBIRTH/gw01/pot_001", dbirth.SerializeToString(), qos=1)


@pytest.mark.parametrize("stamp", [YEAR_9999_MS, 2**64 - 1])
def test_a_far_future_timestamp_costs_only_its_metric_and_ingest_goes_on(
    wired: tuple[SparkplugHost, CollectingSink, Recorder], stamp: int
) -> None:
    """A metric stamped in year 9999 (or 2**64-1 ms) beside a good one: the good one is delivered, the bad one is
    counted as ``bad_timestamp`` and never reaches the live twin (which used to compute every window up to it,
    holding the ingest worker for good), and the next message is still consumed."""
    host, collected, edge = wired
    t = _now_ms()
    _birth(edge, t)
    data = pb.Payload(timestamp=t + 10, seq=2)
    data.metrics.add(alias=1, timestamp=stamp, float_value=4.3)
    data.metrics.add(alias=2, timestamp=t + 10, float_value=301.0)
    edge.publish("spBv1.0/potline1/DDATA/gw01/pot_001", data.SerializeToString(), qos=1)
    after = pb.Payload(timestamp=t + 20, seq=3)
    after.metrics.add(alias=2, timestamp=t + 20, float_value=302.0)
    edge.publish("spBv1.0/potline1/DDATA/gw01/pot_001", after.SerializeToString(), qos=1)

    def current() -> list[float]:
        return [s.value for s in collected.samples() if s.metric == "line_current_kA" and s.quality is Quality.GOOD]

    wait_until(lambda: current() == [300.0, 301.0, 302.0])
    assert all(s.timestamp_ms < t + 60_000 for s in collected.samples())
    counters = host.counters
    assert counters["bad_timestamp"] == 1
    assert counters['dropped{node="potline1/gw01",reason="bad_timestamp"}'] == 1
    assert counters["internal_errors"] == counters["sink_errors"] == 0
