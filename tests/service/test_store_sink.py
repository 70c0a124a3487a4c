"""Telemetry into the store (twin.service.store_sink): tag naming, batching, bad values counted and skipped,
and nothing already stored lost when a batch is refused (design.md "Rules for input, faults and data")."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from twin.service.store_sink import FanoutSink, StoreSink, tag_of
from twin.store import DuckDBStore, open_store
from twin.telemetry import Quality, Sample

T0 = 1_790_000_000_000  # ms since the epoch (2026-09-22)


def _sample(ms: int, device: str | None, metric: str, value, quality=Quality.GOOD) -> Sample:
    return Sample(ms, "potline1", "gw01", device, metric, value, quality, False)


@pytest.fixture
def store(tmp_path):
    s = open_store(f"duckdb:///{tmp_path / 'sink.duckdb'}")
    yield s
    s.close()


def test_tags_follow_the_api_naming():
    assert tag_of(_sample(T0, "pot_017", "cell_voltage_V", 4.2)) == "cell:1-017/cell_voltage_V"
    assert tag_of(_sample(T0, None, "line_current_kA", 300.0)) == "potline:1/gw01/line_current_kA"


def test_samples_are_written_with_their_times_and_qualities(store):
    sink = StoreSink(store, batch=1000)
    sink.accept([_sample(T0 + 1000 * k, "pot_001", "cell_voltage_V", 4.0 + 0.01 * k) for k in range(10)])
    sink.accept([_sample(T0 + 10_000, "pot_001", "cell_voltage_V", None, Quality.STALE)])
    sink.flush()
    start = datetime.fromtimestamp(T0 / 1000, tz=UTC)
    end = datetime.fromtimestamp((T0 + 20_000) / 1000, tz=UTC)
    page = store.recorded("cell:1-001/cell_voltage_V", start, end, limit=100)
    assert [round(float(v), 2) for v in page.value[:10]] == [round(4.0 + 0.01 * k, 2) for k in range(10)]
    assert page.quality[-1] == "stale"
    assert page.ts[0] == np.datetime64(T0, "ms")
    assert sink.counters["points_written"] == 11


def test_non_numeric_values_are_counted_and_skipped_without_losing_the_rest(store):
    sink = StoreSink(store, batch=1000)
    sink.accept(
        [
            _sample(T0, "pot_002", "cell_voltage_V", 4.1),
            _sample(T0, "pot_002", "note", "hello"),
            _sample(T0 + 1000, "pot_002", "anode_effect", True),
        ]
    )
    sink.flush()
    assert sink.counters["points_skipped"] == 1
    latest = {tag: p.value for tag, p in store.latest(["cell:1-002/cell_voltage_V", "cell:1-002/anode_effect"]).items()}
    assert latest == {"cell:1-002/cell_voltage_V": pytest.approx(4.1), "cell:1-002/anode_effect": 1.0}


class _WatermarkUnseen(DuckDBStore):
    """A real store whose compaction the sink does not see before it writes (another process compacted between
    the sink's check and its write): the store itself refuses the old point, the sink isolates it by splitting."""

    def raw_kept_from(self):
        return None


def _compacted_store(tmp_path, cls=DuckDBStore) -> tuple[DuckDBStore, StoreSink]:
    store = cls(tmp_path / "w.duckdb", retention=timedelta(hours=1))
    sink = StoreSink(store, batch=1000)
    sink.accept([_sample(T0, "pot_003", "cell_voltage_V", 4.2)])
    sink.flush()
    store.compact(now=datetime.fromtimestamp(T0 / 1000 + 3 * 3600, tz=UTC))  # raw before ~T0+2h is gone
    return store, sink


def _mixed_batch() -> list:
    late = T0 + 3 * 3_600_000
    return (
        [_sample(late + k, f"pot_{k:03d}", "cell_voltage_V", 4.0 + k) for k in range(1, 8)]
        + [_sample(T0 + 1000, "pot_003", "cell_voltage_V", 4.3)]
        + [_sample(late + k, f"pot_{k:03d}", "bath_temp_degC", 960.0) for k in range(1, 8)]
    )


def test_a_point_before_the_compacted_raw_data_is_rejected_alone_without_a_refused_write(tmp_path):
    """Issue 9 item 1: one point before the compaction watermark goes to rejected_points and everything else of
    its batch is stored, and the sink checks it against the store's watermark before writing: no write is
    refused (it used to split the batch, ~2 write attempts per such point)."""
    store, sink = _compacted_store(tmp_path)
    try:
        sink.accept(_mixed_batch())
        sink.flush()
        assert sink.counters["points_written"] == 1 + 14
        assert sink.counters["points_rejected"] == 1
        assert sink.counters.get("write_errors", 0) == 0
        assert sink.quarantined == {("gw01", "compacted"): 1}
        (rejected,) = store.rejected()
        assert rejected.tag == "cell:1-003/cell_voltage_V"
        assert rejected.ts == str(T0 + 1000)
        assert rejected.reason.startswith("compacted: before ")
    finally:
        store.close()


def test_a_point_the_store_refuses_is_isolated_and_the_rest_of_its_batch_stored(tmp_path):
    """When the store refuses a batch the sink's checks passed (here: a compaction the sink did not see), the
    batch is split until the refusing point is isolated; it goes to rejected_points, the rest is stored."""
    store, sink = _compacted_store(tmp_path, _WatermarkUnseen)
    try:
        sink.accept(_mixed_batch())
        sink.flush()
        assert sink.counters["points_written"] == 1 + 14
        assert sink.counters["points_rejected"] == 1
        assert sink.quarantined == {("gw01", "store_refused"): 1}
        (rejected,) = store.rejected()
        assert rejected.tag == "cell:1-003/cell_voltage_V"
        assert rejected.reason.startswith("store_refused")
    finally:
        store.close()


def test_a_batch_of_points_before_the_compacted_raw_data_logs_one_warning(tmp_path, caplog):
    """64 points all before the compaction watermark (an edge replaying data older than the store keeps): each
    is rejected, with one warning for the batch (63 before, one per split) and no refused write."""
    store, sink = _compacted_store(tmp_path)
    try:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="twin.service.store_sink"):
            sink.accept([_sample(T0 + 1000 + k, f"pot_{k:03d}", "cell_voltage_V", 4.0) for k in range(1, 65)])
            sink.flush()
        assert sink.counters["points_rejected"] == 64
        assert sink.counters.get("write_errors", 0) == 0
        assert len(store.rejected(limit=100)) == 64
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, warnings[:3]
        assert warnings[0].startswith("64 telemetry points before ")
        assert "first: cell:1-001/cell_voltage_V at" in warnings[0]
    finally:
        store.close()


