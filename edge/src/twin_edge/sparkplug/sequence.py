"""Sparkplug sequence-number arithmetic.

``seq`` runs 0..255 and wraps on every Edge Node message except NDEATH (tck-id-payloads-sequence-num-incrementing);
``bdSeq`` also runs 0..255 and increments on every new MQTT CONNECT (tck-id-topics-nbirth-bdseq-increment).
"""

from __future__ import annotations

SEQ_MODULUS = 256


def next_seq(seq: int) -> int:
    """The seq that follows ``seq`` (255 wraps to 0)."""
    return (seq + 1) % SEQ_MODULUS


def seq_distance(expected: int, received: int) -> int:
    """How far ``received`` lies ahead of ``expected`` (0 = in order), modulo 256.

    A value in 1..127 means messages are missing (or late); 128..255 means ``received`` is a late duplicate.
    """
    return (received - expected) % SEQ_MODULUS


def next_bdseq(bdseq: int | None) -> int:
    """The bdSeq for the next CONNECT: 0 for the very first one, then +1 wrapping after 255."""
    return 0 if bdseq is None else (bdseq + 1) % SEQ_MODULUS
