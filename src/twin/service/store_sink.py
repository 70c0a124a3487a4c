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

Threads: :meth:`StoreSink.accept` (the ingest worker) only checks points and appends them to column buffers; a
full buffer goes as one batch to the sink's writer thread, which writes batches one at a time in the order they
were handed over (the database work releases the GIL, so it overlaps the MQTT network thread and the decode). The
hand-over queue holds at most ``queue_batches`` batches: when the store falls behind, ``accept`` waits for room
(counted as ``store_queue_waits`` and ``store_queue_wait_ms``), the ingest worker stops taking messages and the
host's own bounded queue takes the backlog (and counts its overflow); memory never grows without bound.
:meth:`StoreSink.flush` hands over what is buffered and returns once everything handed over before it is written.
The writer thread starts with the first batch and ends after ``idle_s`` without one. ``store_writes`` and
``store_write_ms`` count the batch writes and their total time, ``slowest_write_ms`` is the longest so far.
When the store falls behind, the batches queued during a write are merged into the next (group commit,
``store_merged_batches``; :meth:`StoreSink._merge_queued`).

A store that cannot be reached (:class:`~twin.errors.StoreUnavailableError`: its server restarting, down or cut
off) refuses nothing: the writer holds the batch and retries the same call, 0.2 s after the first failure and
then at doubling intervals up to 5 s (``store_unavailable_retries``; one warning when the outage starts, one when
it ends, with its length). Batches handed over meanwhile queue behind it, then ``accept`` waits (the back-pressure
above), so the host's queue and then the broker's session queue hold the rest and nothing is lost for as long as
they have room. :meth:`StoreSink.flush` takes a ``timeout`` (the service's once-a-second flush must not stall the
live twin during an outage) and :meth:`StoreSink.close` stops the retries after its timeout, counting what it
still held as ``points_lost``. The points' upsert is idempotent, so a write retried after a connection lost at
its commit does not duplicate them.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np

from twin.errors import StoreUnavailableError, TwinError
from twin.live import potline_label
from twin.store import RejectedPoint, Store, TagInfo
from twin.store.validate import MAX_TS_US, is_tag
from twin.telemetry import Quality, Sample, cell_address
from twin.telemetry.samples import node_label_key

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TS_MS = MAX_TS_US // 1000
GOOD, BAD = Quality.GOOD.value, Quality.BAD.value
TAG_CACHE_SIZE = 100_000  # (group, node, device, metric) -> tag entries kept
RETRY_FIRST_S = 0.2  # a store that cannot be reached is asked again after this, then at doubling intervals
RETRY_MAX_S = 5.0  # up to this (a PostgreSQL restart takes seconds; a longer outage is asked every 5 s)


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


@dataclass(slots=True)
class _Batch:
    """Columns of one write, and the points quarantined while it was buffered."""

    tags: list[str] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    quality: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    rejected: list[RejectedPoint] = field(default_factory=list)


