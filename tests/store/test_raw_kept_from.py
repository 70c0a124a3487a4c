"""``Store.raw_kept_from()``: the time before which raw points were compacted, which writers check points
against one by one (twin.service.store_sink); a write of a point before it is refused by the store itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from twin.errors import TwinError
from twin.store import Store

TAG = "cell:1-001/cell_voltage_V"


def test_nothing_compacted_is_none_and_compaction_sets_the_hour_before_the_retention(store: Store) -> None:
    assert store.raw_kept_from() is None
    store.register_tags([TAG])
    store.write_points(np.array([TAG]), np.array(["2026-12-01T10:17:00"], dtype="datetime64[ms]"), np.array([4.2]))
    now = datetime(2026, 12, 20, 10, 37, tzinfo=UTC)
    report = store.compact(now=now)
    kept_from = store.raw_kept_from()
    assert kept_from == report.raw_kept_from
    hour = (now - store.retention).replace(minute=0, second=0, microsecond=0)
    assert kept_from == hour  # the retention horizon, floored to the hour
    before = np.array([np.datetime64(int((kept_from - timedelta(milliseconds=1)).timestamp() * 1000), "ms")])
    with pytest.raises(TwinError, match="compacted"):
        store.write_points(np.array([TAG]), before, np.array([4.2]))
    at = np.array([np.datetime64(int(kept_from.timestamp() * 1000), "ms")])
    assert store.write_points(np.array([TAG]), at, np.array([4.2])) == 1
