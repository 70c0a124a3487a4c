"""The ``/metrics`` text keeps every figure exact (Prometheus text exposition format: a sample value is a Go
ParseFloat-able number, with NaN, +Inf and -Inf spelled so). The ingest counters passed a million within an hour
of a real line; printed with ``:g`` they kept 6 significant digits (66 662 143 bytes read 6.66621e+07), so a
loss check of ``applied`` against ``points_written`` and ``rate()`` saw steps."""

from __future__ import annotations

import math

from twin.api.metrics import HttpMetrics


def _samples(text: str) -> dict[str, str]:
    return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in text.splitlines() if not line.startswith("#")}


def test_large_counts_and_fractions_are_printed_exactly() -> None:
    metrics = HttpMetrics()
    for _ in range(3):
        metrics.observe("GET", "/v1/kpis/{scope}", 200, 0.003)
    ingest = {
        "reorder_bytes": 66_662_143,
        "received": 1_000_001,
        "points_written": 123_456_789_012.0,
        "messages_per_s": 1234.5,
        "lag_s": 0.000123,
        "ratio": float("nan"),
        "huge": float("inf"),
    }
    samples = _samples(metrics.render(ingest))
    assert samples["twin_ingest_reorder_bytes"] == "66662143"
    assert samples["twin_ingest_received"] == "1000001"
    assert samples["twin_ingest_points_written"] == "123456789012"
    assert float(samples["twin_ingest_messages_per_s"]) == 1234.5
    assert float(samples["twin_ingest_lag_s"]) == 0.000123
    assert samples["twin_ingest_ratio"] == "NaN"
    assert samples["twin_ingest_huge"] == "+Inf"
    labels = '{method="GET",route="/v1/kpis/{scope}"}'
    assert samples["http_request_duration_seconds_count" + labels] == "3"
    assert math.isclose(float(samples["http_request_duration_seconds_sum" + labels]), 0.009)
