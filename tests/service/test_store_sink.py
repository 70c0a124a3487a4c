"""Telemetry into the store (twin.service.store_sink): tag naming, batching, bad values counted and skipped,
and nothing already stored lost when a batch is refused (design.md "Rules for input, faults and data")."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from twin.service.store_sink import StoreSink, tag_of
from twin.store import open_store
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
    sink.accept([_sample(T0, "pot_002", "cell_voltage_V", 4.1), _sample(T0, "pot_002", "note", "hello"),
                 _sample(T0 + 1000, "pot_002", "anode_effect", True)])
    sink.flush()
    assert sink.counters["points_skipped"] == 1
    latest = {tag: p.value for tag, p in store.latest(["cell:1-002/cell_voltage_V", "cell:1-002/anode_effect"]).items()}
    assert latest == {"cell:1-002/cell_voltage_V": pytest.approx(4.1), "cell:1-002/anode_effect": 1.0}


def test_a_refused_batch_keeps_what_was_stored_before(store):
    sink = StoreSink(store, batch=1000)
    sink.accept([_sample(T0, "pot_003", "cell_voltage_V", 4.2)])
    sink.flush()
    before = store.latest(["cell:1-003/cell_voltage_V"])
    bad = _sample(T0 + 1000, "pot_003", "cell_voltage_V", 4.3)._replace(timestamp_ms=np.iinfo(np.int64).max)
    sink.accept([bad])
    sink.flush()
    assert sink.counters["write_errors"] == 1
    assert store.latest(["cell:1-003/cell_voltage_V"]) == before
