"""Setpoint writes from DCMD (spec "Payloads" / "Operational Behavior", tck-id-topics-dcmd-*), for one Edge Node.

Each metric of a DCMD is checked on its own (known device that is born, writable tag, value of the tag's DBIRTH
datatype, inside the tag's ``min``/``max``): a refused metric is logged with the reason and counted
(``setpoint_refused``), the others are written to the PLC (Modbus function code 16 or OPC UA) and read back at
once; the tag's report-by-exception memory is dropped so the next DDATA carries the read-back value, which the
host compares with what it sent. One bad metric costs only itself.

The gateway (:mod:`twin_edge.gateway`) owns the session; this module owns only the checks and the writes, and
runs on the gateway's asyncio loop thread.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection

from twin_edge.births import AliasTable
from twin_edge.errors import SparkplugError
from twin_edge.gateway_counters import GatewayCounters
from twin_edge.modbus import PlcUnavailable
from twin_edge.poller import Poller
from twin_edge.report_by_exception import DeadbandFilter
from twin_edge.sparkplug import Value, decode_payload
from twin_edge.sparkplug.datatypes import VALUE_FIELD, from_wire
from twin_edge.sparkplug.payload import Metric
from twin_edge.tagmap import Tag, TagMap

logger = logging.getLogger("twin_edge.gateway")  # the gateway's log, as before the split


class SetpointWriter:
    """Checks DCMD metrics against the tag map and writes the accepted ones to the PLC, one by one.

    ``born_devices()`` gives the devices with a DBIRTH in the current session; ``wake()`` asks the gateway for
    an immediate poll (so the read-back value is published at once).
    """

    def __init__(
        self,
        tag_map: TagMap,
        aliases: AliasTable,
        poller: Poller,
        rbe: DeadbandFilter,
        counters: GatewayCounters,
        *,
        born_devices: Callable[[], Collection[str]],
        wake: Callable[[], None],
    ) -> None:
        self._devices = {d.device_id for d in tag_map.devices}
        self._writable = {(d.device_id, t.metric): t for d in tag_map.devices for t in d.tags if t.writable}
        self._by_alias = {
            aliases.alias(d.device_id, t.metric): (d.device_id, t.metric) for d in tag_map.devices for t in d.tags
        }
        self._poller = poller
        self._rbe = rbe
        self._counters = counters
        self._born_devices = born_devices
        self._wake = wake

    @property
    def any_writable(self) -> bool:
        """Whether the tag map marks any tag writable (only then does the node subscribe to DCMD)."""
        return bool(self._writable)

    async def handle(self, device_id: str, payload: bytes) -> None:
        """Write every acceptable metric of one DCMD payload addressed to ``device_id``."""
        counters = self._counters
        try:
            metrics = decode_payload(payload).metrics
        except SparkplugError as exc:
            counters.bad_commands += 1
            logger.warning("malformed DCMD for %s ignored: %s", device_id, exc)
            return
        for metric in metrics:  # one bad metric costs only itself
            checked = self.check(device_id, metric)
            if isinstance(checked, str):
                counters.setpoint_refused += 1
                logger.warning("DCMD for %s refused: %s", device_id, checked)
                continue
            tag, value = checked
            try:
                held = await self._poller.write_tag(device_id, tag, value)
            except PlcUnavailable as exc:
                counters.setpoint_write_failures += 1
                logger.warning("DCMD for %s: writing %s = %r failed: %s", device_id, tag.metric, value, exc)
                continue
            counters.setpoint_writes += 1
            if not same_value(held, value):
                counters.setpoint_readback_mismatch += 1
                logger.warning("DCMD for %s: wrote %s = %r but the PLC holds %r", device_id, tag.metric, value, held)
            else:
                logger.info("DCMD for %s: %s = %r written and read back", device_id, tag.metric, value)
            self._rbe.forget((device_id, tag.metric))  # the next DDATA reports the read-back value
            self._wake()

    def check(self, device_id: str, metric: Metric) -> tuple[Tag, float] | str:
        """The tag and value a DCMD metric writes, or why it is refused (one line naming metric and value)."""
        if device_id not in self._devices:
            return f"device {device_id!r} is not in the tag map"
        name = metric.name
        if name is None and metric.alias is not None:
            owner, name = self._by_alias.get(metric.alias, (None, None))
            if owner != device_id:
                return f"alias {metric.alias} is not a metric of {device_id}"
        tag = self._writable.get((device_id, name or ""))
        if tag is None:
            writable = sorted(m for d, m in self._writable if d == device_id)
            return f"metric {name!r} is not writable; writable metrics: {', '.join(writable) or 'none'}"
        if device_id not in self._born_devices():
            return f"{device_id} is not online (no DBIRTH in this session); nothing written"
        if metric.is_null or metric.value is None:
            return f"{name} has no value"
        field = VALUE_FIELD[tag.datatype]
        if metric.value_field != field:  # the value must travel in the field of the DBIRTH datatype
            return f"{name} value travels in {metric.value_field}; its datatype {tag.datatype.spec_name} uses {field}"
        try:
            value = metric.value if metric.datatype is not None else from_wire(tag.datatype, field, metric.value)
        except SparkplugError as exc:
            return f"{name}: {exc}"
        if isinstance(value, bool):
            value = float(value)
        if not isinstance(value, int | float) or not math.isfinite(value):
            return f"{name} = {value!r} is not a finite number"
        low, high = tag.minimum, tag.maximum
        if low is None or high is None or not low <= value <= high:  # a writable tag always has both (tagmap)
            return f"{name} = {value!r} is outside the gateway's range [{low}, {high}]"
        return tag, float(value)


def same_value(held: Value, wanted: float) -> bool:
    """Read-back equal to what was written, to the float32 register's precision (2^-23 relative)."""
    if isinstance(held, bool) or not isinstance(held, int | float):
        return False
    return abs(float(held) - wanted) <= 2.0**-22 * max(1.0, abs(wanted))
