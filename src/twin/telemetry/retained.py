"""Which Sparkplug messages may not arrive retained, and the requirement that says so.

Sparkplug publishes NBIRTH, DBIRTH, NDATA, DDATA, NDEATH, DDEATH, NCMD and DCMD with the MQTT retain flag false
(tck-id-payloads-nbirth-retain, -dbirth-retain, -ndata-retain, -ddata-retain,
tck-id-payloads-ndeath-will-message-retain, tck-id-topics-ddeath-mqtt, tck-id-payloads-ncmd-retain,
-dcmd-retain). A broker keeps a message published retained anyway and replays it, retain flag set, to every new
subscriber, the host after each (re)connect included: stale data that would be applied as new, or a birth that
re-births a node which may be dead. :class:`twin.telemetry.host.SparkplugHost` refuses such a message before it
is queued, counts it (``retained_refused``) and logs once per topic; the node's live messages beside it are
applied as ever (a DATA without a birth asks for a rebirth). A retained publish that reaches a subscriber already
there comes with the retain flag clear (MQTT 3.1.1 §3.3.1.3; Mosquitto 2.0 does so) and is applied as the live
message it is. STATE is retained by design (:mod:`twin.telemetry.host_state`).
"""

from __future__ import annotations

#: The message types Sparkplug publishes with the MQTT retain flag false, and the requirement that says so.
NO_RETAIN = {
    "NBIRTH": "tck-id-payloads-nbirth-retain",
    "DBIRTH": "tck-id-payloads-dbirth-retain",
    "NDATA": "tck-id-payloads-ndata-retain",
    "DDATA": "tck-id-payloads-ddata-retain",
    "NDEATH": "tck-id-payloads-ndeath-will-message-retain",
    "DDEATH": "tck-id-topics-ddeath-mqtt",
    "NCMD": "tck-id-payloads-ncmd-retain",
    "DCMD": "tck-id-payloads-dcmd-retain",
}


def retain_forbidden(topic: str) -> str | None:
    """The requirement a retained message on ``topic`` breaks (:data:`NO_RETAIN`); None for STATE (retained by
    design) and for what is not a Sparkplug message topic (left to the worker's topic check)."""
    parts = topic.split("/", 3)
    if len(parts) < 4 or parts[0] != "spBv1.0":
        return None
    return NO_RETAIN.get(parts[2])
