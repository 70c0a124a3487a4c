"""STATE payloads of a (Primary) Host Application: JSON ``{"online": bool, "timestamp": <ms UTC>}``.

Spec: tck-id-host-topic-phid-birth-payload, tck-id-host-topic-phid-death-payload.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from twin_edge.errors import SparkplugError


@dataclass(frozen=True, slots=True)
class HostState:
    online: bool
    timestamp: int

    def encode(self) -> bytes:
        return json.dumps({"online": self.online, "timestamp": self.timestamp}).encode()


def decode_state(payload: bytes) -> HostState:
    try:
        doc = json.loads(payload)
        online, timestamp = doc["online"], doc["timestamp"]
    except (ValueError, TypeError, KeyError) as exc:
        raise SparkplugError(f"STATE payload {payload[:80]!r} is invalid: {exc}") from None
    if not isinstance(online, bool) or isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise SparkplugError(f"STATE payload {payload[:80]!r} needs a boolean 'online' and an integer 'timestamp'")
    return HostState(online, timestamp)
