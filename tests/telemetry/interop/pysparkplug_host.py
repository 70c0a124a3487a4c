"""A Sparkplug B host (subscriber) written with a third-party library (pysparkplug 0.6.1, PyPI), run in its own
venv (.venv-interop) by tests/telemetry/test_interop_pysparkplug.py against the twin's edge gateway.

Usage: python pysparkplug_host.py PORT GROUP SECONDS
Subscribes to spBv1.0/GROUP/#, decodes every message with pysparkplug and prints one JSON line per message:
{"type", "node", "device", "seq", "metrics": [[name, datatype, value, timestamp], ...]}; a message it cannot
decode is printed as {"error": ...}. Stops after SECONDS.
"""

from __future__ import annotations

import json
import sys
import time

from pysparkplug import MULTI_LEVEL_WILDCARD, Client, QoS, Topic


def main() -> None:
    port, group, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    client = Client(client_id=f"pysparkplug-host-{group}")

    def on_message(_client: Client, message) -> None:
        payload = message.payload
        metrics = [
            [m.name, m.datatype.name, m.value if not isinstance(m.value, bytes) else m.value.hex(), m.timestamp]
            for m in getattr(payload, "metrics", ())
        ]
        line = {
            "type": str(message.topic.message_type),
            "node": message.topic.edge_node_id,
            "device": message.topic.device_id,
            "seq": getattr(payload, "seq", None),
            "metrics": metrics,
        }
        print(json.dumps(line, default=str), flush=True)

    client.subscribe(Topic(group_id=group, message_type=MULTI_LEVEL_WILDCARD), QoS.AT_LEAST_ONCE, on_message)
    client.connect("127.0.0.1", port=port)
    print(json.dumps({"ready": True}), flush=True)
    time.sleep(seconds)
    client.disconnect()


if __name__ == "__main__":
    main()
