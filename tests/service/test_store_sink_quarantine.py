"""Issue 9 item 1 end to end on a real Mosquitto: bad points are quarantined, never contagious.

A hand-driven edge node publishes one DBIRTH and one DDATA mixing good points with every kind of bad one (NaN,
±inf, ``is_null``, an over-long name, a name that is not UTF-8, a timestamp of 2**64-1) and a metric name with
a space; the host hands them to the store sink over a real DuckDB file (the 2**64-1 timestamp is dropped by the
host already, as ``bad_timestamp``: far ahead of its clock). Everything good is stored, every bad
point is counted by edge node and reason (and shown on /metrics), unusable values are kept with quality ``bad``
and points the store cannot hold are in ``rejected_points``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from twin.api.metrics import HttpMetrics
from twin.service.store_sink import StoreSink
from twin.store import open_store
from twin.telemetry import HostConfig, SparkplugHost
from twin_edge.sparkplug import BDSEQ_METRIC, REBIRTH_METRIC, DataType
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb
from twin_edge.testing import Recorder, ensure_shared_broker, unique, wait_until

pytestmark = pytest.mark.mqtt

T = 1_790_000_000_000
LONG = "x" * 250


def _messages() -> tuple[bytes, bytes, bytes]:
    nbirth = pb.Payload(timestamp=T, seq=0)
    nbirth.metrics.add(name=BDSEQ_METRIC, timestamp=T, datatype=DataType.INT64, long_value=0)
    nbirth.metrics.add(name=REBIRTH_METRIC, timestamp=T, datatype=DataType.BOOLEAN, boolean_value=False)
    birth = pb.Payload(timestamp=T, seq=1)
    add = birth.metrics.add
    add(name="cell_voltage_V", alias=1, timestamp=T, datatype=DataType.FLOAT, float_value=4.0)
    add(name="Properties/Hours Run", alias=2, timestamp=T, datatype=DataType.DOUBLE, double_value=12.5)
    add(name=LONG, alias=3, timestamp=T, datatype=DataType.FLOAT, float_value=1.0)
    add(name="bath_temp_degC", alias=4, timestamp=T, datatype=DataType.FLOAT, float_value=math.nan)
    add(name="metal_height_cm", alias=5, timestamp=T, datatype=DataType.FLOAT, is_null=True)
    add(name="feed_count", alias=6, timestamp=2**64 - 1, datatype=DataType.UINT32, int_value=7)
    add(name="@@not_utf8", alias=8, timestamp=T, datatype=DataType.FLOAT, float_value=2.0)
    add(name="line_current_kA", alias=7, timestamp=T, datatype=DataType.FLOAT, float_value=300.0)
    raw_birth = birth.SerializeToString().replace(b"@@not_utf8", b"\xff\xfenot_utf8")
    data = pb.Payload(timestamp=T + 1000, seq=2)
    data.metrics.add(alias=1, timestamp=T + 1000, float_value=4.1)
    data.metrics.add(alias=4, timestamp=T + 1000, float_value=math.inf)
    data.metrics.add(alias=7, timestamp=T + 1000, float_value=301.0)
    return nbirth.SerializeToString(), raw_birth, data.SerializeToString()


def test_bad_points_are_quarantined_and_every_good_point_is_stored(tmp_path) -> None:
    broker = ensure_shared_broker()
    group, host_id = "potline1", unique("host")
    node = unique("gw")
    store = open_store(f"duckdb:///{tmp_path / 'q.duckdb'}")
    sink = StoreSink(store, batch=1000)
    host = SparkplugHost(HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(group,)), sink)
    edge = Recorder(*broker, f"{unique('unused-')}/#")
    host.start()
    try:
        assert host.wait_online(5)
        nbirth, dbirth, ddata = _messages()
        edge.publish(f"spBv1.0/{group}/NBIRTH/{node}", nbirth)
        edge.publish(f"spBv1.0/{group}/DBIRTH/{node}/pot_001", dbirth)
        edge.publish(f"spBv1.0/{group}/DDATA/{node}/pot_001", ddata)
        wait_until(lambda: host.counters["applied"] >= 6 + 3)
        sink.flush()
        counters, quarantined, sink_counters = host.counters, dict(sink.quarantined), dict(sink.counters)
    finally:  # (stopping the host marks everything stale: more samples, not part of what is checked here)
        host.stop()
        edge.close()
    try:
        assert counters["invalid_utf8"] == 1
        assert counters["bad_timestamp"] == 1  # 2**64-1 ms: dropped by the host, never handed to the store
        assert counters["internal_errors"] == 0
        assert counters["sink_errors"] == 0
        start, end = datetime.fromtimestamp(T / 1000 - 1, UTC), datetime.fromtimestamp(T / 1000 + 10, UTC)

        def stored(tag: str) -> list[tuple[float, str]]:
            page = store.recorded(tag, start, end)
            return [(float(v), q) for v, q in zip(page.value, page.quality, strict=True)]

        assert stored("cell:1-001/cell_voltage_V") == [(pytest.approx(4.0), "good"), (pytest.approx(4.1), "good")]
        assert stored("cell:1-001/line_current_kA") == [(300.0, "good"), (301.0, "good")]
        assert stored("cell:1-001/Properties/Hours Run") == [(12.5, "good")]
        bath = stored("cell:1-001/bath_temp_degC")
        assert [q for _, q in bath] == ["bad", "bad"]
        assert math.isnan(bath[0][0])
        assert [q for _, q in stored("cell:1-001/metal_height_cm")] == ["bad"]
        assert quarantined == {
            (node, "not_finite"): 2,
            (node, "null"): 1,
            (node, "bad_tag"): 1,
        }
        assert sink_counters["write_errors"] == 0
        rejected = {r.reason: r for r in store.rejected()}
        assert set(rejected) == {"bad_tag"}
        assert rejected["bad_tag"].tag == f"cell:1-001/{LONG}"
        assert rejected["bad_tag"].source == f"{group}/{node}"
        text = HttpMetrics().render({**counters, **sink_counters})
        assert f'twin_ingest_dropped{{node="{group}/{node}",reason="bad_timestamp"}} 1' in text
        assert "twin_ingest_invalid_utf8 1" in text
        assert f'twin_ingest_dropped{{node="{group}/{node}",reason="invalid_utf8"}} 1' in text
        assert "twin_ingest_internal_errors 0" in text
    finally:
        store.close()
