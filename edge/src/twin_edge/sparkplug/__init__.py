"""Sparkplug B 3.0 codec: payloads, topics, datatypes, seq/bdSeq arithmetic and STATE messages (pure functions)."""

from twin_edge.sparkplug.datatypes import DataType, Value
from twin_edge.sparkplug.payload import Metric, Payload, decode_payload, encode_payload, resolve_value
from twin_edge.sparkplug.sequence import SEQ_MODULUS, next_bdseq, next_seq, seq_distance
from twin_edge.sparkplug.state import HostState, decode_state
from twin_edge.sparkplug.topic import NAMESPACE, MessageType, StateTopic, Topic, parse_topic, validate_id

BDSEQ_METRIC = "bdSeq"
REBIRTH_METRIC = "Node Control/Rebirth"

__all__ = [
    "BDSEQ_METRIC",
    "NAMESPACE",
    "REBIRTH_METRIC",
    "SEQ_MODULUS",
    "DataType",
    "HostState",
    "MessageType",
    "Metric",
    "Payload",
    "StateTopic",
    "Topic",
    "Value",
    "decode_payload",
    "decode_state",
    "encode_payload",
    "next_bdseq",
    "next_seq",
    "parse_topic",
    "resolve_value",
    "seq_distance",
    "validate_id",
]
