"""What the ingest delivers: typed samples, the sink interface that receives them, and the ingest counters."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

from twin_edge.sparkplug import Value


class Quality(StrEnum):
    """Sparkplug quality codes: GOOD = 192, STALE = 500, BAD = 0 (tck-id-payloads-propertyset-quality-value-*)."""

    GOOD = "good"
    STALE = "stale"
    BAD = "bad"


class Sample(NamedTuple):
    """One metric value.

    ``timestamp_ms`` is UTC milliseconds since the epoch: the metric's own timestamp (historical values keep
    theirs), or for STALE samples the host's receipt time of the death (tck-id-operational-behavior-edge-node-
    termination-host-action-ndeath-node-tags-stale). ``device`` is None for edge-node (NBIRTH/NDATA) metrics.
    """

    timestamp_ms: int
    group: str
    node: str
    device: str | None
    metric: str
    value: Value | None
    quality: Quality
    historical: bool

    @property
    def timestamp_utc(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)


class SampleSink(Protocol):
    """Receives samples in per-edge-node order, in batches (one batch per Sparkplug message or death).

    Called from the ingest's worker thread; a slow sink slows ingest but never the MQTT network thread.
    Must not raise (exceptions are logged and counted as ``sink_errors``).
    """

    def accept(self, samples: Sequence[Sample]) -> None: ...


class CallbackSink:
    """Adapts a plain function ``fn(samples)`` to :class:`SampleSink`."""

    def __init__(self, fn: Callable[[Sequence[Sample]], None]) -> None:
        self._fn = fn

    def accept(self, samples: Sequence[Sample]) -> None:
        self._fn(samples)


class CollectingSink:
    """Keeps every sample in memory (tests, small tools). Thread-safe snapshot via :meth:`samples`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def accept(self, samples: Sequence[Sample]) -> None:
        with self._lock:
            self._samples.extend(samples)

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)


MAX_NODE_LABELS = 1_000  # (node, reason) pairs counted by name in IngestCounters.by_node
OTHER_NODES = "(other)"


def node_label_key(counts: Mapping[tuple[str, str], int], node: str, reason: str) -> tuple[str, str]:
    """The key to count a (node, reason) pair under in ``counts``: itself while fewer than ``MAX_NODE_LABELS``
    pairs are counted by name, else ``(OTHER_NODES, reason)``: made-up node names must not grow memory or
    ``/metrics`` without bound."""
    key = (node, reason)
    if key not in counts and len(counts) >= MAX_NODE_LABELS:
        return OTHER_NODES, reason
    return key


@dataclass
class IngestCounters:
    """Running totals. ``received``, ``oversized``, ``retained_refused``, ``queue_waits`` and ``queue_overflow`` are
    written by the MQTT thread, the rest by the worker."""

    received: int = 0
    decoded: int = 0
    applied: int = 0
    stale_marked: int = 0
    malformed: int = 0
    unknown_alias: int = 0
    duplicate_alias: int = 0  # BIRTH metrics whose alias another metric of the edge node held: kept by name only
    devices_refused: int = 0  # DBIRTHs refused: their node already had HostConfig.max_devices_per_node devices
    misnamed_devices: int = 0  # DBIRTHs of devices named like a pot controller, not pot_<NNN>: no cell (naming)
    metrics_refused: int = 0  # BIRTH metrics refused: their node already had HostConfig.max_metrics_per_node
    wrong_datatype: int = 0
    oversized: int = 0
    retained_refused: int = 0  # births, data, deaths, commands delivered retained (stale copies): refused
    seq_gaps: int = 0
    duplicates: int = 0
    rebirths_requested: int = 0
    queue_overflow: int = 0
    queue_waits: int = 0  # messages that found the ingest queue full and waited for room (back-pressure)
    sink_errors: int = 0
    decompressed: int = 0  # compressed payloads (uuid SPBV1.0_COMPRESSED) unpacked
    node_deaths: int = 0  # NDEATH of a current session: the edge node went offline (an alarm)
    device_deaths: int = 0  # DDEATH of a device that was online: its PLC went away (an alarm)
    invalid_utf8: int = 0  # metric names or String values that are not valid UTF-8
    bad_timestamp: int = 0  # metrics stamped further ahead of the host's clock than HostConfig.max_future_s
    nodes_forgotten: int = 0  # edge nodes whose state was dropped to stay within HostConfig.max_edge_nodes
    state_repaired: int = 0  # own STATE topic held something that is not our JSON STATE; republished online
    state_sessions_renewed: int = 0  # a foreign offline STATE newer than ours: a new session (host_state)
    internal_errors: int = 0  # an unexpected exception while handling a message (a bug; logged with traceback)
    setpoint_writes: int = 0  # DCMDs published (twin.telemetry.setpoints)
    setpoint_confirmed: int = 0  # writes the PLC was read back to hold
    setpoint_failed: int = 0  # writes read back with another value or not at all in time (an alarm)

    def __post_init__(self) -> None:
        # (edge node "group/node", reason) -> count, for malformed, wrong_datatype, invalid_utf8, unknown_alias,
        # duplicate_alias, devices_refused, metrics_refused, bad_timestamp and seq_gaps; not a dataclass field, so
        # the totals above stay plain integers.
        self.by_node: Counter[tuple[str, str]] = Counter()

    def count_drop(self, node: str, reason: str) -> None:
        """Count a drop for ``node`` ("group/node"). At most ``MAX_NODE_LABELS`` nodes get a label of their own
        (made-up node names must not grow memory or ``/metrics`` without bound); the rest share ``(other)``."""
        self.by_node[node_label_key(self.by_node, node, reason)] += 1

    def snapshot(self) -> dict[str, int]:
        """The totals, plus ``dropped{node="group/node",reason="..."}`` per edge node (labels for ``/metrics``)."""
        figures = {f.name: getattr(self, f.name) for f in fields(self)}
        for (node, reason), n in list(self.by_node.items()):
            label = node.replace("\\", "\\\\").replace('"', '\\"')
            figures[f'dropped{{node="{label}",reason="{reason}"}}'] = n
        return figures
