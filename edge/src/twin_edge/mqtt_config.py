"""The ``[mqtt]`` table of a config file, read into :class:`MqttSettings`: one parser for every file that has one.

The gateway's config (:mod:`twin_edge.config`) and the twin's service config (``twin serve --config``) both
hold an ``[mqtt]`` table with the same keys; both call :func:`read_mqtt_settings`, so a key means the same
thing, and is refused the same way, in either file::

    [mqtt]
    host = "broker.plant.local"
    port = 8883
    username = "twin"
    password_file = "mqtt.pass"        # or password = "..." (not both)
    [mqtt.tls]                         # or tls = true (system CAs)
    ca_file = "ca.crt"
    cert_file = "client.crt"           # mutual TLS: cert_file and key_file together
    key_file = "client.key"
    check_hostname = true

Files are relative to the config file's folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twin_edge.configfile import Table, check_keys, read_text
from twin_edge.errors import ConfigError
from twin_edge.mqtt_settings import MqttSettings, TlsSettings, tls_context

MQTT_KEYS = frozenset(
    {
        "host",
        "port",
        "client_id",
        "keepalive_s",
        "reconnect_min_s",
        "reconnect_max_s",
        "username",
        "password",
        "password_file",
        "tls",
    }
)
TLS_KEYS = frozenset({"ca_file", "cert_file", "key_file", "check_hostname"})


def read_mqtt_settings(table: Mapping[str, Any], source: str, base: Path, section: str = "mqtt") -> MqttSettings:
    """``table`` (the file's ``[mqtt]``) as settings; any unknown or invalid key is a :class:`ConfigError`."""
    check_keys(table, MQTT_KEYS, source, section)
    field = Table(table, source, section)
    settings = MqttSettings(
        host=field.get("host", str, "127.0.0.1", "a host name or IP address"),
        port=field.get("port", int, 1883, "a TCP port in [1, 65535]", lambda v: 1 <= v <= 65535),
        client_id=field.get("client_id", str, None, "a client id string"),
        keepalive_s=field.get("keepalive_s", int, 10, "an integer >= 1", lambda v: v >= 1),
        reconnect_min_s=field.number("reconnect_min_s", 0.5, "a number > 0", lambda v: v > 0),
        reconnect_max_s=field.number("reconnect_max_s", 5.0, "a number > 0", lambda v: v > 0),
        username=field.get("username", str, None, "a user name string"),
        password=_password(field, base),
        tls=_tls(table.get("tls"), source, section, base),
    )
    if settings.password is not None and settings.username is None:
        raise ConfigError.field(source, f"{section}.username", None, "a user name when a password is given")
    return settings


def _password(field: Table, base: Path) -> str | None:
    password = field.get("password", str, None, "a password string")
    name = field.get("password_file", str, None, "the path of a file holding the password")
    if name is None:
        return password
    label = field.label("password_file")
    if password is not None:
        raise field.invalid("password_file", name, f"either {field.label('password')} or {label}")
    try:
        return read_text(base / name, ConfigError, max_bytes=4096, what="password file").strip()
    except ConfigError as exc:
        raise field.invalid("password_file", name, f"a readable UTF-8 file ({exc})") from None


def _tls(value: Any, source: str, section: str, base: Path) -> TlsSettings | None:
    if value is None or value is False:
        return None
    if value is True:
        return TlsSettings()
    label = f"{section}.tls"
    if not isinstance(value, Mapping):
        raise ConfigError.field(source, label, value, f"true, false or a table [{label}]")
    check_keys(value, TLS_KEYS, source, label)
    field = Table(value, source, label)

    def file(key: str) -> Path | None:
        name = field.get(key, str, None, "a file path")
        if name is None:
            return None
        path = base / name
        if not path.is_file():
            raise ConfigError.field(source, f"{label}.{key}", name, "an existing file (relative to the config)")
        return path

    check = value.get("check_hostname")
    if check is not None and not isinstance(check, bool):
        raise ConfigError.field(source, f"{label}.check_hostname", check, "true or false")
    tls = TlsSettings(file("ca_file"), file("cert_file"), file("key_file"), True if check is None else check)
    if (tls.cert_file is None) != (tls.key_file is None):
        raise ConfigError.field(source, f"{label}.key_file", None, "cert_file and key_file together (or neither)")
    try:
        tls_context(tls)  # the files must hold what they claim (PEM CA, certificate matching its key)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return tls
