"""How to reach and authenticate to an MQTT broker: one value type for the gateway and the twin's host.

Security (issue 9): username/password, and TLS with a CA file (or the system's CAs), an optional client
certificate and key, and the server host-name check (on by default; turning it off is for test rigs only).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from twin_edge.errors import ConfigError


@dataclass(frozen=True, slots=True)
class TlsSettings:
    ca_file: Path | None = None  # None: the system's CA store
    cert_file: Path | None = None  # client certificate (mutual TLS); needs key_file
    key_file: Path | None = None
    check_hostname: bool = True


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str | None = None
    keepalive_s: int = 10
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 5.0
    username: str | None = None
    password: str | None = None
    tls: TlsSettings | None = None

    def __repr__(self) -> str:  # never print a password into a log
        secret = None if self.password is None else "***"
        return (
            f"MqttSettings(host={self.host!r}, port={self.port}, client_id={self.client_id!r}, "
            f"username={self.username!r}, password={secret!r}, tls={self.tls!r})"
        )


def tls_context(tls: TlsSettings) -> ssl.SSLContext:
    """An SSL context for ``tls``; a missing or unreadable file is a :class:`ConfigError` naming it."""
    try:
        context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.cert_file is not None:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    except (OSError, ssl.SSLError) as exc:
        files = ", ".join(str(f) for f in (tls.ca_file, tls.cert_file, tls.key_file) if f is not None)
        raise ConfigError(f"mqtt.tls: cannot load {files or 'the system CA store'}: {exc}") from None
    context.check_hostname = tls.check_hostname
    return context
