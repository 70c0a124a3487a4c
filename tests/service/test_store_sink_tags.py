"""Tag names the store sink makes from Sparkplug names (twin.service.store_sink.tag_of) are checked by the same
rule as the store's own (twin.store.validate.is_tag): a name the store would refuse is quarantined as ``bad_tag``
on its own, and the good points beside it are stored.

Found on the demo (2026-12-07): a metric named ``a/b/c/../../d`` was stored as ``cell:1-011/a/b/c/../../d`` and
listed by ``/v1/tags`` with a link an HTTP client rewrites before sending (RFC 3986 §5.2.4 removes dot
segments), so the link answered 404; ``x/../cell_voltage_V`` would have read another tag's data. The sink also
matched its pattern with ``re.match``, which lets a final newline through (``$`` matches before it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from twin.errors import StoreError
from twin.service.store_sink import StoreSink
from twin.store import open_store
from twin.store import validate as v
from twin.telemetry import Quality, Sample

T = 1_790_000_000_000


@pytest.mark.parametrize("tag", ["cell:1-011/a/../d", "cell:1-011/./d", "cell:1-011/..", "potline:1/../pot_001/x"])
def test_a_dot_segment_is_not_a_tag(tag: str) -> None:
    assert not v.is_tag(tag)
    with pytest.raises(StoreError, match=re.escape("no '.' or '..' between slashes")):
        v.check_tag(tag)


@pytest.mark.parametrize("tag", ["cell:1-011/Properties/Serial Number", "cell:1-011/fw/v1.2", "cell:1-011/a..b"])
def test_dots_inside_a_name_are_fine(tag: str) -> None:
    assert v.is_tag(tag)
    assert v.check_tag(tag) == tag


def _sample(metric: str, value: float, node: str = "gw01") -> Sample:
    return Sample(T, "potline1", node, "pot_011", metric, value, Quality.GOOD, False)


def test_the_sink_quarantines_what_the_store_would_refuse_and_keeps_the_rest(tmp_path) -> None:
    store = open_store(f"duckdb:///{tmp_path / 'tags.duckdb'}")
    sink = StoreSink(store, batch=100)
    try:
        sink.accept([
            _sample("cell_voltage_V", 4.2),
            _sample("a/b/c/../../d", 1.0),
            _sample("x/../cell_voltage_V", 9.9),
            _sample("bath_temp_degC\n", 955.0),
            _sample("Properties/Hours Run", 12.5),
        ])
        sink.flush()
        assert dict(sink.quarantined) == {("gw01", "bad_tag"): 3}
        assert sink.counters["write_errors"] == 0
        start, end = datetime.fromtimestamp(T / 1000 - 1, UTC), datetime.fromtimestamp(T / 1000 + 1, UTC)
        assert list(store.recorded("cell:1-011/cell_voltage_V", start, end).value) == [pytest.approx(4.2)]
        assert list(store.recorded("cell:1-011/Properties/Hours Run", start, end).value) == [12.5]
        assert {r.tag for r in store.rejected()} == {
            "cell:1-011/a/b/c/../../d", "cell:1-011/x/../cell_voltage_V", "cell:1-011/bath_temp_degC\n"
        }
        assert not any(".." in info.tag or "\n" in info.tag for info in store.tags())
    finally:
        sink.close()
        store.close()
