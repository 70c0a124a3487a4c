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

from dataclasses import dataclass
from pathlib import Path

from twin_edge.configfile import TOP, Key, Schema, invalid
from twin_edge.configfile import load_config as load_settings
from twin_edge.errors import ConfigError, SparkplugError
from twin_edge.mqtt_config import MQTT_KEYS, read_mqtt_settings
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


def _sparkplug_id(value: str) -> bool:
    try:
        validate_id("id", value)
    except SparkplugError:
        return False
    return True


SPARKPLUG_ID = Key(str, "a non-empty string without '/', '+', '#'", _sparkplug_id)
NUMBER = (int, float)
# Every key a gateway config may hold; anything else is refused with the file, the key and the known keys.
SCHEMA: Schema = {
    TOP: {"tag_map": Key(str, "the path of a tag-map TOML file")},
    "mqtt": {name: Key() for name in MQTT_KEYS},  # checked by twin_edge.mqtt_config
    "sparkplug": {"group_id": SPARKPLUG_ID, "edge_node_id": SPARKPLUG_ID, "primary_host_id": SPARKPLUG_ID,
                  "rebirth_min_interval_s": Key(NUMBER, "a number in [0, 3600]", lambda v: 0 <= v <= 3600)},
    # 10 ms at the least: a timeout of 1e-9 s failed every read at once, and with such a period the loop spun
    "poll": {"period_s": Key(NUMBER, "a number of seconds in [0.01, 3600]", lambda v: 0.01 <= v <= 3600),
             "timeout_s": Key(NUMBER, "a number of seconds in [0.01, 60]", lambda v: 0.01 <= v <= 60)},
    "store": {"path": Key(str, "a file path"),
              "max_records": Key(int, "an integer >= 1", lambda v: v >= 1),
              "replay_batch": Key(int, "an integer >= 1", lambda v: v >= 1),
              "resend_window_s": Key(NUMBER, "a number of seconds in [0, 86400]", lambda v: 0 <= v <= 86400)},
}


def load_config(path: Path) -> GatewayConfig:
    """Read a gateway config file and its tag map; raise :class:`ConfigError` on any invalid field."""
    source = str(path)
    doc = load_settings(path, SCHEMA, ConfigError)
    base = path.parent
    mqtt = read_mqtt_settings(doc["mqtt"], source, base)
    sparkplug, poll, store = doc["sparkplug"], doc["poll"], doc["store"]
    for key in ("group_id", "edge_node_id"):
        if key not in sparkplug:
            raise invalid(ConfigError, source, f"sparkplug.{key}", None, SPARKPLUG_ID.valid)
    tag_map_name = doc[TOP].get("tag_map")
    if tag_map_name is None:
        raise invalid(ConfigError, source, "tag_map", None, "the path of a tag-map TOML file")
    edge_node_id = sparkplug["edge_node_id"]
    return GatewayConfig(
        group_id=sparkplug["group_id"],
        edge_node_id=edge_node_id,
        tag_map=load_tag_map(base / tag_map_name),
        store_path=base / store.get("path", f"{edge_node_id}-store.sqlite"),
        mqtt=mqtt,
        primary_host_id=sparkplug.get("primary_host_id"),
        poll_period_s=float(poll.get("period_s", 1.0)),
        poll_timeout_s=float(poll.get("timeout_s", 0.5)),
        max_stored_records=store.get("max_records", 5_000_000),
        replay_batch=store.get("replay_batch", 500),
        resend_window_s=float(store.get("resend_window_s", 1.5 * mqtt.keepalive_s + 2.0)),
        rebirth_min_interval_s=float(sparkplug.get("rebirth_min_interval_s", 3.0)),
    )
