"""Sparkplug B topic namespace as validated value types (spec chapter "Topics", tck-id-topic-structure*).

``spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]`` and ``spBv1.0/STATE/<host_id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from twin_edge.errors import TopicError

NAMESPACE = "spBv1.0"
_FORBIDDEN = ("/", "+", "#")


class MessageType(StrEnum):
    NBIRTH = "NBIRTH"
    NDATA = "NDATA"
    NDEATH = "NDEATH"
    NCMD = "NCMD"
    DBIRTH = "DBIRTH"
    DDATA = "DDATA"
    DDEATH = "DDEATH"
    DCMD = "DCMD"

    @property
    def is_device(self) -> bool:
        return self.value.startswith("D")


def validate_id(kind: str, value: str) -> str:
    """Check a group/edge-node/device/host id (tck-id-topic-structure-namespace-valid-group-id and siblings)."""
    if not value or any(c in value for c in _FORBIDDEN):
        raise TopicError(f"{kind} {value!r} is invalid; expected a non-empty UTF-8 string without '/', '+', '#'")
    return value


@dataclass(frozen=True, slots=True)
class Topic:
    """An edge-node or device topic."""

    group_id: str
    message_type: MessageType
    edge_node_id: str
    device_id: str | None = None

    def __post_init__(self) -> None:
        validate_id("group_id", self.group_id)
        validate_id("edge_node_id", self.edge_node_id)
        if self.message_type.is_device:
            if self.device_id is None:
                raise TopicError(f"{self.message_type} topics need a device_id")
            validate_id("device_id", self.device_id)
        elif self.device_id is not None:
            raise TopicError(f"{self.message_type} topics must not have a device_id")

    def __str__(self) -> str:
        base = f"{NAMESPACE}/{self.group_id}/{self.message_type}/{self.edge_node_id}"
        return base if self.device_id is None else f"{base}/{self.device_id}"

    @property
    def node_key(self) -> tuple[str, str]:
        """(group_id, edge_node_id): unique per edge node in the infrastructure."""
        return (self.group_id, self.edge_node_id)


@dataclass(frozen=True, slots=True)
class StateTopic:
    """``spBv1.0/STATE/<host_id>``, the Primary Host Application's birth/death topic."""

    host_id: str

    def __post_init__(self) -> None:
        validate_id("host_id", self.host_id)

    def __str__(self) -> str:
        return f"{NAMESPACE}/STATE/{self.host_id}"


def parse_topic(text: str) -> Topic | StateTopic:
    """Parse a Sparkplug B topic string; raise :class:`TopicError` naming what is wrong."""
    parts = text.split("/")
    if len(parts) < 3 or parts[0] != NAMESPACE:
        raise TopicError(f"topic {text!r} is not a Sparkplug B topic; expected '{NAMESPACE}/<group>/<type>/<node>'")
    if parts[1] == "STATE":
        if len(parts) != 3:
            raise TopicError(f"topic {text!r} is invalid; expected '{NAMESPACE}/STATE/<host_id>'")
        return StateTopic(parts[2])
    if len(parts) not in (4, 5):
        raise TopicError(f"topic {text!r} has {len(parts)} levels; expected 4 or 5")
    try:
        message_type = MessageType(parts[2])
    except ValueError:
        valid = ", ".join(MessageType)
        raise TopicError(f"topic {text!r}: message type {parts[2]!r} is invalid; expected one of {valid}") from None
    return Topic(parts[1], message_type, parts[3], parts[4] if len(parts) == 5 else None)
