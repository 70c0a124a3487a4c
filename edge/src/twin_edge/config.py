"""Gateway configuration file (TOML), validated once into an immutable object.

Example (see ``edge/README.md``)::

    tag_map = "tagmap.toml"            # relative to this file

    [mqtt]
    host = "127.0.0.1"
    port = 1883

    [sparkplug]
    group_id = "potline1"
    edge_node_id = "gw01"
    primary_host_id = "twin"           # optional: wait for this host's STATE before publishing

    [poll]
    period_s = 1.0

    [store]
    path = "gw01-store.sqlite"         # store-and-forward buffer and persisted bdSeq
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin_edge.errors import ConfigError, SparkplugError
from twin_edge.mqtt_config import MQTT_KEYS, TLS_KEYS, read_mqtt_settings
from twin_edge.mqtt_settings import MqttSettings
from twin_edge.sparkplug.topic import validate_id
from twin_edge.tagmap import TagMap, load_tag_map


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    group_id: str
    edge_node_id: str
    tag_map: TagMap
    store_path: Path
    mqtt: MqttSettings = MqttSettings()  # noqa: RUF009 (frozen, immutable)
    primary_host_id: str | None = None
    poll_period_s: float = 1.0
    poll_timeout_s: float = 0.5
    max_stored_records: int = 5_000_000
    replay_batch: int = 500
    resend_window_s: float = 17.0
    rebirth_min_interval_s: float = 3.0


# Every key a gateway config may hold; anything else is refused with the file, the key and these.
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "": frozenset({"tag_map", "mqtt", "sparkplug", "poll", "store"}),
    "mqtt": MQTT_KEYS,
    "mqtt.tls": TLS_KEYS,
    "sparkplug": frozenset({"group_id", "edge_node_id", "primary_host_id", "rebirth_min_interval_s"}),
    "poll": frozenset({"period_s", "timeout_s"}),
    "store": frozenset({"path", "max_records", "replay_batch", "resend_window_s"}),
}


def check_known_keys(doc: dict[str, Any], source: str, known: dict[str, frozenset[str]], prefix: str = "") -> None:
    """Raise :class:`ConfigError` for the first key of ``doc`` (or of its known sub-tables) not in ``known``."""
    allowed = known[prefix]
    for key, value in doc.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in allowed:
            raise ConfigError(
                f"{source}: unknown key {dotted!r}; known keys{' in [' + prefix + ']' if prefix else ''}: "
                f"{', '.join(sorted(allowed))}"
            )
        if dotted in known:
            if isinstance(value, dict):
                check_known_keys(value, source, known, dotted)
            elif dotted != "mqtt.tls":  # ``tls = true`` is allowed (system CAs)
                raise ConfigError.field(source, dotted, value, f"a table [{dotted}]")


def load_config(path: Path) -> GatewayConfig:
    """Read a gateway config file and its tag map; raise :class:`ConfigError` on any invalid field."""
    source = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    base = path.parent
    check_known_keys(doc, source, KNOWN_KEYS)
    reader = _Reader(doc, source)
    mqtt = read_mqtt_settings(doc.get("mqtt", {}), source, base)
    group_id = reader.sparkplug_id("sparkplug.group_id", required=True)
    edge_node_id = reader.sparkplug_id("sparkplug.edge_node_id", required=True)
    primary = reader.sparkplug_id("sparkplug.primary_host_id", required=False)
    tag_map_name = reader.get("tag_map", str, None, "the path of a tag-map TOML file")
    if tag_map_name is None:
        raise ConfigError.field(source, "tag_map", None, "the path of a tag-map TOML file")
    store_name = reader.get("store.path", str, f"{edge_node_id}-store.sqlite", "a file path")
    return GatewayConfig(
        group_id=group_id,  # type: ignore[arg-type]
        edge_node_id=edge_node_id,  # type: ignore[arg-type]
        tag_map=load_tag_map(base / tag_map_name),
        store_path=base / store_name,
        mqtt=mqtt,
        primary_host_id=primary,
        poll_period_s=reader.number("poll.period_s", 1.0, "a number in (0, 3600]", lambda v: 0 < v <= 3600),
        poll_timeout_s=reader.number("poll.timeout_s", 0.5, "a number > 0", lambda v: v > 0),
        max_stored_records=reader.get("store.max_records", int, 5_000_000, "an integer >= 1", lambda v: v >= 1),
        replay_batch=reader.get("store.replay_batch", int, 500, "an integer >= 1", lambda v: v >= 1),
        resend_window_s=reader.number(
            "store.resend_window_s", 1.5 * mqtt.keepalive_s + 2.0, "a number >= 0", lambda v: v >= 0
        ),
        rebirth_min_interval_s=reader.number(
            "sparkplug.rebirth_min_interval_s", 3.0, "a number in [0, 3600]", lambda v: 0 <= v <= 3600
        ),
    )


class _Reader:
    def __init__(self, doc: dict[str, Any], source: str) -> None:
        self._doc = doc
        self._source = source

    def lookup(self, dotted: str) -> Any:
        return self._lookup(dotted)

    def _lookup(self, dotted: str) -> Any:
        node: Any = self._doc
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def get(self, dotted: str, kind: type, default: Any, valid: str, check: Any = None) -> Any:
        value = self._lookup(dotted)
        if value is None:
            return default
        if not isinstance(value, kind) or isinstance(value, bool) or (check is not None and not check(value)):
            raise ConfigError.field(self._source, dotted, value, valid)
        return value

    def number(self, dotted: str, default: float, valid: str, check: Any) -> float:
        value = self._lookup(dotted)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not check(value):
            raise ConfigError.field(self._source, dotted, value, valid)
        return float(value)

    def sparkplug_id(self, dotted: str, *, required: bool) -> str | None:
        value = self._lookup(dotted)
        valid = "a non-empty string without '/', '+', '#'"
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise ConfigError.field(self._source, dotted, value, valid)
        try:
            return validate_id(dotted, value)
        except SparkplugError:
            raise ConfigError.field(self._source, dotted, value, valid) from None
