"""Event frames on DuckDB and PostgreSQL: stored as given, overlap query, kind/asset filters, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.store.conftest import StoreFactory

from twin.errors import StoreError
from twin.store import EventFrame

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _frames() -> list[EventFrame]:
    return [
        EventFrame("ae-1", "anode_effect", "cell:1-017", T0, T0 + timedelta(minutes=3), {"peak_V": 31.5}),
        EventFrame("tap-1", "tap", "cell:1-005", T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=4),
                   {"metal_t": 2.1}),
        EventFrame("out-1", "outage", "potline:2", T0 + timedelta(hours=2), None, {"reason": "rectifier trip"}),
        EventFrame("trip-G1", "outage", "unit:G1", T0 + timedelta(hours=3), T0 + timedelta(hours=5)),
    ]  # fmt: skip


def test_frames_round_trip_and_overlap(open_store: StoreFactory) -> None:
    store = open_store()
    assert store.write_event_frames(_frames()) == 4
    page = store.event_frames(T0, T0 + timedelta(days=1))
    assert [f.frame_id for f in page.frames] == ["ae-1", "tap-1", "out-1", "trip-G1"]
    assert page.frames[0] == _frames()[0]
    assert page.next_cursor is None
    # [T0+2 min, T0+2h30): the AE overlaps its start, the open outage has started; the G1 trip is later
    window = store.event_frames(T0 + timedelta(minutes=2), T0 + timedelta(hours=2, minutes=30))
    assert [f.frame_id for f in window.frames] == ["ae-1", "tap-1", "out-1"]
    # an open frame overlaps any later range
    later = store.event_frames(T0 + timedelta(days=3), T0 + timedelta(days=4))
    assert [f.frame_id for f in later.frames] == ["out-1"]


def test_closing_a_frame_replaces_it(open_store: StoreFactory) -> None:
    store = open_store()
    store.write_event_frames(_frames())
    closed = EventFrame("out-1", "outage", "potline:2", T0 + timedelta(hours=2), T0 + timedelta(hours=4), {"h": 2.0})
    store.write_event_frames([closed])
    reopened = open_store()  # what another connection sees
    later = reopened.event_frames(T0 + timedelta(days=3), T0 + timedelta(days=4))
    assert later.frames == []
    assert reopened.event_frames(T0, T0 + timedelta(days=1), kinds=["outage"]).frames[0] == closed


def test_filters_by_kind_and_asset_under_a_potline(open_store: StoreFactory) -> None:
    store = open_store()
    store.write_event_frames(_frames())
    day = (T0, T0 + timedelta(days=1))
    assert [f.frame_id for f in store.event_frames(*day, kinds=["outage"]).frames] == ["out-1", "trip-G1"]
    assert [f.frame_id for f in store.event_frames(*day, asset="potline:1").frames] == ["ae-1", "tap-1"]
    assert [f.frame_id for f in store.event_frames(*day, asset="unit:G1").frames] == ["trip-G1"]
    assert len(store.event_frames(*day, asset="plant").frames) == 4


def test_pages_follow_the_cursor(open_store: StoreFactory) -> None:
    store = open_store()
    frames = [EventFrame(f"tap-{i:03d}", "tap", "cell:1-001", T0 + timedelta(minutes=i // 2)) for i in range(25)]
    store.write_event_frames(frames)
    seen, cursor = [], None
    while True:
        page = store.event_frames(T0, T0 + timedelta(days=1), limit=10, cursor=cursor)
        seen += [f.frame_id for f in page.frames]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f.frame_id for f in frames]  # every frame once, in (start, id) order, across equal starts


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (EventFrame("x", "volcano", "cell:1-001", T0), "kind = 'volcano'"),
        (EventFrame("x", "tap", "cell:one", T0), "asset = 'cell:one'"),
        (EventFrame("x y", "tap", "cell:1-001", T0), "frame_id = 'x y'"),
        (EventFrame("x", "tap", "cell:1-001", T0, T0 - timedelta(seconds=1)), "frames[1].end"),
        (EventFrame("x", "tap", "cell:1-001", T0, None, {"metal_t": float("nan")}), "a finite number"),
        (EventFrame("x", "tap", "cell:1-001", T0, None, {"nested": [1]}), "a number, text or boolean"),
    ],
)
def test_bad_frame_is_refused_naming_field_and_nothing_is_written(
    open_store: StoreFactory, frame: EventFrame, needle: str
) -> None:
    store = open_store()
    good = EventFrame("ok", "tap", "cell:1-001", T0)
    with pytest.raises(StoreError, match="is invalid") as err:
        store.write_event_frames([good, frame])
    assert needle in str(err.value)
    assert store.event_frames(T0 - timedelta(days=1), T0 + timedelta(days=1)).frames == []


def test_bad_cursor_and_kind_are_refused(open_store: StoreFactory) -> None:
    store = open_store()
    with pytest.raises(StoreError, match="cursor"):
        store.event_frames(T0, T0 + timedelta(days=1), cursor="bm9wZQ")
    with pytest.raises(StoreError, match="kind = 'volcano'"):
        store.event_frames(T0, T0 + timedelta(days=1), kinds=["volcano"])
