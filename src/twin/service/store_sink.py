"""Telemetry into the time-series store: a sample sink that batches Sparkplug samples into columnar writes.

Tag naming (docs/api.md): a pot-controller metric ``(group potline1, device pot_017, cell_voltage_V)`` is
stored as ``cell:1-017/cell_voltage_V``; node metrics as ``potline:1/<node>/<metric>``. Qualities map
one to one (good, stale, bad). Non-numeric values (strings, bytes) are counted and skipped.

Bad points are quarantined, never contagious (issue 9): every point is checked on its own before it joins a
batch. A GOOD point without a usable value (``is_null``, NaN, ±inf) is stored with quality ``bad``; a point whose
tag or time the store cannot hold (a tag over 200 characters or with other characters, a time outside
1970..2262) goes to the store's ``rejected_points`` table. If the store still refuses a batch, the batch is split
until the refusing points are isolated; they are rejected and the rest is stored. Each is counted by edge node
and reason (``counters``; on ``/metrics`` as ``twin_ingest_points_quarantined{node=...,reason=...}``).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from twin.errors import TwinError
from twin.live import potline_label
from twin.store import RejectedPoint, Store, TagInfo
from twin.store.validate import MAX_TS_US, TAG_RE
from twin.telemetry import Quality, Sample, cell_address

log = logging.getLogger(__name__)

MAX_TS_MS = MAX_TS_US // 1000


def tag_of(sample: Sample) -> str:
    """The store tag of a sample (module docstring)."""
    line = potline_label(sample.group)
    address = cell_address(sample.group, sample.device, sample.metric)
    if address.cell is not None:
        return f"cell:{line}-{address.cell:03d}/{sample.metric}"
    return f"potline:{line}/{sample.node}/{sample.device + '/' if sample.device else ''}{sample.metric}"


UNITS = ("V", "kA", "degC", "cm", "uohm", "ohm", "wtpct", "kg", "MW")


def unit_of(tag: str) -> str:
    """The unit a metric name carries as its suffix (design.md naming), or "" when it has none."""
    suffix = tag.rsplit("_", 1)[-1]
    return suffix if suffix in UNITS else ""


def _label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class StoreSink:
    """Buffers samples and writes them in batches of ``batch`` points or every ``flush()``."""

    def __init__(self, store: Store, *, batch: int = 5000) -> None:
        self.store = store
        self.batch = batch
        self.counters: dict[str, int] = {
            "points_written": 0,
            "points_skipped": 0,
            "points_marked_bad": 0,
            "points_rejected": 0,
            "write_errors": 0,
            "points_lost": 0,
        }
        self.quarantined: Counter[tuple[str, str]] = Counter()  # (edge node, reason) -> points
        self._known: set[str] = set()
        self._valid_tags: set[str] = set()  # tags that passed TAG_RE (checked once each)
        self._tags: list[str] = []
        self._ts: list[int] = []
        self._values: list[float] = []
        self._quality: list[str] = []
        self._nodes: list[str] = []
        self._rejected: list[RejectedPoint] = []
        self._lock = threading.Lock()

    def accept(self, samples: Sequence[Sample]) -> None:
        with self._lock:
            for s in samples:
                self._add(s)
            if len(self._tags) >= self.batch:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    # -- per-point checks ----------------------------------------------------------------------------------
    def _add(self, s: Sample) -> None:
        value, quality = s.value, s.quality.value
        if isinstance(value, bool):
            value = float(value)
        if value is not None and not isinstance(value, int | float):
            self.counters["points_skipped"] += 1
            return
        tag = tag_of(s)
        if tag not in self._valid_tags:
            if not TAG_RE.match(tag):
                self._reject(s, tag, "bad_tag")
                return
            self._valid_tags.add(tag)
        if not isinstance(s.timestamp_ms, int) or not 0 <= s.timestamp_ms < MAX_TS_MS:
            self._reject(s, tag, "bad_timestamp")
            return
        try:
            number = math.nan if value is None else float(value)
        except OverflowError:  # an integer beyond the float range
            self._reject(s, tag, "value_out_of_range")
            return
        if quality == Quality.GOOD and not math.isfinite(number):
            self._count(s.node, "null" if value is None else "not_finite")
            self.counters["points_marked_bad"] += 1
            quality = Quality.BAD.value
        self._tags.append(tag)
        self._ts.append(s.timestamp_ms)
        self._values.append(number)
        self._quality.append(quality)
        self._nodes.append(s.node)

    def _count(self, node: str, reason: str) -> None:
        self.quarantined[(node, reason)] += 1
        key = f'points_quarantined{{node="{_label(node)}",reason="{reason}"}}'
        self.counters[key] = self.counters.get(key, 0) + 1

    def _reject(self, s: Sample, tag: str, reason: str) -> None:
        self._count(s.node, reason)
        self.counters["points_rejected"] += 1
        self._rejected.append(
            RejectedPoint(datetime.now(UTC), f"{s.group}/{s.node}", tag, str(s.timestamp_ms), repr(s.value), reason)
        )

    # -- writing --------------------------------------------------------------------------------------------
    def _flush_locked(self) -> None:
        tags, ts, values, quality, nodes = self._tags, self._ts, self._values, self._quality, self._nodes
        self._tags, self._ts, self._values, self._quality, self._nodes = [], [], [], [], []
        if tags:
            self._write(tags, ts, values, quality, nodes)
        if self._rejected:
            rejected, self._rejected = self._rejected, []
            try:
                self.store.write_rejected(rejected)
            except Exception:  # the quarantine itself failed: counted, and the points are lost
                self.counters["write_errors"] += 1
                self.counters["points_lost"] += len(rejected)
                log.exception("store refused %d rejected points", len(rejected))

    def _write(self, tags: list[str], ts: list[int], values: list[float], quality: list[str], nodes: list[str]) -> None:
        try:
            new = sorted(set(tags) - self._known)
            if new:
                self.store.register_tags([TagInfo(t, unit_of(t), "telemetry") for t in new])
                self._known.update(new)
            written = self.store.write_points(
                np.asarray(tags), np.asarray(ts, dtype="datetime64[ms]"), np.asarray(values), np.asarray(quality)
            )
            self.counters["points_written"] += int(written)
        except TwinError as exc:  # refused whole: split until the refusing points are isolated
            self.counters["write_errors"] += 1
            if len(tags) == 1:
                self._count(nodes[0], "store_refused")
                self.counters["points_rejected"] += 1
                self._rejected.append(
                    RejectedPoint(
                        datetime.now(UTC), nodes[0], tags[0], str(ts[0]), repr(values[0]), f"store_refused: {exc}"
                    )
                )
                return
            log.warning("store refused a telemetry batch of %d points (%s); isolating the bad points", len(tags), exc)
            half = len(tags) // 2
            self._write(tags[:half], ts[:half], values[:half], quality[:half], nodes[:half])
            self._write(tags[half:], ts[half:], values[half:], quality[half:], nodes[half:])
        except Exception:  # not about the data (store down, disk full...): counted, logged, lost
            self.counters["write_errors"] += 1
            self.counters["points_lost"] += len(tags)
            log.exception("store write of %d telemetry points failed", len(tags))


class FanoutSink:
    """Hands every batch to several sinks in order (e.g. the live twin, then the store).

    One failing sink never keeps the batch from the others: every sink gets it, then the first exception is
    raised again so that the host counts it (``sink_errors``); ``errors`` counts failures per sink position.
    """

    def __init__(self, *sinks: object) -> None:
        self.sinks = sinks
        self.errors = [0] * len(sinks)

    def accept(self, samples: Sequence[Sample]) -> None:
        first: Exception | None = None
        for i, sink in enumerate(self.sinks):
            try:
                sink.accept(samples)  # type: ignore[attr-defined]
            except Exception as exc:  # re-raised below, after the other sinks had the batch
                self.errors[i] += 1
                first = first or exc
        if first is not None:
            raise first
