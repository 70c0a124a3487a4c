"""A new tag and its first points become visible together (issue 9, the sink's race).

The store sink used to register a new tag in one transaction and write its first points in a second, so a client
listing the tags in between found a tag without a latest point (a demo test had to wait for it). Registration now
rides in the points' transaction (``write_points(..., register=...)``). Here a reader thread lists the tags and
asks for every listed tag's latest point while the sink writes batches that each bring new tags, on DuckDB and on
PostgreSQL; every tag the reader saw listed must have its point.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np
import pytest

from twin.service.store_sink import StoreSink
from twin.store import TagInfo
from twin.telemetry import Quality, Sample

T0 = 1_790_000_000_000  # ms since the epoch
BATCHES = 120


def _sample(ms: int, device: str, metric: str, value: float) -> Sample:
    return Sample(ms, "potline1", "gw01", device, metric, value, Quality.GOOD, False)


def test_no_reader_sees_a_new_tag_without_its_first_point(open_store) -> None:
    store = open_store()
    sink = StoreSink(store, batch=10_000)
    writing = threading.Event()
    done = threading.Event()
    seen: dict[str, int] = {"reads": 0, "tags_checked": 0}
    missing: list[str] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            writing.wait(10)
            while not done.is_set():
                listed = [t.tag for t in store.tags()]
                latest = store.latest(listed) if listed else {}
                missing.extend(t for t in listed if t not in latest)
                seen["reads"] += 1
                seen["tags_checked"] += len(listed)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        writing.set()
        for k in range(BATCHES):
            ms = T0 + 1000 * k
            sink.accept([_sample(ms, f"pot_{k:03d}", "cell_voltage_V", 4.2), _sample(ms, "pot_000", "x_V", 1.0)])
            sink.flush()
    finally:
        done.set()
        reader.join(30)
    assert not errors, errors
    assert seen["reads"] > 10, seen  # the reader ran alongside the writes
    assert sink.counters["points_written"] == 2 * BATCHES
    assert len(store.tags()) == BATCHES + 1
    assert not missing, f"{len(missing)} listed tags had no latest point, e.g. {missing[:3]} ({seen})"


def test_write_points_registers_declared_tags_in_the_same_call(open_store) -> None:
    store = open_store()
    when = np.array([T0, T0 + 1000], dtype="datetime64[ms]")
    written = store.write_points(
        np.array(["a/new_V", "a/new_V"]), when, np.array([1.0, 2.0]), register=[TagInfo("a/new_V", "V", "d")]
    )
    assert written == 2
    assert store.tag_info("a/new_V") == TagInfo("a/new_V", "V", "d")
    assert store.latest(["a/new_V"])["a/new_V"].value == 2.0
    assert store.latest(["a/new_V"])["a/new_V"].ts == datetime.fromtimestamp((T0 + 1000) / 1000, tz=UTC)


def test_a_refused_write_registers_nothing(open_store) -> None:
    """The registration is part of the points' transaction: when the batch is refused, the tag is not listed."""
    store = open_store()
    from twin.errors import StoreError

    with pytest.raises(StoreError):  # a good-quality NaN is refused before anything is written
        store.write_points(
            "b/never_V", np.array([T0], dtype="datetime64[ms]"), np.array([np.nan]), register=[TagInfo("b/never_V")]
        )
    assert "b/never_V" not in [t.tag for t in store.tags()]


def test_a_plant_birth_of_tags_registers_in_multi_row_inserts(open_store) -> None:
    """1 201 new tags (three multi-row INSERTs of at most 500, the last partial) and updates of known ones in the
    same call: every tag listed once with its own unit and description, ids distinct, and points written to each."""
    store = open_store()
    store.register_tags([TagInfo("c/known_V", "V", "old")])
    infos = [TagInfo(f"c/t{k:04d}_kA", "kA", f"tag {k}") for k in range(1201)] + [TagInfo("c/known_V", "V", "new")]
    n = store.write_points(
        np.array([i.tag for i in infos]), np.full(len(infos), T0, dtype="datetime64[ms]"),
        np.arange(len(infos), dtype=float), register=infos,
    )
    assert n == 1202
    listed = {t.tag: t for t in store.tags() if t.tag.startswith("c/")}
    assert listed == {i.tag: i for i in infos}
    latest = store.latest(["c/t0000_kA", "c/t0500_kA", "c/t1200_kA", "c/known_V"])
    assert [latest[t].value for t in ("c/t0000_kA", "c/t0500_kA", "c/t1200_kA", "c/known_V")] == [0.0, 500.0, 1200.0,
                                                                                                    1201.0]
