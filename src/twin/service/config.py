"""``twin serve --config FILE``: the service settings file (TOML).

```toml
[store]
url = "duckdb://.twin/store.duckdb"       # relative; duckdb:///abs/path; or postgresql://postgres@127.0.0.1/twin?schema=twin

[mqtt]                                    # the same keys as the edge gateway's [mqtt] (twin_edge.mqtt_config)
host = "127.0.0.1"
port = 1883
# username = "twin"
# password_file = "mqtt.pass"             # relative to this file; or password = "..."
# tls = true                              # or a table [mqtt.tls] with ca_file, cert_file, key_file, check_hostname

[sparkplug]
host_id = "twin"                          # the primary host id the edge gateways wait for

[live]
technology = "models/hal275.toml"
speed = 1.0                               # model seconds per wall second, (0, 3600] (1 = real time)
filter_threads = 2                        # threads of the ensemble forecast (1-8; same result; default 1)
timezone = "Asia/Shanghai"                # the plant's IANA time zone for the dashboard's local time (optional)
power_plant = "plant.toml"                # plant file whose units, grid tie and rectifiers are dispatched for the
                                          # live load and listed as assets (optional; relative to this file)
[live.potlines]                           # Sparkplug group id = number of cells
potline1 = 352

[scenarios]                               # what-if jobs submitted over HTTP
catalogue = "/etc/twin/models"            # more plant and technology files, named by id (file stem)
max_horizon_h = 744                       # longest job horizon accepted

[api]                                     # twin.api.settings.Settings fields
open_access = false
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from twin.api.settings import Settings
from twin.cell.potline import MAX_THREADS
from twin.errors import TwinError, field_error
from twin.speed import SPEED_RANGE, valid_speed
from twin_edge.config import SPARKPLUG_ID
from twin_edge.configfile import Key, Schema, load_config
from twin_edge.errors import ConfigError
from twin_edge.mqtt_config import MQTT_KEYS, read_mqtt_settings
from twin_edge.mqtt_settings import MqttSettings

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class ChainConfig:
    """What to run. Paths are resolved against the repository root when relative."""

    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    mqtt: MqttSettings | None = None  # credentials and TLS from [mqtt]; None: anonymous plain TCP
    store_url: str = "duckdb://.twin/store.duckdb"  # duckdb://relative/path or duckdb:///absolute/path
    technology: str = "models/hal275.toml"
    potlines: dict[str, int] = field(default_factory=lambda: {"potline1": 24})
    host_id: str = "twin"
    speed: float = 1.0  # model seconds per wall second (simulated plant and live twin clocks)
    timezone: str | None = None  # the plant's IANA time zone (dashboard local time); None: the browser's
    api: Settings = field(default_factory=Settings)
    simulate_plant: bool = False  # start plant-backed simulated PLCs and an edge gateway too
    seed: int = 1
    kpi_period_s: float = 10.0
    work_dir: Path | None = None
    what_if_plant: str = "plant_reference"  # catalogue id of the plant of from-live what-ifs
    what_if_horizon_h: float = 24.0
    power_plant: str | None = None  # plant file whose power system is dispatched for the live load
    filter_threads: int = 1  # threads of the live twin's ensemble forecast (FilterConfig.threads; same result)
    catalogue: str | None = None  # a directory of more plant/technology files for scenario jobs
    max_horizon_h: float = 744.0  # longest scenario job accepted over HTTP


def resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() or p.exists() else ROOT / p


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


MAX_CELLS_PER_POTLINE = 1000  # a simulated PLC (its own Modbus server) per pot in `twin demo`
GROUP_RE = re.compile(r"^potline[1-9][0-9]{0,2}$")
TEXT = Key(str)
SCHEMA: Schema = {
    "store": {"url": TEXT},
    "mqtt": {name: Key() for name in MQTT_KEYS},  # checked by twin_edge.mqtt_config below
    "sparkplug": {"host_id": SPARKPLUG_ID},
    "live": {"technology": TEXT, "speed": Key((int, float), SPEED_RANGE, valid_speed),
             "timezone": Key(str, "an IANA time zone name, e.g. Asia/Shanghai or Europe/Oslo", _is_timezone),
             "power_plant": TEXT,
             "filter_threads": Key(int, f"an integer in [1, {MAX_THREADS}]",
                                   lambda v: not isinstance(v, bool) and 1 <= v <= MAX_THREADS),
             "potlines": Key(dict, f"a table of group id = cells in [1, {MAX_CELLS_PER_POTLINE}]",
                             lambda v: bool(v) and all(isinstance(n, int) and not isinstance(n, bool)
                                                       and 1 <= n <= MAX_CELLS_PER_POTLINE for n in v.values()))},
    "scenarios": {"catalogue": TEXT,
                  "max_horizon_h": Key((int, float), "a number of hours in (0, 8784]", lambda v: 0 < v <= 8784)},
    "api": {name: Key() for name in Settings.model_fields},  # checked by Settings below
}


def load_service_config(path: str | Path) -> ChainConfig:
    """Read and validate a service settings file; errors name the file, the key and the value."""
    path = Path(path)
    origin = str(path)
    doc = load_config(path, SCHEMA, TwinError)
    config = ChainConfig()
    config.store_url = doc["store"].get("url", config.store_url)
    try:
        config.mqtt = read_mqtt_settings(doc["mqtt"], origin, path.parent)
    except ConfigError as exc:
        raise TwinError(str(exc)) from None
    config.broker_host, config.broker_port = config.mqtt.host, config.mqtt.port
    config.host_id = doc["sparkplug"].get("host_id", config.host_id)
    live = doc["live"]
    config.technology = live.get("technology", config.technology)
    if not resolve(config.technology).is_file():
        raise field_error(TwinError, origin, "live.technology", config.technology,
                          "a technology file (TOML, e.g. models/hal275.toml), absolute, or relative to the working "
                          "directory or the repository")
    config.speed = float(live.get("speed", config.speed))
    config.timezone = live.get("timezone", config.timezone)
    config.filter_threads = live.get("filter_threads", config.filter_threads)
    if "power_plant" in live:
        plant_file = Path(live["power_plant"])
        plant_file = plant_file if plant_file.is_absolute() else path.parent / plant_file
        if not plant_file.is_file():
            raise field_error(TwinError, origin, "live.power_plant", live["power_plant"],
                              "a plant file (TOML, e.g. models/plant_reference.toml), absolute or relative to this "
                              "file")
        config.power_plant = str(plant_file)
    potlines = live.get("potlines", config.potlines)
    for group in potlines:
        if not GROUP_RE.fullmatch(group):
            shown = group if group.isprintable() else repr(group)  # the message stays on one line
            raise field_error(TwinError, origin, f"live.potlines.{shown}", group,
                              "a Sparkplug group id potline<N> with N in [1, 999], e.g. potline1 (the API names "
                              "the potline by N: potline:1, cell:1-017)")
    config.potlines = dict(potlines)
    scenarios = doc["scenarios"]
    if "catalogue" in scenarios:
        folder = Path(scenarios["catalogue"])
        folder = folder if folder.is_absolute() else path.parent / folder
        if not folder.is_dir():
            raise field_error(TwinError, origin, "scenarios.catalogue", str(folder), "a directory of model files")
        config.catalogue = str(folder)
    config.max_horizon_h = float(scenarios.get("max_horizon_h", config.max_horizon_h))
    try:
        config.api = Settings.model_validate(doc["api"])
    except ValidationError as exc:
        first = exc.errors()[0]
        raise field_error(TwinError, origin, f"api.{first['loc'][0]}", first.get("input"), first["msg"]) from None
    return config

