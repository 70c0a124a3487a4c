"""What the host keeps per Sparkplug metric, and how a message's dropped metrics are reported.

:class:`MetricInfo` is a metric as its BIRTH defined it; :class:`Delivered` the timestamps of it already delivered
within the duplicate window (exactly-once over the edge's at-least-once replays); :class:`MessageDrops` the
metrics one message lost, counted one by one but summarised in one warning per message (a 1 MB payload of bad
metrics writes one line, not 100 000). Used by :mod:`twin.telemetry.node_tracker`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from twin_edge.sparkplug import DataType

EXAMPLES = 3  # offending metrics named per reason in a message's drop summary
EXAMPLE_CHARS = 60  # each name or value there cut to this many characters


def short(value: object, limit: int = EXAMPLE_CHARS) -> str:
    """``repr(value)`` of at most about ``limit`` characters; a str or bytes is cut before its repr is made
    (a client's name can be as long as its payload)."""
    if isinstance(value, str | bytes):
        cut = value[:limit]
        return repr(cut) + ("..." if len(value) > limit else "")
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(slots=True)
class MessageDrops:
    """The metrics one message lost (or whose alias it refused), by reason: each is counted exactly
    (``IngestCounters``), but the message gets one warning summarising the counts with the first few offenders
    (see :meth:`summary`)."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, name: object, detail: str = "") -> None:
        """One metric dropped for ``reason``; its ``name`` (None: it came by alias, named in ``detail``) and
        ``detail`` are only formatted for the first ``EXAMPLES`` of each reason."""
        n = self.counts[reason] = self.counts.get(reason, 0) + 1
        if n <= EXAMPLES:
            text = detail if name is None else f"{short(name)} {detail}".rstrip()
            self.examples.setdefault(reason, []).append(text)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """``reason n (first, second, third, ...)`` for each reason, in the order first seen."""
        parts = []
        for reason, n in self.counts.items():
            shown = self.examples.get(reason, [])
            more = ", ..." if n > len(shown) else ""
            parts.append(f"{reason} {n} ({', '.join(shown)}{more})")
        return "; ".join(parts)


@dataclass(slots=True)
class Delivered:
    """Timestamps of one metric delivered within the duplicate window (survives rebirths)."""

    stamps: set[int] = field(default_factory=set)
    order: deque[int] = field(default_factory=deque)
    newest: int = 0

    def first(self, ts: int, window_ms: int) -> bool:
        """Note ``ts`` delivered; False if it already was (a replay), forgetting stamps older than ``window_ms``
        before the newest.

        A stamp already older than that when it comes (a store-and-forward backfill behind live data) is delivered
        but not remembered: held until the live stamps in front of it aged out, a backfill of 50 000 points a
        message grew the host by ~0.4 GB that a node going quiet never gave back. Its replay is delivered again;
        the stores keep one row per (tag, time), so it is stored once."""
        if ts in self.stamps:
            return False
        if ts < self.newest - window_ms:
            return True
        self.stamps.add(ts)
        self.order.append(ts)
        if ts > self.newest:
            self.newest = ts
            horizon = ts - window_ms
            order = self.order
            while order[0] < horizon:
                self.stamps.discard(order.popleft())
        return True


@dataclass(frozen=True, slots=True)
class MetricInfo:
    device: str | None
    name: str
    datatype: DataType
    field: str
    bits: int  # 0 unless a signed integer: its width (two's complement at that width on the wire, as Tahu)
    delivered: Delivered
    text: bool = False  # a string_value metric (upb gives bytes for invalid UTF-8)
    dataset: bool = False  # a DataSet: delivered as a twin_edge DataSetValue
    template: bool = False  # a Template instance: delivered as its leaf members <name>/<member>
    alias: int | None = None  # the alias its BIRTH gave it (None: none, or refused as a duplicate)