class StoreSink:
    """Buffers samples and writes them in batches of ``batch`` points or every ``flush()`` (module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        batch: int = 5000,
        queue_batches: int = 4,
        idle_s: float = 2.0,
        merge_points: int = 25_000,
    ) -> None:
        self.store = store
        self.batch = batch
        self.merge_points = merge_points
        self.idle_s = idle_s
        self.counters: dict[str, int] = {
            "points_written": 0,
            "points_skipped": 0,
            "points_marked_bad": 0,
            "points_rejected": 0,
            "write_errors": 0,
            "points_lost": 0,
            "store_queue_waits": 0,
            "store_queue_wait_ms": 0,
            "store_writes": 0,
            "store_write_ms": 0,
            "store_merged_batches": 0,
            "store_unavailable_retries": 0,
        }
        self.slowest_write_ms = 0  # the longest single batch write so far (a gauge)
        self.quarantined: Counter[tuple[str, str]] = Counter()  # (edge node, reason) -> points
        self._known: set[str] = set()  # tags the store holds (written by the writer thread only)
        self._tag_cache: dict[tuple[str, str, str | None, str], str | None] = {}  # key -> tag, None if invalid
        self._buf = _Batch()
        self._lock = threading.Lock()  # the buffer (accept, flush)
        self._count_lock = threading.Lock()  # counters, bumped by both threads
        self._queue: queue.Queue[tuple[int, _Batch]] = queue.Queue(maxsize=max(1, queue_batches))
        self._done = threading.Condition()  # batches handed over / written, the writer thread
        self._submitted = 0
        self._written = 0
        self._writer: threading.Thread | None = None
        self._closing = threading.Event()  # close() gave up waiting: the writer stops retrying

    def accept(self, samples: Sequence[Sample]) -> None:
        with self._lock:
            add = self._add
            for s in samples:
                add(s)
            if len(self._buf.tags) >= self.batch:
                self._submit_locked()

    def flush(self, timeout: float | None = None) -> bool:
        """Hand over what is buffered and wait until every batch handed over so far is written, or at most
        ``timeout`` seconds (None: for as long as it takes). Whether everything was written."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            ticket = self._submitted
            if self._buf.tags or self._buf.rejected:
                handed = self._submit_locked(timeout)
                if handed is None:  # the hand-over queue stayed full: the buffer is kept for the next try
                    return False
                ticket = handed
        left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        with self._done:
            return self._done.wait_for(lambda: self._written >= ticket, left)

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is buffered, waiting at most ``timeout`` seconds; then stop retrying a store that cannot be
        reached, counting the points still held as ``points_lost``. Whether everything was written."""
        if self.flush(timeout):
            return True
        self._closing.set()
        with self._lock:
            held = len(self._buf.tags) + len(self._buf.rejected)
            if held:
                self._bump("points_lost", held)
                self._buf = _Batch()
        self.flush(RETRY_MAX_S + 1.0)  # the writer now fails fast through what is queued
        log.error("store sink closed with the store unreachable; its held points are counted as lost")
        return False

    # -- per-point checks ----------------------------------------------------------------------------------
    def _add(self, s: Sample) -> None:
        value, quality = s.value, s.quality.value
        if isinstance(value, bool):
            value = float(value)
        if value is not None and not isinstance(value, int | float):
            self._bump("points_skipped")
            return
        key = (s.group, s.node, s.device, s.metric)
        tag = self._tag_cache.get(key, "")
        if tag == "":
            if len(self._tag_cache) >= TAG_CACHE_SIZE:  # names from a fuzzer must not grow it without bound
                self._tag_cache.clear()
            tag = tag_of(s)
            tag = self._tag_cache[key] = tag if is_tag(tag) else None
        if tag is None:
            self._reject(s, tag_of(s), "bad_tag")
            return
        ms = s.timestamp_ms
        if not isinstance(ms, int) or not 0 <= ms < MAX_TS_MS:
            self._reject(s, tag, "bad_timestamp")
            return
        try:
            number = math.nan if value is None else float(value)
        except OverflowError:  # an integer beyond the float range
            self._reject(s, tag, "value_out_of_range")
            return
        if quality == GOOD and not math.isfinite(number):
            self._count(s.node, "null" if value is None else "not_finite")
            self._bump("points_marked_bad")
            quality = BAD
        buf = self._buf
        buf.tags.append(tag)
        buf.ts.append(ms)
        buf.values.append(number)
        buf.quality.append(quality)
        buf.nodes.append(s.node)

    def _bump(self, key: str, n: int = 1) -> None:
        with self._count_lock:
            self.counters[key] = self.counters.get(key, 0) + n

    def _count(self, node: str, reason: str) -> None:
        """Count a quarantined point of ``node`` for ``reason``, by name for at most ``MAX_NODE_LABELS`` pairs as
        the host's drop counters (:func:`twin.telemetry.samples.node_label_key`)."""
        with self._count_lock:
            pair = node_label_key(self.quarantined, node, reason)
            self.quarantined[pair] += 1
            label = f'points_quarantined{{node="{_label(pair[0])}",reason="{reason}"}}'
            self.counters[label] = self.counters.get(label, 0) + 1

    def _reject(self, s: Sample, tag: str, reason: str) -> None:
        self._count(s.node, reason)
        self._bump("points_rejected")
        self._buf.rejected.append(
            RejectedPoint(datetime.now(UTC), f"{s.group}/{s.node}", tag, str(s.timestamp_ms), repr(s.value), reason)
        )

    # -- hand-over (ingest thread) --------------------------------------------------------------------------
    def _submit_locked(self, timeout: float | None = None) -> int | None:
        """Queue the buffer for the writer (waiting for room if the store is behind, at most ``timeout`` seconds
        when given); its ticket number, or None when the queue stayed full (the buffer is then kept)."""
        batch = self._buf
        ticket = self._submitted + 1  # only a holder of self._lock submits
        try:
            self._queue.put_nowait((ticket, batch))
        except queue.Full:  # the store is behind: wait for room (back-pressure on the ingest worker)
            began = time.perf_counter()
            try:
                self._queue.put((ticket, batch), timeout=timeout)
            except queue.Full:
                return None
            finally:
                self._bump("store_queue_waits")
                self._bump("store_queue_wait_ms", round((time.perf_counter() - began) * 1000))
        self._buf = _Batch()
        with self._done:
            self._submitted = ticket
            if self._writer is None:  # (a writer that went idle before this put leaves the batch to the next)
                self._writer = threading.Thread(target=self._write_loop, name="store-sink-writer", daemon=True)
                self._writer.start()
        return ticket

    # -- writing (writer thread) ----------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            try:
                ticket, batch = self._queue.get(timeout=self.idle_s)
            except queue.Empty:
                with self._done:
                    if self._written == self._submitted:  # nothing handed over and not yet written: end
                        self._writer = None
                        return
                continue
            ticket, batch = self._merge_queued(ticket, batch)
            began = time.perf_counter()
            try:
                self._write_batch(batch)
            except StoreUnavailableError as exc:  # only once close() stopped the retries
                self._bump("write_errors")
                self._bump("points_lost", len(batch.tags) + len(batch.rejected))
                log.error("store unreachable at close: a batch of %d points lost (%s)", len(batch.tags), exc)
            except Exception:  # never let the writer die; the batch's points are counted as lost
                self._bump("write_errors")
                self._bump("points_lost", len(batch.tags))
                log.exception("store sink writer failed on a batch of %d points", len(batch.tags))
            took = round((time.perf_counter() - began) * 1000)
            self._bump("store_writes")
            self._bump("store_write_ms", took)
            self.slowest_write_ms = max(self.slowest_write_ms, took)
            with self._done:
                self._written = ticket
                self._done.notify_all()

    def _merge_queued(self, ticket: int, batch: _Batch) -> tuple[int, _Batch]:
        """Group commit: batches that queued while the last write ran join this one, up to ``merge_points``
        points, in their order. A write's fixed cost (transaction, latest values, rollup upserts of every tag
        touched) dominates: on the soak's tags 20 000 points took 45 ms where 4 × 5 000 took 4 × 34 ms
        (benchmarks/README.md "Soak"), so a store that falls behind catches up instead of staying behind, while
        under light load every batch is written as soon as it is full."""
        while len(batch.tags) < self.merge_points:
            try:
                ticket, more = self._queue.get_nowait()
            except queue.Empty:
                break
            for name in ("tags", "ts", "values", "quality", "nodes", "rejected"):
                getattr(batch, name).extend(getattr(more, name))
            self._bump("store_merged_batches")
        return ticket, batch

    def _write_batch(self, batch: _Batch) -> None:
        rejected = batch.rejected
        if batch.tags:
            self._quarantine_compacted(batch)
        if batch.tags:
            self._write(batch.tags, batch.ts, batch.values, batch.quality, batch.nodes, rejected)
        if rejected:
            try:
                self._store_call("the rejected points", lambda: self.store.write_rejected(rejected))
            except StoreUnavailableError:
                raise
            except Exception:  # the quarantine itself failed: counted, and the points are lost
                self._bump("write_errors")
                self._bump("points_lost", len(rejected))
                log.exception("store refused %d rejected points", len(rejected))

    def _store_call(self, what: str, call: Callable[[], T]) -> T:
        """``call()``; while the store cannot be reached, the same call again after 0.2 s, then at doubling
        intervals up to ``RETRY_MAX_S`` (module docstring), until it answers or :meth:`close` stops the retries
        (the StoreUnavailableError is then raised)."""
        delay, began = RETRY_FIRST_S, None
        while True:
            try:
                result = call()
            except StoreUnavailableError as exc:
                if self._closing.is_set():
                    raise
                if began is None:
                    began = time.monotonic()
                    log.warning("store unreachable while writing %s (%s); holding it and retrying", what, exc)
                self._bump("store_unavailable_retries")
                self._closing.wait(delay)
                delay = min(2.0 * delay, RETRY_MAX_S)
                continue
            if began is not None:
                log.warning("store reachable again after %.1f s: the held %s is written", time.monotonic() - began,
                            what)
            return result

    def _quarantine_compacted(self, batch: _Batch) -> None:
        """Move the points older than the store's compacted raw data (:meth:`Store.raw_kept_from`) to the
        batch's rejected points, one by one (reason ``compacted``). The store refuses a batch holding one of them
        whole, and isolating them by splitting the batch cost ~2 writes per such point (2 000 old points: 3 999
        write attempts, 4 s of the writer thread)."""
        try:
            kept_from = self.store.raw_kept_from()
        except Exception:  # not about the data: the write below meets the same fault and reports it
            return
        if kept_from is None:
            return
        mark_ms = int(kept_from.timestamp() * 1000)
        old = [i for i, ms in enumerate(batch.ts) if ms < mark_ms]
        if not old:
            return
        now = datetime.now(UTC)
        for i in old:
            self._count(batch.nodes[i], "compacted")
            batch.rejected.append(
                RejectedPoint(now, batch.nodes[i], batch.tags[i], str(batch.ts[i]), repr(batch.values[i]),
                              f"compacted: before {kept_from.isoformat()}, raw data the store has rolled up")
            )
        self._bump("points_rejected", len(old))
        first = f"{batch.tags[old[0]][:80]} at {batch.ts[old[0]]} ms"
        keep = [i for i, ms in enumerate(batch.ts) if ms >= mark_ms]
        for name in ("tags", "ts", "values", "quality", "nodes"):
            column = getattr(batch, name)
            setattr(batch, name, [column[i] for i in keep])
        log.warning(
            "%d telemetry points before %s (raw data the store has compacted into rollups) rejected; first: %s",
            len(old), kept_from.isoformat(), first,
        )

    def _write(
        self,
        tags: list[str],
        ts: list[int],
        values: list[float],
        quality: list[str],
        nodes: list[str],
        rejected: list[RejectedPoint],
    ) -> None:
        """Write one batch; if the store refuses it, isolate the refusing points (:meth:`_write_or_split`) and log
        that once for the batch, however many points it took (one warning line per batch, not per split)."""
        before = len(rejected)
        refusal = self._write_or_split(tags, ts, values, quality, nodes, rejected)
        if refusal is not None:
            isolated = rejected[before:]
            first = ", ".join(f"{r.tag[:80]} at {r.ts}" for r in isolated[:3])
            log.warning(
                "store refused a telemetry batch of %d points (%s); %d refusing points isolated and rejected%s",
                len(tags),
                refusal[:200],
                len(isolated),
                f" (first: {first}{', ...' if len(isolated) > 3 else ''})" if isolated else "",
            )

    def _write_or_split(
        self,
        tags: list[str],
        ts: list[int],
        values: list[float],
        quality: list[str],
        nodes: list[str],
        rejected: list[RejectedPoint],
    ) -> str | None:
        """Write the points; a batch the store refuses whole is split until the refusing points are isolated,
        which go to ``rejected``. Returns the first refusal's message, or None when nothing was refused."""
        try:
            new = sorted(set(tags) - self._known)
            written = self._store_call(
                "telemetry",
                lambda: self.store.write_points(  # new tags are registered with their first points, atomically
                    np.asarray(tags),
                    np.asarray(ts, dtype="datetime64[ms]"),
                    np.asarray(values),
                    np.asarray(quality),
                    register=[TagInfo(t, unit_of(t), "telemetry") for t in new],
                ),
            )
            self._known.update(new)
            self._bump("points_written", int(written))
            return None
        except StoreUnavailableError:  # not a refusal: close() stopped the retries
            raise
        except TwinError as exc:  # refused whole: split until the refusing points are isolated
            self._bump("write_errors")
            if len(tags) == 1:
                self._count(nodes[0], "store_refused")
                self._bump("points_rejected")
                rejected.append(
                    RejectedPoint(
                        datetime.now(UTC), nodes[0], tags[0], str(ts[0]), repr(values[0]), f"store_refused: {exc}"
                    )
                )
                return str(exc)
            half = len(tags) // 2
            self._write_or_split(tags[:half], ts[:half], values[:half], quality[:half], nodes[:half], rejected)
            self._write_or_split(tags[half:], ts[half:], values[half:], quality[half:], nodes[half:], rejected)
            return str(exc)
        except Exception:  # not about the data (store down, disk full...): counted, logged, lost
            self._bump("write_errors")
            self._bump("points_lost", len(tags))
            log.exception("store write of %d telemetry points failed", len(tags))
            return None


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
