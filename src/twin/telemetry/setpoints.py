"""Writable setpoints of a pot controller: their limits from the technology, and the host's read-back check.

Three setpoints (issue 10 item 7), named as the PLC's registers and Sparkplug metrics
(``twin_edge.simplc.layout.SETPOINT_LAYOUT``):

- ``resistance_target_uohm``: the regulation's target pseudo-resistance R = (V - E0) / I (the controller's
  definition: GéniSim In Situ control, CIM 2011, /work/shared/docs/physics.md §1.5). Its range is the schema
  range of ``control.target_voltage_V`` ([3.5, 5.0] V, ``twin/params/schema/technology.csv``) turned into a
  resistance at the technology's ``cell.line_current_nominal_kA`` and back EMF ``anode.bemf_V``.
- ``feed_mode``: the feed control, a code: the index into the schema's ``control.feed_strategy`` choices
  (``tracking``, ``fixed``, ``none``).
- ``exchanger_duty_kW``: the shell heat-exchanger duty, in [0, capacity] with the capacity of the plant file's
  potline (``heat_exchanger_capacity_kW``) or, without one, the technology's ``thermal.exchanger_design_duty_kW``
  (0 for a bare shell: no duty may be written).

:class:`ReadbackVerifier` compares what the host wrote with what the gateway reports afterwards, using good, live
(not historical) samples of the metric stamped at or after the write: the first one equal to the value written
(within the float32 register's precision) settles it as ``confirmed``. A different value does not settle it at
once, because a poll that was in flight while the gateway wrote may still carry the old value; if no sample
matched by the deadline, the write is ``mismatch`` (with the last value seen) or, with no sample at all,
``timeout``. Edge and host clocks must agree (the Sparkplug spec asks for NTP: "Timestamps in Sparkplug").
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from twin.errors import TelemetryError
from twin.params.schema import technology_schema
from twin.params.technology import Technology
from twin.telemetry.samples import Quality, Sample
from twin_edge.errors import SparkplugError
from twin_edge.sparkplug import DataType, Metric, encode_payload
from twin_edge.sparkplug.datatypes import VALUE_FIELD, to_wire

SETPOINTS = ("resistance_target_uohm", "feed_mode", "exchanger_duty_kW")


class SetpointError(TelemetryError):
    """A setpoint write refused before it left this layer (the message names setpoint, value and what is valid)."""


@dataclass(frozen=True, slots=True)
class SetpointRange:
    name: str
    unit: str
    low: float
    high: float
    source: str
    integer: bool = False
    choices: tuple[str, ...] = ()  # names of the codes 0, 1, ... (feed_mode)

    def check(self, value: object) -> float:
        """``value`` as a float if it is valid for this setpoint; :class:`SetpointError` otherwise."""
        if isinstance(value, str) and self.choices:
            if value not in self.choices:
                raise SetpointError(f"{self.name} = {value!r} is invalid; expected one of {', '.join(self.choices)}")
            return float(self.choices.index(value))
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise SetpointError(f"{self.name} = {value!r} is invalid; expected {self.describe()}")
        if self.integer and not float(value).is_integer():
            raise SetpointError(f"{self.name} = {value!r} is invalid; expected {self.describe()}")
        if not self.low <= value <= self.high:
            raise SetpointError(f"{self.name} = {value!r} is out of range; expected {self.describe()}")
        return float(value)

    def describe(self) -> str:
        if self.choices:
            codes = ", ".join(f"{i} ({c})" for i, c in enumerate(self.choices))
            return f"one of {codes} (from {self.source})"
        return f"a number in [{self.low:.6g}, {self.high:.6g}] {self.unit} (from {self.source})"


@dataclass(frozen=True)
class SetpointLimits:
    """The valid range of each writable setpoint, keyed by name."""

    ranges: Mapping[str, SetpointRange]

    def check(self, name: str, value: object) -> float:
        spec = self.ranges.get(name)
        if spec is None:
            raise SetpointError(f"setpoint {name!r} is not writable; writable: {', '.join(self.ranges)}")
        return spec.check(value)

    def edge_limits(self) -> dict[str, tuple[float, float]]:
        """(min, max) per setpoint for a gateway tag map (``twin_edge.simplc.layout.write_tag_map``)."""
        return {name: (r.low, r.high) for name, r in self.ranges.items()}


def setpoint_limits(technology: Technology, *, exchanger_capacity_kW: float | None = None) -> SetpointLimits:
    """The technology's setpoint limits (module docstring); ``exchanger_capacity_kW`` from the plant file."""
    schema = technology_schema()
    volts = schema["control.target_voltage_V"]
    feed = schema["control.feed_strategy"]
    v_low, v_high = volts.minimum, volts.maximum
    if v_low is None or v_high is None:  # a float row of the schema always has both
        raise SetpointError("schema control.target_voltage_V has no range")
    current_kA = technology.number("cell.line_current_nominal_kA")
    bemf = technology.number("anode.bemf_V")
    origin = technology.origin
    design = technology.number("thermal.exchanger_design_duty_kW")
    capacity = design if exchanger_capacity_kW is None else float(exchanger_capacity_kW)
    if not math.isfinite(capacity) or capacity < 0:
        raise SetpointError(f"exchanger_capacity_kW = {capacity!r} is invalid; expected a number >= 0 kW")
    ranges = {
        # R [uohm] = (V - E0) [V] / I [kA] * 1e3
        "resistance_target_uohm": SetpointRange(
            "resistance_target_uohm",
            "uohm",
            (v_low - bemf) / current_kA * 1e3,
            (v_high - bemf) / current_kA * 1e3,
            f"target_voltage_V in [{v_low:g}, {v_high:g}] V (schema) at {current_kA:g} kA and "
            f"back EMF {bemf:g} V ({origin})",
        ),
        "feed_mode": SetpointRange(
            "feed_mode", "-", 0.0, float(len(feed.choices) - 1), "schema control.feed_strategy", True, feed.choices
        ),
        "exchanger_duty_kW": SetpointRange(
            "exchanger_duty_kW",
            "kW",
            0.0,
            capacity,
            "the plant's heat_exchanger_capacity_kW"
            if exchanger_capacity_kW is not None
            else f"exchanger_design_duty_kW of {origin}",
        ),
    }
    return SetpointLimits(MappingProxyType(ranges))


