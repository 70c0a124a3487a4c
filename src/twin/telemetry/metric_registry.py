"""The metrics one edge node's BIRTH messages defined, and what the host remembers of each: the owner of an edge
node's alias table, its name table, its devices, the duplicate windows and the last values.

Spec (Sparkplug B 3.0, payloads): aliases are unique across the edge node, its devices included
(tck-id-payloads-alias-uniqueness). A BIRTH metric whose alias another metric of the node already holds is kept by
name and its alias refused: the first holder keeps its alias and its DATA. A DBIRTH replaces what its device's
earlier DBIRTH registered. At most ``max_devices`` devices and ``max_metrics`` metric definitions per node and
session; the duplicate windows and last values of metrics no longer registered are forgotten at a new session (once
out of the duplicate window) and when they reach twice ``max_metrics``, so nothing here grows without bound.

No counting, logging or MQTT: :class:`~twin.telemetry.node_tracker.EdgeNodeTracker` calls these operations and
reports what they refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from twin.telemetry.metric_state import Delivered, MetricInfo, short
from twin_edge.sparkplug import DataType, Value
from twin_edge.sparkplug.datatypes import SIGNED_BITS, VALUE_FIELD

MetricKey = tuple[str | None, str]  # (device, None for the node itself; metric name)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a BIRTH's metric definition (or only its alias) was refused: a drop reason and what to log."""

    reason: str
    detail: str


class MetricRegistry:
    """The metric definitions of one edge node's session and what is kept of each metric across sessions."""

    def __init__(self, *, max_devices: int, max_metrics: int) -> None:
        self._max_devices = max_devices
        self._max_metrics = max_metrics
        self._aliases: dict[int, MetricInfo] = {}
        self._names: dict[MetricKey, MetricInfo] = {}
        self._registered: dict[str | None, list[MetricInfo]] = {}  # device (None: node) -> its BIRTH's metrics
        self._refused_aliases: set[tuple[str | None, int]] = set()  # (device, alias) refused as duplicates
        self._delivered: dict[MetricKey, Delivered] = {}
        self._last: dict[MetricKey, Value | None] = {}

    # -- sessions and devices ------------------------------------------------------------------------------
    def new_session(self, now_ms: int, duplicate_window_ms: int) -> None:
        """An NBIRTH: forget every definition, and the duplicate windows and last values of metrics not delivered
        within ``duplicate_window_ms`` (what a replay could still repeat is kept)."""
        self._aliases.clear()
        self._names.clear()
        self._registered.clear()
        self._refused_aliases.clear()
        horizon = now_ms - duplicate_window_ms
        for key in [k for k, d in self._delivered.items() if d.newest < horizon]:
            del self._delivered[key]
            self._last.pop(key, None)

    def open_device(self, device: str) -> bool:
        """A DBIRTH of ``device``: forget what its earlier DBIRTH registered and count it among the node's devices
        (even if it defines no metric); False, and nothing changed, if it would be one more than ``max_devices``."""
        if device not in self._registered and self.device_count() >= self._max_devices:
            return False
        for info in self._registered.pop(device, ()):
            self._names.pop((device, info.name), None)
            if info.alias is not None and self._aliases.get(info.alias) is info:
                del self._aliases[info.alias]
        if self._refused_aliases:
            self._refused_aliases = {key for key in self._refused_aliases if key[0] != device}
        self._registered[device] = []
        return True

    def device_count(self) -> int:
        """Devices with a DBIRTH in this session (those gone with a DDEATH included: their metrics are kept)."""
        return len(self._registered) - (None in self._registered)

    # -- definitions -----------------------------------------------------------------------------------------
    def register(
        self, device: str | None, name: str, datatype: DataType, alias: int | None
    ) -> tuple[MetricInfo | None, Refusal | None]:
        """Register a BIRTH's metric definition: (its info, None) if all is well; (info, refusal) if only its alias
        was refused (another metric of the node holds it: kept by name); (None, refusal) if the definition itself
        was refused (``max_metrics`` reached)."""
        names = self._names
        if (device, name) not in names and len(names) >= self._max_metrics:
            return None, Refusal("metrics_refused", f"(node at max_metrics_per_node = {self._max_metrics})")
        refusal = None
        if alias is not None:
            holder = self._aliases.get(alias)
            if holder is not None and (holder.device, holder.name) != (device, name):
                owner = "the node" if holder.device is None else short(holder.device)
                detail = f"alias {alias} held by {short(holder.name)} of {owner}; kept by name"
                refusal = Refusal("duplicate_alias", detail)
                self._refused_aliases.add((device, alias))
                alias = None
        delivered = self._delivered.get((device, name))
        if delivered is None:
            if len(self._delivered) >= 2 * self._max_metrics:
                self._forget_unregistered()
            delivered = self._delivered[(device, name)] = Delivered()
        field = VALUE_FIELD[datatype]
        info = MetricInfo(
            device,
            name,
            datatype,
            field,
            SIGNED_BITS.get(datatype, 0),
            delivered,
            field == "string_value",
            datatype is DataType.DATASET,
            datatype is DataType.TEMPLATE,
            alias,
        )
        names[(device, name)] = info
        self._registered.setdefault(device, []).append(info)
        if alias is not None:
            self._aliases[alias] = info
        return info, refusal

    def _forget_unregistered(self) -> None:
        """Forget the duplicate windows and last values of metrics no current BIRTH registers (a device re-born
        under ever new names would otherwise grow them within one session)."""
        names = self._names
        for key in [k for k in self._delivered if k not in names]:
            del self._delivered[key]
            self._last.pop(key, None)

    # -- look-ups ---------------------------------------------------------------------------------------------
    def by_alias(self, alias: int) -> MetricInfo | None:
        return self._aliases.get(alias)

    def by_name(self, device: str | None, name: str) -> MetricInfo | None:
        return self._names.get((device, name))

    def alias_refused(self, device: str | None, alias: int) -> bool:
        """Whether ``alias`` of ``device`` was refused as a duplicate in this session (a rebirth would repeat it)."""
        return (device, alias) in self._refused_aliases

    # -- last values ------------------------------------------------------------------------------------------
    def note_last(self, info: MetricInfo, value: Value | None) -> None:
        """The newest live (not historical) value delivered for ``info``'s metric."""
        self._last[(info.device, info.name)] = value

    def stale_values(
        self, device: str | None, *, whole_node: bool = False
    ) -> Iterator[tuple[str | None, str, Value | None]]:
        """(device, name, last value) of every registered leaf metric of ``device`` (of the whole node with
        ``whole_node``): what goes STALE at a DDEATH, an NDEATH or a lost broker connection."""
        last = self._last
        for (dev, name), info in self._names.items():
            if (whole_node or dev == device) and not info.template:
                yield dev, name, last.get((dev, name))
