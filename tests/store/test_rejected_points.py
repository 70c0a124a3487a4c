"""The quarantine table (issue 9 item 1) and tag names with spaces, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from twin.errors import StoreError
from twin.store import RejectedPoint, Store

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_rejected_points_are_kept_as_text_newest_first(store: Store) -> None:
    long_tag = "cell:1-001/" + "x" * 1000
    points = [
        RejectedPoint(NOW, "potline1/gw01", long_tag, "1", "1.0", "bad_tag"),
        RejectedPoint(
            NOW.replace(second=5), "potline1/gw01", "cell:1-001/feed_count", str(2**64 - 1), "7", "bad_timestamp"
        ),
    ]
    assert store.write_rejected(points) == 2
    newest, oldest = store.rejected(limit=10)
    assert newest.ts == str(2**64 - 1)
    assert newest.reason == "bad_timestamp"
    assert oldest.tag.startswith("cell:1-001/xxx")
    assert len(oldest.tag) <= 400  # clipped, not refused
    with pytest.raises(StoreError, match="limit"):
        store.rejected(limit=0)


def test_tag_names_may_hold_spaces_inside(store: Store) -> None:
    """Sparkplug metric names such as ``Properties/Serial Number`` are common (Tahu, Ignition)."""
    tag = "cell:1-001/Properties/Hours Run"
    store.register_tags([tag])
    store.write_points(tag, np.array([NOW.replace(tzinfo=None)], dtype="datetime64[us]"), [12.5])
    assert store.latest([tag])[tag].value == 12.5
    for bad in [" leading", "trailing ", "x" * 201]:
        with pytest.raises(StoreError, match="tag"):
            store.register_tags([bad])