def test_a_batch_the_store_refuses_point_by_point_logs_one_warning(tmp_path, caplog):
    """The same 64 points when the sink did not see the compaction: isolated by splitting, one warning."""
    store, sink = _compacted_store(tmp_path, _WatermarkUnseen)
    try:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="twin.service.store_sink"):
            sink.accept([_sample(T0 + 1000 + k, f"pot_{k:03d}", "cell_voltage_V", 4.0) for k in range(1, 65)])
            sink.flush()
        assert sink.counters["points_rejected"] == 64
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, warnings[:3]
        assert "batch of 64 points" in warnings[0]
        assert "64 refusing points isolated and rejected (first: cell:1-001/cell_voltage_V at" in warnings[0]
        assert len(warnings[0]) < 1_000
    finally:
        store.close()


def test_a_failing_sink_does_not_keep_the_batch_from_the_store(store):
    """FanoutSink(live twin, store): an exception in the first sink is re-raised for the host to count, after the
    store got the batch."""

    class Broken:
        def accept(self, samples):
            raise ValueError("live twin bug")

    sink = StoreSink(store, batch=1000)
    fanout = FanoutSink(Broken(), sink)
    with pytest.raises(ValueError, match="live twin bug"):
        fanout.accept([_sample(T0, "pot_004", "cell_voltage_V", 4.4)])
    sink.flush()
    assert fanout.errors == [1, 0]
    assert store.latest(["cell:1-004/cell_voltage_V"])["cell:1-004/cell_voltage_V"].value == pytest.approx(4.4)


