"""Tag map: which Modbus registers (or OPC UA nodes) of which PLC become which Sparkplug metric of which device.

File format (TOML), see ``edge/README.md``::

    [templates.pot]
    tags = [{ metric = "cell_voltage_V", register = 0, encoding = "float32", datatype = "Float",
              scale = 1.0, offset = 0.0, deadband = 0.002 }]

    [[devices]]
    id = "pot_001"          # Sparkplug device_id
    host = "127.0.0.1"
    port = 15020
    unit = 1
    template = "pot"        # or an inline `tags = [...]` list

An OPC UA device has ``protocol = "opcua"``, an ``endpoint`` and security settings instead of host/port/unit, and
its tags name a ``node`` (``{device}`` in it is replaced by the device id) instead of a register; see
:mod:`twin_edge.tagmap_opcua`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin_edge.configfile import Table, check_keys, read_toml
from twin_edge.errors import ConfigError, SparkplugError
from twin_edge.registers import Encoding
from twin_edge.sparkplug.datatypes import DataType, datatype_names
from twin_edge.sparkplug.topic import validate_id
from twin_edge.tagmap_opcua import OPCUA_DEVICE_KEYS, parse_opcua_device

_ENCODINGS = ", ".join(e.value for e in Encoding)


@dataclass(frozen=True, slots=True)
class Tag:
    """One register-backed metric: ``value = raw * scale + offset`` reported when it moves more than ``deadband``."""

    metric: str
    register: int
    encoding: Encoding
    datatype: DataType
    scale: float = 1.0
    offset: float = 0.0
    deadband: float = 0.0
    node: str | None = None  # OPC UA node id (OPC UA devices only)
    writable: bool = False  # a setpoint the host may write with a DCMD
    minimum: float | None = None  # a writable tag's range in engineering units: the gateway refuses values outside
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One PLC (pot controller) and the Sparkplug device it becomes."""

    device_id: str
    host: str
    port: int
    unit: int
    tags: tuple[Tag, ...]
    protocol: str = "modbus"  # or "opcua"
    endpoint: str | None = None  # OPC UA only
    opcua: Any = None  # twin_edge.opcua.OpcUaSecurity, or None for an OPC UA server without security

    @property
    def register_span(self) -> tuple[int, int]:
        """(first register, count) covering every tag, so one read per poll suffices."""
        first = min(t.register for t in self.tags)
        last = max(t.register + t.encoding.register_count for t in self.tags)
        return first, last - first


@dataclass(frozen=True, slots=True)
class TagMap:
    devices: tuple[DeviceSpec, ...]


def load_tag_map(path: Path) -> TagMap:
    """Read and validate a tag-map file; raise :class:`ConfigError` naming file, field, value and what is valid."""
    return parse_tag_map(read_toml(path, ConfigError, what="tag map"), str(path), path.parent)


_TOP_KEYS = frozenset({"templates", "devices"})
_TEMPLATE_KEYS = frozenset({"tags"})
_DEVICE_KEYS = frozenset({"id", "host", "port", "unit", "template", "tags", "protocol"})
_TAG_KEYS = frozenset(
    {"metric", "register", "encoding", "datatype", "scale", "offset", "deadband", "node", "writable", "min", "max"}
)


def parse_tag_map(doc: dict[str, Any], source: str, base: Path | None = None) -> TagMap:
    """``base``: the folder relative paths (OPC UA certificates) are resolved against."""
    check_keys(doc, _TOP_KEYS, source)
    templates_doc = doc.get("templates", {})
    if not isinstance(templates_doc, dict):
        raise ConfigError.field(source, "templates", templates_doc, "a table of named templates")
    for name, body in templates_doc.items():
        if isinstance(body, dict):
            check_keys(body, _TEMPLATE_KEYS, source, f"templates.{name}")
    templates = {
        name: _parse_tags(body.get("tags") if isinstance(body, dict) else None, source, f"templates.{name}.tags")
        for name, body in templates_doc.items()
    }
    devices_doc = doc.get("devices")
    if not isinstance(devices_doc, list) or not devices_doc:
        raise ConfigError.field(source, "devices", devices_doc, "a non-empty array of [[devices]] tables")
    devices = []
    seen: set[str] = set()
    for i, dev in enumerate(devices_doc):
        where = f"devices[{i}]"
        if not isinstance(dev, dict):
            raise ConfigError.field(source, where, dev, "a table")
        protocol = dev.get("protocol", "modbus")
        if protocol not in ("modbus", "opcua"):
            raise ConfigError.field(source, f"{where}.protocol", protocol, "'modbus' or 'opcua'")
        check_keys(dev, _DEVICE_KEYS | (OPCUA_DEVICE_KEYS if protocol == "opcua" else frozenset()), source, where)
        fields = Table(dev, source, where)
        device_id = fields.require("id", str, "a device id string")
        try:
            validate_id("device_id", device_id)
        except SparkplugError:
            raise ConfigError.field(source, f"{where}.id", device_id, "a non-empty id without '/', '+', '#'") from None
        if device_id.lower() in seen:
            raise ConfigError.field(source, f"{where}.id", device_id, "an id unique (case-insensitively) per node")
        seen.add(device_id.lower())
        tags = _device_tags(dev, templates, source, where)
        if protocol == "opcua":
            devices.append(parse_opcua_device(dev, device_id, tags, source, where, base or Path(".")))
            continue
        for k, tag in enumerate(tags):
            if tag.node is not None:
                raise ConfigError.field(source, f"{where}.tags[{k}].node", tag.node, "no node on a Modbus device")
        host = fields.require("host", str, "a host name or IP address")
        port = fields.require("port", int, "a TCP port in [1, 65535]")
        if not 1 <= port <= 65535:
            raise ConfigError.field(source, f"{where}.port", port, "a TCP port in [1, 65535]")
        unit = dev.get("unit", 1)
        if not isinstance(unit, int) or isinstance(unit, bool) or not 0 <= unit <= 247:
            raise ConfigError.field(source, f"{where}.unit", unit, "a Modbus unit id in [0, 247]")
        devices.append(DeviceSpec(device_id, host, port, unit, tags))
    return TagMap(tuple(devices))


