"""``GET /v1/tags/{tag}/aggregate`` holds ``max_points`` to ``max_buckets`` as it does ``bucket_s``: only the
store's 100 000 limited it, so ``max_points=100000`` over a day of 1 Hz data answered 86 400 buckets (12 MB), and
30 such requests at once took the server from 339 MB to 2.66 GB (audit)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from twin.store import Store

TAG = "cell:1-017/voltage_V"
DAY = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}


@pytest.fixture
def day_of_1hz(store: Store) -> None:
    store.register_tags([TAG])
    ts = np.datetime64("2026-03-01T00:00:00", "us") + np.arange(86_400).astype("timedelta64[s]")
    store.write_points(TAG, ts, 4.2 + 0.01 * np.sin(np.arange(86_400) / 60))


@pytest.mark.parametrize("max_points", [10_001, 100_000])
def test_max_points_above_max_buckets_is_400_naming_it(client: httpx.Client, day_of_1hz: None, max_points: int) -> None:
    r = client.get(f"/v1/tags/{TAG}/aggregate", params={**DAY, "max_points": max_points})
    assert r.status_code == 400, r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == (f"max_points = {max_points} is invalid; expected at most max_buckets = 10000 buckets")


def test_max_points_at_max_buckets_is_answered_within_it(client: httpx.Client, day_of_1hz: None) -> None:
    r = client.get(f"/v1/tags/{TAG}/aggregate", params={**DAY, "max_points": 10_000, "agg": "count"})
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["bucket_s"] == 10.0  # the smallest nice width within 10 000 buckets: 8 640 of them
    assert len(body["buckets"]) == 8_640
    assert sum(b["count"] for b in body["buckets"]) == 86_400