class GatedStore:
    """A store whose point writes wait until ``gate`` is set (a store that has fallen behind)."""

    def __init__(self, store) -> None:
        self.store = store
        self.gate = threading.Event()
        self.writes = 0

    def write_points(self, *args, **kwargs):
        self.gate.wait(30)
        self.writes += 1
        return self.store.write_points(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_store_that_falls_behind_blocks_accept_on_a_bounded_queue_and_loses_nothing(store):
    """The writer thread takes batches off a queue of ``queue_batches``; while the store is stuck, accept waits
    (counted) instead of buffering without bound, and once the store moves every point is stored, in order, the
    queued batches merged into fewer writes."""
    gated = GatedStore(store)
    sink = StoreSink(gated, batch=4, queue_batches=2)
    fed = threading.Event()
    batches = 12

    def feed() -> None:
        for k in range(batches):  # the same (tag, ts) in every batch: the last batch written must win
            sink.accept([_sample(T0, "pot_005", "cell_voltage_V", float(k))]
                        + [_sample(T0 + 1000 * (4 * k + j + 1), "pot_005", "cell_voltage_V", 4.0) for j in range(3)])
        fed.set()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    time.sleep(0.5)
    assert not fed.is_set()  # accept is held back while the store is stuck...
    assert sink._queue.qsize() <= 2  # ...and no more than queue_batches wait in memory
    assert gated.writes == 0
    gated.gate.set()
    assert fed.wait(30)
    sink.flush()
    assert sink.counters["store_queue_waits"] >= 1
    merged = sink.counters["store_merged_batches"]
    # each batch merged into another brings one more copy of (pot_005, T0), of which the write keeps the last
    assert sink.counters["points_written"] == 4 * batches - merged
    assert sink.counters["points_lost"] == sink.counters["write_errors"] == 0
    start = datetime.fromtimestamp(T0 / 1000, tz=UTC)
    page = store.recorded("cell:1-005/cell_voltage_V", start, start + timedelta(hours=1), limit=1000)
    assert len(page) == 1 + 3 * batches
    assert page.value[0] == batches - 1  # written in the order handed over
    # group commit: what queued while the store was stuck went in fewer, larger writes
    assert merged >= 1
    assert gated.writes == batches - merged


def test_the_writer_thread_ends_when_idle_and_comes_back(store):
    sink = StoreSink(store, batch=1000, idle_s=0.05)
    sink.accept([_sample(T0, "pot_006", "cell_voltage_V", 4.0)])
    sink.flush()
    deadline = time.monotonic() + 5
    while sink._writer is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink._writer is None
    sink.accept([_sample(T0 + 1000, "pot_006", "cell_voltage_V", 4.1)])
    sink.flush()
    assert sink.counters["points_written"] == 2
    assert store.latest(["cell:1-006/cell_voltage_V"])["cell:1-006/cell_voltage_V"].value == pytest.approx(4.1)


def test_quarantine_counters_of_made_up_nodes_are_bounded(store, monkeypatch):
    """A client inventing a node name per message (each with a NaN) must not grow the sink's per-node counters or
    /metrics without bound: beyond MAX_NODE_LABELS (node, reason) pairs the rest are counted under "(other)", and
    the total stays exact."""
    from twin.telemetry import samples

    monkeypatch.setattr(samples, "MAX_NODE_LABELS", 5)
    sink = StoreSink(store, batch=1000)
    nodes = [f"made-up-{k}" for k in range(50)]
    sink.accept([Sample(T0, "potline1", node, "pot_001", "cell_voltage_V", float("nan"), Quality.GOOD, False)
                 for node in nodes])
    sink.flush()
    assert len(sink.quarantined) == 6
    assert sink.quarantined[("(other)", "not_finite")] == 45
    assert sum(sink.quarantined.values()) == 50
    assert sum(1 for key in sink.counters if key.startswith("points_quarantined")) == 6
