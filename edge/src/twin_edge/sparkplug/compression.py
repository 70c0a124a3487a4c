"""Compressed Sparkplug B payloads (spec "Payloads": the ``algorithm`` metric, as Eclipse Tahu implements it).

A compressed payload is a wrapper: ``uuid = "SPBV1.0_COMPRESSED"``, ``body`` = the whole encoded payload
compressed, ``seq`` copied from it, and a String metric ``algorithm`` = ``"DEFLATE"`` (zlib stream; the default
when the metric is missing) or ``"GZIP"``. Decompression is bounded (a zip bomb is a malformed payload).
"""

from __future__ import annotations

import gzip
import zlib

from twin_edge.errors import MalformedPayloadError, SparkplugError
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb

COMPRESSED_UUID = "SPBV1.0_COMPRESSED"
ALGORITHM_METRIC = "algorithm"
_WBITS = {"DEFLATE": zlib.MAX_WBITS, "GZIP": 16 + zlib.MAX_WBITS}


def is_compressed(message: pb.Payload) -> bool:
    return message.HasField("uuid") and message.uuid == COMPRESSED_UUID


def compress_payload(data: bytes, *, algorithm: str = "DEFLATE", seq: int | None = None) -> bytes:
    """Wrap an encoded payload ``data`` into a compressed payload (what a Tahu edge node sends)."""
    if algorithm not in _WBITS:
        raise SparkplugError(f"compression algorithm {algorithm!r} is not supported; expected DEFLATE or GZIP")
    wrapper = pb.Payload(uuid=COMPRESSED_UUID, body=gzip.compress(data) if algorithm == "GZIP" else zlib.compress(data))
    if seq is not None:
        wrapper.seq = seq
    wrapper.metrics.add(name=ALGORITHM_METRIC, datatype=12, string_value=algorithm)
    return wrapper.SerializeToString()


def decompress(message: pb.Payload, *, max_bytes: int) -> pb.Payload:
    """The payload inside a compressed wrapper; raise :class:`MalformedPayloadError` if it cannot be had."""
    algorithm = "DEFLATE"
    for metric in message.metrics:
        if metric.name == ALGORITHM_METRIC:
            algorithm = metric.string_value.upper() if isinstance(metric.string_value, str) else "?"
    wbits = _WBITS.get(algorithm)
    if wbits is None:
        raise MalformedPayloadError(f"compressed payload: algorithm {algorithm!r} is not DEFLATE or GZIP")
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(message.body, max_bytes + 1)
    except zlib.error as exc:
        raise MalformedPayloadError(f"compressed payload ({algorithm}) does not decompress: {exc}") from None
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise MalformedPayloadError(f"compressed payload expands beyond {max_bytes} bytes; dropped")
    inner = pb.Payload()
    try:
        inner.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise MalformedPayloadError(f"compressed payload holds no Sparkplug B payload: {exc}") from None
    if not inner.HasField("seq") and message.HasField("seq"):
        inner.seq = message.seq
    return inner
