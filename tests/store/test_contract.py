"""The store contract: every test runs on DuckDB and on PostgreSQL (see conftest.open_store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from tests.store import reference

from twin.errors import StoreError
from twin.store import Store, TagInfo, UnknownKeyError

V1 = "cell:1-001/voltage_V"
V2 = "cell:1-002/voltage_V"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
T0_64 = np.datetime64("2026-03-01T00:00:00", "us")


def seconds(n: int, start: np.datetime64 = T0_64, step_s: float = 1.0) -> np.ndarray:
    return start + (np.arange(n) * step_s * 1e6).astype("timedelta64[us]")


def all_recorded(store: Store, tag: str, start: datetime, end: datetime, limit: int = 1000) -> list:
    out, cursor = [], None
    while True:
        page = store.recorded(tag, start, end, limit=limit, cursor=cursor)
        out.extend(zip(page.ts.tolist(), page.value.tolist(), page.quality, strict=True))
        cursor = page.next_cursor
        if cursor is None:
            return out


def test_tags_register_and_resolve(store: Store) -> None:
    store.register_tags([TagInfo(V1, "V", "cell voltage")])
    assert store.tag_info(V1) == TagInfo(V1, "V", "cell voltage")
    assert {t.tag for t in store.tags()} == {V1, V2, "potline:1/current_kA"}
    with pytest.raises(UnknownKeyError, match="cell:9-999/voltage_V"):
        store.tag_info("cell:9-999/voltage_V")
    with pytest.raises(StoreError, match="tag = 'bad tag!'"):  # spaces inside are fine (issue 9), '!' is not
        store.register_tags(["bad tag!"])


def test_write_then_read_round_trip(store: Store) -> None:
    ts = seconds(10)
    vals = np.linspace(4.0, 4.5, 10)
    qual = ["good"] * 8 + ["bad", "stale"]
    assert store.write_points(V1, ts, vals, qual) == 10
    page = store.recorded(V1, T0, T0 + timedelta(minutes=1))
    assert page.ts.tolist() == ts.tolist()
    np.testing.assert_array_equal(page.value, vals)
    assert page.quality == qual
    assert page.next_cursor is None
    latest = store.latest([V1])[V1]
    assert latest.ts == T0 + timedelta(seconds=9)
    assert latest.ts.tzinfo is not None
    assert latest.quality == "stale"
    assert store.latest([V2]) == {}
    store.write_points(V2, ts[:2], [float("nan"), 1.0], ["bad", "good"])  # a bad sample may carry no number
    page = store.recorded(V2, T0, T0 + timedelta(minutes=1))
    assert np.isnan(page.value[0])
    assert page.quality == ["bad", "good"]


def test_mixed_tags_in_one_batch_and_arrow(store: Store) -> None:
    ts = np.repeat(seconds(5), 2)
    tags = np.array([V1, V2] * 5)
    store.write_points(tags, ts, np.arange(10.0))
    table = pa.table({"tag": [V2], "ts": pa.array([T0_64 + np.timedelta64(5, "s")]), "value": [99.0]})
    store.write_arrow(table)
    assert [v for _, v, _ in all_recorded(store, V1, T0, T0 + timedelta(hours=1))] == [0, 2, 4, 6, 8]
    assert [v for _, v, _ in all_recorded(store, V2, T0, T0 + timedelta(hours=1))] == [1, 3, 5, 7, 9, 99]


def test_cursor_pagination_returns_every_point_once(store: Store) -> None:
    n = 2345
    store.write_points(V1, seconds(n), np.arange(n, dtype=float))
    got = all_recorded(store, V1, T0, T0 + timedelta(days=1), limit=500)
    assert [v for _, v, _ in got] == list(range(n))
    first = store.recorded(V1, T0, T0 + timedelta(days=1), limit=500)
    assert first.truncated
    with pytest.raises(StoreError, match="cursor"):
        store.recorded(V2, T0, T0 + timedelta(days=1), cursor=first.next_cursor)
    with pytest.raises(StoreError, match="cursor"):
        store.recorded(V1, T0, T0 + timedelta(days=1), cursor="garbage!")


def test_same_timestamp_replaces_point(store: Store) -> None:
    ts = seconds(3)
    store.write_points(V1, ts, [1.0, 2.0, 3.0])
    store.write_points(V1, np.concatenate([ts[1:2], ts[1:2]]), [20.0, 21.0])  # last in a batch wins
    assert [v for _, v, _ in all_recorded(store, V1, T0, T0 + timedelta(minutes=1))] == [1.0, 21.0, 3.0]
    agg = store.aggregate(V1, T0, T0 + timedelta(minutes=1), bucket=timedelta(minutes=1))
    assert agg.count.tolist() == [3]
    assert agg.max.tolist() == [21.0]


def _irregular(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    steps = rng.integers(1, 20_000_000, n)  # 1 µs .. 20 s apart
    ts = T0_64 + np.cumsum(steps).astype("timedelta64[us]")
    return ts, rng.normal(4.3, 0.2, n), rng.random(n) > 0.1


@pytest.mark.parametrize("bucket_s", [7, 60, 300, 3600])
def test_aggregates_match_reference(store: Store, bucket_s: int) -> None:
    rng = np.random.default_rng(bucket_s)
    ts, val, good = _irregular(rng, 3000)
    store.write_points(V1, ts, val, np.where(good, "good", "bad"))
    end = T0 + timedelta(days=1)
    ref = reference.aggregate(ts.astype(np.int64), val, good, bucket_s * 1_000_000)
    sources = ["raw"] + (["1m"] if bucket_s % 60 == 0 else []) + (["1h"] if bucket_s % 3600 == 0 else [])
    for source in sources:
        agg = store.aggregate(V1, T0, end, bucket=timedelta(seconds=bucket_s), source=source)
        assert agg.source == source
        assert agg.ts.astype(np.int64).tolist() == list(ref)
        for name in ("avg", "min", "max", "count", "twa"):
            np.testing.assert_allclose(getattr(agg, name), [r[name] for r in ref.values()], rtol=1e-9)


def test_rollups_follow_backfill_and_overwrites(store: Store) -> None:
    rng = np.random.default_rng(7)
    ts, val, _ = _irregular(rng, 2000)
    order = rng.permutation(len(ts))
    for chunk in np.array_split(order, 5):  # out-of-order batches, as after store-and-forward
        store.write_points(V1, ts[chunk], val[chunk])
    store.write_points(V1, ts[100:110], np.full(10, 9.0), "bad")  # overwrite with bad quality
    end = T0 + timedelta(days=1)
    raw = store.aggregate(V1, T0, end, bucket=timedelta(minutes=5), source="raw")
    for source in ("1m",):
        roll = store.aggregate(V1, T0, end, bucket=timedelta(minutes=5), source=source)
        np.testing.assert_array_equal(roll.count, raw.count)
        np.testing.assert_allclose(roll.twa, raw.twa, rtol=1e-9)
    hourly = store.aggregate(V1, T0, end, bucket=timedelta(hours=1), source="1h")
    np.testing.assert_array_equal(hourly.count.sum(), raw.count.sum())
    assert raw.count.sum() == 1990


def test_max_points_picks_bucket_and_30_days_come_from_hourly_rollups(store: Store) -> None:
    ts = seconds(30 * 24 * 6, step_s=600)  # every 10 minutes for 30 days
    store.write_points(V1, ts, np.ones(len(ts)))
    agg = store.aggregate(V1, T0, T0 + timedelta(days=30), max_points=1000)
    assert agg.source == "1h"
    assert len(agg) <= 1000
    assert len(agg) == 720
    assert agg.count.sum() == len(ts)
    fine = store.aggregate(V1, T0, T0 + timedelta(minutes=10), max_points=100)
    assert fine.bucket == timedelta(seconds=10)
    assert fine.source == "raw"


def _snapshot(store: Store) -> tuple:
    return (
        all_recorded(store, V1, T0 - timedelta(days=400), T0 + timedelta(days=400)),
        store.latest(),
        store.aggregate(V1, T0 - timedelta(days=1), T0 + timedelta(days=1), bucket=timedelta(hours=1)).count.tolist(),
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tag": "cell:9-999/voltage_V"}, "cell:9-999/voltage_V"),
        ({"ts": np.array(["2026-03-01T00:00", "NaT"], dtype="datetime64[us]")}, r"ts\[1\] = 'NaT'"),
        ({"ts": np.array([1.0, float("nan")])}, r"ts\[1\]"),
        ({"ts": seconds(3)}, "one timestamp per value"),
        ({"value": np.ones((2, 1))}, "value = 'array of shape"),
        ({"value": [1.0, float("nan")]}, r"value\[1\] = nan"),
        ({"quality": "excellent"}, "quality = 'excellent'"),
        ({"quality": ["good"] * 3}, "quality"),
        ({"ts": [datetime(2026, 3, 1), datetime(2026, 3, 1, 0, 0, 1)]}, "timezone-aware"),
        ({"tag": [V1, V1, V1]}, "tag"),
    ],
)
def test_bad_writes_are_rejected_and_change_nothing(store: Store, kwargs: dict, match: str) -> None:
    store.write_points(V1, seconds(5), np.arange(5.0))
    before = _snapshot(store)
    args = {
        "tag": V1,
        "ts": seconds(2, T0_64 + np.timedelta64(1, "h")),
        "value": [1.0, 2.0],
        "quality": "good",
    }
    args.update(kwargs)
    with pytest.raises(StoreError, match=match):
        store.write_points(**args)
    assert _snapshot(store) == before


def test_failure_inside_the_transaction_rolls_back(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_points(V1, seconds(5), np.arange(5.0))
    before = _snapshot(store)

    def fail(*args: object, **kwargs: object) -> None:
        raise StoreError("store: injected failure after the points were merged")

    monkeypatch.setattr(store, "_refresh_rollups", fail)
    with pytest.raises(StoreError, match="injected"):
        store.write_points(V1, seconds(5, T0_64 + np.timedelta64(2, "s")), np.full(5, 7.0))
    monkeypatch.undo()
    assert _snapshot(store) == before


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.recorded(V1, T0, T0 - timedelta(seconds=1)), "end = "),
        (lambda s: s.recorded(V1, T0, T0), "end = "),
        (lambda s: s.recorded("nope", T0, T0 + timedelta(1)), "'nope' is not registered"),
        (lambda s: s.recorded(V1, datetime(2026, 3, 1), T0), "start = .*timezone-aware"),
        (lambda s: s.recorded(V1, T0, T0 + timedelta(1), limit=0), "limit = 0"),
        (lambda s: s.aggregate(V1, T0, T0 + timedelta(1)), "exactly one of bucket or max_points"),
        (lambda s: s.aggregate(V1, T0, T0 + timedelta(1), bucket=timedelta(milliseconds=5)), "bucket = "),
        (lambda s: s.aggregate(V1, T0, T0 + timedelta(1), max_points=-3), "max_points = -3"),
        (lambda s: s.aggregate(V1, T0, T0 + timedelta(1), max_points=10_000, source="1m"), "source = '1m'"),
        (lambda s: s.kpi_history("galaxy", T0, T0 + timedelta(1)), "scope = 'galaxy'"),
        (lambda s: s.get_job("missing"), "job_id = 'missing'"),
    ],
)
def test_bad_queries_name_the_field(store: Store, call, match: str) -> None:
    with pytest.raises(StoreError, match=match):
        call(store)


def test_retention_keeps_rollups_and_refuses_writes_into_compacted_past(store: Store) -> None:
    ts = seconds(10 * 24 * 60, step_s=60)  # one point a minute for 10 days
    store.write_points(V1, ts, np.arange(len(ts), dtype=float))
    now = T0 + timedelta(days=10)
    report = store.compact(now)
    assert report.raw_kept_from == T0 + timedelta(days=3)
    assert report.raw_deleted == 3 * 24 * 60
    assert store.recorded(V1, T0, T0 + timedelta(days=3)).ts.size == 0
    assert len(all_recorded(store, V1, T0, now)) == 7 * 24 * 60
    hourly = store.aggregate(V1, T0, now, bucket=timedelta(hours=1))
    assert hourly.count.sum() == len(ts)
    assert store.aggregate(V1, T0, now, bucket=timedelta(minutes=1)).count.sum() == len(ts)
    with pytest.raises(StoreError, match="compacted"):
        store.aggregate(V1, T0, now, bucket=timedelta(seconds=30))
    with pytest.raises(StoreError, match="compacted"):
        store.write_points(V1, ts[:1], [1.0])


def test_kpi_history_and_latest(store: Store) -> None:
    for i in range(60):
        store.write_kpis("potline:1", T0 + timedelta(minutes=i), {"current_efficiency": 0.9 + i / 1000, "dc_MW": 300.0})
    store.write_kpis("plant", T0, {"power_MW": 900.0})
    latest = store.kpi_latest()
    assert latest["potline:1"]["current_efficiency"] == (T0 + timedelta(minutes=59), pytest.approx(0.959))
    assert set(latest) == {"potline:1", "plant"}
    hist = store.kpi_history("potline:1", T0, T0 + timedelta(hours=1), ["current_efficiency"])
    assert list(hist) == ["current_efficiency"]
    assert len(hist["current_efficiency"][0]) == 60
    coarse = store.kpi_history("potline:1", T0, T0 + timedelta(hours=1), max_points=6)
    np.testing.assert_allclose(coarse["dc_MW"][1], 300.0)
    assert len(coarse["current_efficiency"][1]) == 6
    assert coarse["current_efficiency"][1][0] == pytest.approx(0.9045)
    with pytest.raises(StoreError, match=r"kpis\['x'\]"):
        store.write_kpis("plant", T0, {"x": float("nan")})


def test_scenario_jobs_lifecycle(store: Store) -> None:
    job = store.create_job("job-1", "[scenario]\nname = 'x'\n", label="creep")
    assert job.status == "queued"
    assert job.kpis is None
    store.update_job("job-1", "running")
    done = store.update_job("job-1", "succeeded", kpis={"ce": 0.95, "energy_kWh_per_t": 13_100})
    assert done.kpis == {"ce": 0.95, "energy_kWh_per_t": 13100.0}
    assert done.finished is not None
    assert done.finished >= done.created
    assert [j.job_id for j in store.list_jobs()] == ["job-1"]
    with pytest.raises(StoreError, match="job_id = 'job-1'"):
        store.create_job("job-1", "")
    with pytest.raises(StoreError, match="status = 'done'"):
        store.update_job("job-1", "done")  # type: ignore[arg-type]


def test_api_keys_are_stored_and_revoked(store: Store) -> None:
    from twin.store import ApiKeyRecord

    rec = ApiKeyRecord("k1", "grafana", "$scrypt$…", frozenset({"read"}), T0)
    store.put_api_key(rec)
    assert store.get_api_key("k1") == rec
    store.revoke_api_key("k1")
    assert store.get_api_key("k1").revoked
    assert [k.key_id for k in store.list_api_keys()] == ["k1"]
    with pytest.raises(UnknownKeyError):
        store.get_api_key("k2")


def test_data_survives_close_and_reopen(open_store) -> None:
    first = open_store()
    first.register_tags([V1])
    first.write_points(V1, seconds(100), np.arange(100.0))
    first.write_kpis("plant", T0, {"power_MW": 1.0})
    first.create_job("j", "body")
    first.close()
    second = open_store()
    assert len(all_recorded(second, V1, T0, T0 + timedelta(hours=1))) == 100
    assert second.aggregate(V1, T0, T0 + timedelta(hours=1), bucket=timedelta(hours=1)).count.tolist() == [100]
    assert second.kpi_latest()["plant"]["power_MW"][1] == 1.0
    assert second.get_job("j").body == "body"
    second.write_points(V1, seconds(1, T0_64 + np.timedelta64(1, "h")), [5.0])
    assert second.latest([V1])[V1].value == 5.0
