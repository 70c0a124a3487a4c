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

[api]                                     # twin.api.settings.Settings fields
open_access = false
```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.api.settings import Settings
from twin.errors import TwinError, field_error
from twin.params.validate import read_toml
from twin.service.chain import ChainConfig

SECTIONS = {"store": {"url"}, "mqtt": {"host", "port"}, "sparkplug": {"host_id"},
            "live": {"technology", "speed", "potlines"}, "api": set(Settings.model_fields)}


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
    config.potlines = dict(potlines)
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