def command_payload(
    metric: str, value: object, checked: float, datatype: DataType, alias: int | None, now_ms: int
) -> bytes:
    """The DCMD payload that writes ``metric`` = ``checked`` (``value`` as given, for the error): the metric by its
    DBIRTH alias only when there is one (tck-id-payloads-alias-data-cmd-requirement), a metric timestamp
    (tck-id-payloads-name-cmd-requirement), the value in the protobuf field of the DBIRTH ``datatype`` and not the
    datatype itself (tck-id-payloads-metric-datatype-not-req). Raises :class:`SetpointError` if it does not fit."""
    wire_value = round(checked) if VALUE_FIELD[datatype] in ("int_value", "long_value") else checked
    try:
        wire = to_wire(datatype, wire_value)
    except SparkplugError as exc:
        raise SetpointError(f"{metric} = {value!r} does not fit its DBIRTH datatype: {exc}") from None
    command = Metric(
        name=metric if alias is None else None,
        alias=alias,
        timestamp=now_ms,
        value=wire,
        value_field=VALUE_FIELD[datatype],
    )
    return encode_payload([command], timestamp=now_ms)


@dataclass(frozen=True, slots=True)
class ReadbackOutcome:
    """How a write ended: ``confirmed``, ``mismatch`` (the PLC holds another value) or ``timeout``."""

    command_id: str
    group: str
    node: str
    device: str
    metric: str
    expected: float
    observed: float | None
    status: str
    at_ms: int

    @property
    def ok(self) -> bool:
        return self.status == "confirmed"


@dataclass(slots=True)
class _Pending:
    command_id: str
    expected: float
    sent_ms: int
    deadline_ms: int
    last_seen: float | None = None


def _same(observed: float, expected: float) -> bool:
    """Equal to the float32 register's precision (2^-23 relative, twice for the rounding of both sides)."""
    return abs(observed - expected) <= 2.0**-22 * max(1.0, abs(expected))


class ReadbackVerifier:
    """Pending writes, settled by the samples the host ingests (thread-safe: writes come from API threads)."""

    def __init__(self, on_outcome: Callable[[ReadbackOutcome], None]) -> None:
        self._on_outcome = on_outcome
        self._pending: dict[tuple[str, str, str, str], _Pending] = {}
        self._lock = threading.Lock()

    def expect(
        self, key: tuple[str, str, str, str], command_id: str, expected: float, sent_ms: int, timeout_ms: int
    ) -> None:
        """Wait for ``key`` = (group, node, device, metric) to read ``expected``; a newer write replaces it."""
        with self._lock:
            old = self._pending.get(key)
            self._pending[key] = _Pending(command_id, expected, sent_ms, sent_ms + timeout_ms)
        if old is not None:
            self._settle(key, old, None, "superseded", sent_ms)

    def cancel(self, key: tuple[str, str, str, str]) -> None:
        with self._lock:
            self._pending.pop(key, None)

    @property
    def next_deadline_ms(self) -> int | None:
        with self._lock:
            return min((p.deadline_ms for p in self._pending.values()), default=None)

    def observe(self, samples: Sequence[Sample]) -> None:
        if not self._pending:
            return
        for s in samples:
            if s.device is None:
                continue
            key = (s.group, s.node, s.device, s.metric)
            with self._lock:
                pending = self._pending.get(key)
                if (
                    pending is None
                    or s.historical
                    or s.quality is not Quality.GOOD
                    or s.timestamp_ms < pending.sent_ms
                    or isinstance(s.value, bool | str | bytes)
                    or s.value is None
                ):
                    continue
                observed = float(s.value)  # type: ignore[arg-type]
                if not _same(observed, pending.expected):
                    pending.last_seen = observed  # settled at the deadline unless a matching sample follows
                    continue
                del self._pending[key]
            self._settle(key, pending, observed, "confirmed", s.timestamp_ms)

    def expire(self, now_ms: int) -> None:
        with self._lock:
            due = [(k, p) for k, p in self._pending.items() if p.deadline_ms <= now_ms]
            for k, _ in due:
                del self._pending[k]
        for key, pending in due:
            status = "timeout" if pending.last_seen is None else "mismatch"
            self._settle(key, pending, pending.last_seen, status, now_ms)

    def _settle(
        self, key: tuple[str, str, str, str], pending: _Pending, observed: float | None, status: str, at_ms: int
    ) -> None:
        group, node, device, metric = key
        self._on_outcome(
            ReadbackOutcome(pending.command_id, group, node, device, metric, pending.expected, observed, status, at_ms)
        )