def _device_tags(
    dev: dict[str, Any], templates: dict[str, tuple[Tag, ...]], source: str, where: str
) -> tuple[Tag, ...]:
    if "template" in dev:
        name = dev["template"]
        if name not in templates:
            raise ConfigError.field(source, f"{where}.template", name, f"one of {sorted(templates)}")
        return templates[name]
    return _parse_tags(dev.get("tags"), source, f"{where}.tags")


def _parse_tags(doc: object, source: str, where: str) -> tuple[Tag, ...]:
    if not isinstance(doc, list) or not doc:
        raise ConfigError.field(source, where, doc, "a non-empty array of tag tables")
    tags = []
    names: set[str] = set()
    for i, t in enumerate(doc):
        at = f"{where}[{i}]"
        if not isinstance(t, dict):
            raise ConfigError.field(source, at, t, "a table")
        check_keys(t, _TAG_KEYS, source, at)
        fields = Table(t, source, at)
        metric = fields.require("metric", str, "a metric name")
        if not metric or metric.lower() in names:
            raise ConfigError.field(source, f"{at}.metric", metric, "a non-empty name unique per device")
        names.add(metric.lower())
        node = t.get("node")
        if node is not None and (not isinstance(node, str) or not node):
            raise ConfigError.field(source, f"{at}.node", node, "an OPC UA node id such as 'ns=2;s={device}.x'")
        register = (
            0
            if node is not None and "register" not in t
            else fields.require("register", int, "a register address in [0, 65535] (or an OPC UA node)")
        )
        if not 0 <= register <= 65535:
            raise ConfigError.field(source, f"{at}.register", register, "a register address in [0, 65535]")
        try:
            encoding = Encoding(t.get("encoding", "uint16"))
        except ValueError:
            raise ConfigError.field(source, f"{at}.encoding", t.get("encoding"), f"one of {_ENCODINGS}") from None
        try:
            datatype = DataType.from_name(str(t.get("datatype", "")))
        except SparkplugError:
            raise ConfigError.field(source, f"{at}.datatype", t.get("datatype"), f"one of {datatype_names()}") from None
        if datatype in (
            DataType.STRING,
            DataType.TEXT,
            DataType.UUID,
            DataType.BYTES,
            DataType.DATETIME,
            DataType.DATASET,
            DataType.TEMPLATE,
        ):
            raise ConfigError.field(source, f"{at}.datatype", t.get("datatype"), "a numeric or Boolean datatype")
        numbers = {}
        for key, default in (("scale", 1.0), ("offset", 0.0), ("deadband", 0.0)):
            value = t.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError.field(source, f"{at}.{key}", value, "a finite number")
            numbers[key] = float(value)
        if numbers["deadband"] < 0:
            raise ConfigError.field(source, f"{at}.deadband", numbers["deadband"], "a number >= 0")
        if numbers["scale"] == 0:  # every reading would be the offset, and a write could not be turned into raw
            raise ConfigError.field(source, f"{at}.scale", t.get("scale"), "a finite number other than 0")
        writable = t.get("writable", False)
        if not isinstance(writable, bool):
            raise ConfigError.field(source, f"{at}.writable", writable, "true or false")
        limits = _write_limits(t, writable, source, at)
        tags.append(Tag(metric, register, encoding, datatype, **numbers, node=node, writable=writable, **limits))
    return tuple(tags)


def _write_limits(t: dict[str, Any], writable: bool, source: str, at: str) -> dict[str, float]:
    """``min``/``max`` of a writable tag: both required, finite, ``min <= max``; refused on other tags."""
    if not writable:
        for key in ("min", "max"):
            if key in t:
                raise ConfigError.field(source, f"{at}.{key}", t[key], "no range on a tag that is not writable")
        return {}
    out = {}
    for key, name in (("min", "minimum"), ("max", "maximum")):
        value = t.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError.field(source, f"{at}.{key}", value, "a finite number (a writable tag needs min and max)")
        out[name] = float(value)
    if out["minimum"] > out["maximum"]:
        raise ConfigError.field(source, f"{at}.min", out["minimum"], f"a number <= max ({out['maximum']:g})")
    return out
