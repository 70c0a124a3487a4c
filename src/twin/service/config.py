"""``twin serve --config FILE``: the service settings file (TOML).

```toml
[store]
url = "duckdb://.twin/store.duckdb"       # relative; duckdb:///abs/path; or postgresql://postgres@127.0.0.1/twin?schema=twin

[mqtt]
host = "127.0.0.1"
port = 1883

[sparkplug]
host_id = "twin"                          # the primary host id the edge gateways wait for

[live]
technology = "models/hal275.toml"
speed = 1.0                               # model seconds per wall second (1 = real time)
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.api.settings import Settings
from twin.errors import TwinError, field_error
from twin.params.validate import read_toml

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class ChainConfig:
    """What to run. Paths are resolved against the repository root when relative."""

    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    store_url: str = "duckdb://.twin/store.duckdb"  # duckdb://relative/path or duckdb:///absolute/path
    technology: str = "models/hal275.toml"
    potlines: dict[str, int] = field(default_factory=lambda: {"potline1": 24})
    host_id: str = "twin"
    speed: float = 1.0  # model seconds per wall second (simulated plant and live twin clocks)
    api: Settings = field(default_factory=Settings)
    simulate_plant: bool = False  # start plant-backed simulated PLCs and an edge gateway too
    seed: int = 1
    kpi_period_s: float = 10.0
    work_dir: Path | None = None
    what_if_plant: str = "plant_reference"  # catalogue id of the plant of from-live what-ifs
    what_if_horizon_h: float = 24.0
    power_plant: str | None = None  # plant file whose power system is dispatched for the live load
    catalogue: str | None = None  # a directory of more plant/technology files for scenario jobs
    max_horizon_h: float = 744.0  # longest scenario job accepted over HTTP


def resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() or p.exists() else ROOT / p


GROUP_RE = re.compile(r"^potline[1-9][0-9]{0,2}$")
SECTIONS = {"store": {"url"}, "mqtt": {"host", "port"}, "sparkplug": {"host_id"},
            "live": {"technology", "speed", "potlines"}, "scenarios": {"catalogue", "max_horizon_h"},
            "api": set(Settings.model_fields)}


def load_service_config(path: str | Path) -> ChainConfig:
    """Read and validate a service settings file; errors name the file, the key and the value."""
    path = Path(path)
    origin = str(path)
    doc = read_toml(path, TwinError)
    for section, table in doc.items():
        if section not in SECTIONS:
            raise TwinError(f"{origin}: unknown section [{section}]; valid: {', '.join(SECTIONS)}")
        if not isinstance(table, Mapping):
            raise field_error(TwinError, origin, section, table, "a table")
        for key in table:
            if key not in SECTIONS[section]:
                raise TwinError(f"{origin}: unknown key {section}.{key}; known: {', '.join(sorted(SECTIONS[section]))}")
    config = ChainConfig()
    store, mqtt, spb, live = (doc.get(k, {}) for k in ("store", "mqtt", "sparkplug", "live"))
    config.store_url = _typed(store, "url", str, config.store_url, origin, "store")
    config.broker_host = _typed(mqtt, "host", str, config.broker_host, origin, "mqtt")
    config.broker_port = _typed(mqtt, "port", int, config.broker_port, origin, "mqtt")
    if not 1 <= config.broker_port <= 65535:
        raise field_error(TwinError, origin, "mqtt.port", config.broker_port, "a port in [1, 65535]")
    config.host_id = _typed(spb, "host_id", str, config.host_id, origin, "sparkplug")
    config.technology = _typed(live, "technology", str, config.technology, origin, "live")
    config.speed = float(_typed(live, "speed", (int, float), config.speed, origin, "live"))
    if not config.speed > 0:
        raise field_error(TwinError, origin, "live.speed", config.speed, "a number > 0")
    potlines = live.get("potlines", config.potlines)
    if not isinstance(potlines, Mapping) or not potlines or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1000 for v in potlines.values()
    ):
        raise field_error(TwinError, origin, "live.potlines", potlines, "a table of group id = cells in [1, 1000]")
    for group in potlines:
        if not GROUP_RE.match(group):
            raise field_error(TwinError, origin, f"live.potlines.{group}", group,
                              "a Sparkplug group id potline<N> with N in [1, 999], e.g. potline1 (the API names "
                              "the potline by N: potline:1, cell:1-017)")
    config.potlines = dict(potlines)
    scenarios = doc.get("scenarios", {})
    if "catalogue" in scenarios:
        folder = Path(_typed(scenarios, "catalogue", str, "", origin, "scenarios"))
        folder = folder if folder.is_absolute() else path.parent / folder
        if not folder.is_dir():
            raise field_error(TwinError, origin, "scenarios.catalogue", str(folder), "a directory of model files")
        config.catalogue = str(folder)
    config.max_horizon_h = float(_typed(scenarios, "max_horizon_h", (int, float), config.max_horizon_h, origin,
                                        "scenarios"))
    if not 0 < config.max_horizon_h <= 8784:
        raise field_error(TwinError, origin, "scenarios.max_horizon_h", config.max_horizon_h,
                          "a number of hours in (0, 8784]")
    try:
        config.api = Settings.model_validate(doc.get("api", {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise field_error(TwinError, origin, f"api.{first['loc'][0]}", first.get("input"), first["msg"]) from None
    return config


def _typed(table: Mapping[str, Any], key: str, kind: Any, default: Any, origin: str, section: str) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = getattr(kind, "__name__", "a number")
        raise field_error(TwinError, origin, f"{section}.{key}", value, f"a value of type {expected}")
    return value
