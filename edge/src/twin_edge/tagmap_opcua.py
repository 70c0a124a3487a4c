"""OPC UA devices in a tag map (``protocol = "opcua"``).

```toml
[[devices]]
id = "pot_001"
protocol = "opcua"
endpoint = "opc.tcp://10.1.2.31:4840/twin/"
security = "Basic256Sha256"        # or "None" (a test rig only); default Basic256Sha256
security_mode = "SignAndEncrypt"   # or "Sign"
client_cert = "gw01.der"           # this gateway's application certificate and key (relative to the tag map)
client_key = "gw01.pem"
server_cert = "plc.der"            # optional: pin the server's certificate
username = "gw01"                  # user name login (password or password_file)
password_file = "gw01.opcua-password"
template = "pot"                   # tags with node = "ns=2;s={device}.cell_voltage_V" ...
```
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from twin_edge.configfile import read_text
from twin_edge.errors import ConfigError

OPCUA_DEVICE_KEYS = frozenset(
    {
        "endpoint",
        "security",
        "security_mode",
        "client_cert",
        "client_key",
        "server_cert",
        "username",
        "password",
        "password_file",
    }
)


def parse_opcua_device(
    dev: dict[str, Any], device_id: str, tags: tuple[Any, ...], source: str, where: str, base: Path
) -> Any:
    from twin_edge.opcua import OpcUaSecurity
    from twin_edge.tagmap import DeviceSpec

    endpoint = dev.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith("opc.tcp://"):
        raise ConfigError.field(source, f"{where}.endpoint", endpoint, "an OPC UA endpoint 'opc.tcp://host:port/...'")
    resolved = []
    for k, tag in enumerate(tags):
        if tag.node is None:
            raise ConfigError.field(source, f"{where}.tags[{k}].node", None, "an OPC UA node id for an OPC UA device")
        resolved.append(dataclasses.replace(tag, node=tag.node.replace("{device}", device_id)))
    security = dev.get("security", "Basic256Sha256")
    if security not in ("Basic256Sha256", "None"):
        raise ConfigError.field(source, f"{where}.security", security, "'Basic256Sha256' or 'None'")
    settings = None
    if security == "Basic256Sha256":
        mode = dev.get("security_mode", "SignAndEncrypt")
        if mode not in ("Sign", "SignAndEncrypt"):
            raise ConfigError.field(source, f"{where}.security_mode", mode, "'Sign' or 'SignAndEncrypt'")

        def file(key: str, required: bool) -> Path | None:
            name = dev.get(key)
            if name is None and not required:
                return None
            if not isinstance(name, str) or not (base / name).is_file():
                raise ConfigError.field(source, f"{where}.{key}", name, "an existing file (relative to the tag map)")
            return base / name

        username, password = dev.get("username"), dev.get("password")
        if username is not None and not isinstance(username, str):
            raise ConfigError.field(source, f"{where}.username", username, "a user name string")
        if "password_file" in dev:
            path = file("password_file", True)
            assert path is not None
            password = read_text(path, ConfigError, max_bytes=4096, what="password file").strip()
        if password is not None and (not isinstance(password, str) or username is None):
            raise ConfigError.field(source, f"{where}.password", "***", "a string, with a username")
        settings = OpcUaSecurity(
            file("client_cert", True),
            file("client_key", True),
            file("server_cert", False),
            mode,
            username,
            password,  # type: ignore[arg-type]
        )
    return DeviceSpec(device_id, "", 0, 0, tuple(resolved), "opcua", endpoint, settings)
