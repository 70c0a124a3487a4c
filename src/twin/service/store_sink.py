"""Telemetry into the time-series store: a sample sink that batches Sparkplug samples into columnar writes.

Tag naming (docs/api.md): a pot-controller metric ``(group potline1, device pot_017, cell_voltage_V)`` is
stored as ``cell:1-017/cell_voltage_V``; node metrics as ``potline:1/<node>/<metric>``. Qualities map
one to one (good, stale, bad). Non-numeric values are counted and skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from twin.errors import TwinError
from twin.live import potline_label
from twin.store import Store, TagInfo
from twin.telemetry import Sample, cell_address

log = logging.getLogger(__name__)


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


class StoreSink:
    """Buffers samples and writes them in batches of ``batch`` points or every ``flush()``."""

    def __init__(self, store: Store, *, batch: int = 5000) -> None:
        self.store = store
        self.batch = batch
        self.counters = {"points_written": 0, "points_skipped": 0, "write_errors": 0}
        self._known: set[str] = set()
        self._tags: list[str] = []
        self._ts: list[int] = []
        self._values: list[float] = []
        self._quality: list[str] = []
        self._lock = threading.Lock()

    def accept(self, samples: Sequence[Sample]) -> None:
        with self._lock:
            for s in samples:
                value = s.value
                if isinstance(value, bool):
                    value = float(value)
                if value is not None and not isinstance(value, int | float):
                    self.counters["points_skipped"] += 1
                    continue
                self._tags.append(tag_of(s))
                self._ts.append(s.timestamp_ms)
                self._values.append(float("nan") if value is None else float(value))
                self._quality.append(s.quality.value)
            if len(self._tags) >= self.batch:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._tags:
            return
        tags, ts, values, quality = self._tags, self._ts, self._values, self._quality
        self._tags, self._ts, self._values, self._quality = [], [], [], []
        new = sorted(set(tags) - self._known)
        try:
            if new:
                self.store.register_tags([TagInfo(t, unit_of(t), "telemetry") for t in new])
                self._known.update(new)
            written = self.store.write_points(
                np.asarray(tags), np.asarray(ts, dtype="datetime64[ms]"), np.asarray(values), np.asarray(quality)
            )
            self.counters["points_written"] += int(written)
        except TwinError as exc:  # a bad batch is refused whole by the store; nothing stored is lost
            self.counters["write_errors"] += 1
            log.error("store refused a telemetry batch of %d points: %s", len(tags), exc)


class FanoutSink:
    """Hands every batch to several sinks in order (e.g. the live twin, then the store)."""

    def __init__(self, *sinks: object) -> None:
        self.sinks = sinks

    def accept(self, samples: Sequence[Sample]) -> None:
        for sink in self.sinks:
            sink.accept(samples)  # type: ignore[attr-defined]
