"""Rollups kept up to date by increments (twin.store.rollup_delta) equal the reference aggregates.

Live data arrives in small batches, each after its tags' latest points; the store then adds each batch's
per-minute sums to the rollups and cuts the hold of every tag's previous last sample, instead of recomputing the
minutes from raw points. Checked against the slow reference (tests/store/reference.py) for 1-minute and 1-hour
buckets and against the raw-point answer, with bad samples in the stream, several tags per batch, batches that end
and start inside one minute, and an out-of-order batch (which takes the recompute path) in between.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tests.store import reference

from twin.store import Store, sqlstore
from twin.store.rollup_delta import rollup_delta

T0_64 = np.datetime64("2026-03-01T00:00:00", "us")
T0 = datetime(2026, 3, 1, tzinfo=UTC)
TAGS = ("cell:1-001/voltage_V", "cell:1-002/voltage_V", "cell:1-003/voltage_V")


def _stream(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = T0_64 + np.cumsum(rng.integers(1, 25_000_000, n)).astype("timedelta64[us]")
    return ts, rng.normal(4.3, 0.2, n), rng.random(n) > 0.15


@pytest.mark.parametrize("bucket_s", [60, 300, 3600])
def test_rollups_from_appended_batches_match_the_reference(
    store: Store, bucket_s: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    increments = []

    def counted(*args: np.ndarray) -> dict[str, np.ndarray]:
        increments.append(len(args[0]))
        return rollup_delta(*args)

    monkeypatch.setattr(sqlstore, "rollup_delta", counted)
    streams = {tag: _stream(k + bucket_s, 1500) for k, tag in enumerate(TAGS)}
    store.register_tags(TAGS)
    cuts = np.unique(np.random.default_rng(bucket_s).integers(1, 1500, 120))
    rewritten = False
    for part in np.split(np.arange(1500), cuts):  # the same cut points for every tag: one batch of all three
        if not len(part):
            continue
        names = np.concatenate([np.full(len(part), tag, dtype=object) for tag in TAGS])
        ts = np.concatenate([streams[t][0][part] for t in TAGS])
        val = np.concatenate([streams[t][1][part] for t in TAGS])
        good = np.concatenate([streams[t][2][part] for t in TAGS])
        store.write_points(names, ts, val, np.where(good, "good", "bad"))
        if not rewritten and part[0] > 700:  # an old point rewritten: not an append, the batch's buckets are recomputed
            t, v, g = streams[TAGS[0]]
            store.write_points(TAGS[0], t[[650]], np.array([5.5]), "good")
            v[650], g[650] = 5.5, True
            rewritten = True
    assert len(increments) >= len(cuts) - 1  # every in-order batch took the incremental path
    end = T0 + timedelta(days=2)
    for tag, (ts, val, good) in streams.items():
        ref = reference.aggregate(ts.astype(np.int64), val, good, bucket_s * 1_000_000)
        sources = ["raw", "1m"] + (["1h"] if bucket_s % 3600 == 0 else [])
        for source in sources:
            agg = store.aggregate(tag, T0, end, bucket=timedelta(seconds=bucket_s), source=source)
            assert agg.ts.astype(np.int64).tolist() == list(ref), (tag, source)
            for name in ("avg", "min", "max", "count", "twa"):
                np.testing.assert_allclose(getattr(agg, name), [r[name] for r in ref.values()], rtol=1e-9,
                                           err_msg=f"{tag} {source} {name}")
