"""Hand-built Sparkplug messages for driving the host directly (an edge node under the test's control)."""

from __future__ import annotations

from twin_edge.sparkplug import BDSEQ_METRIC, REBIRTH_METRIC, DataType, Metric, encode_payload

SIGNALS = [("cell_voltage_V", DataType.FLOAT), ("feed_count", DataType.UINT32), ("offset", DataType.INT32)]


def alias_of(device_index: int, signal_index: int) -> int:
    return 1 + device_index * len(SIGNALS) + signal_index


def nbirth(bdseq: int, *, seq: int = 0, ts: int = 1_000) -> bytes:
    return encode_payload(
        [
            Metric(name=BDSEQ_METRIC, timestamp=ts, datatype=DataType.INT64, value=bdseq),
            Metric(name=REBIRTH_METRIC, timestamp=ts, datatype=DataType.BOOLEAN, value=False),
        ],
        timestamp=ts,
        seq=seq,
    )


def ndeath(bdseq: int) -> bytes:
    return encode_payload([Metric(name=BDSEQ_METRIC, datatype=DataType.INT64, value=bdseq)], timestamp=None)


def dbirth(device_index: int, seq: int, *, ts: int = 1_000) -> bytes:
    values = {"cell_voltage_V": 4.0, "feed_count": 0, "offset": -1}
    return encode_payload(
        [
            Metric(name=name, alias=alias_of(device_index, i), timestamp=ts, datatype=dt, value=values[name])
            for i, (name, dt) in enumerate(SIGNALS)
        ],
        timestamp=ts,
        seq=seq,
    )


def ddata(device_index: int, seq: int, count: int, *, ts: int | None = None, historical: bool = False) -> bytes:
    """DDATA with feed_count = ``count`` and offset = -count (a negative Int32), alias-only."""
    stamp = 2_000 + count if ts is None else ts
    return encode_payload(
        [
            Metric(
                alias=alias_of(device_index, 1),
                timestamp=stamp,
                value=count,
                value_field="int_value",
                is_historical=historical,
            ),
            Metric(
                alias=alias_of(device_index, 2),
                timestamp=stamp,
                value=(-count) % 2**32,
                value_field="int_value",
                is_historical=historical,
            ),
        ],
        timestamp=stamp,
        seq=seq,
    )


def ddeath(seq: int, *, ts: int = 5_000) -> bytes:
    return encode_payload([], timestamp=ts, seq=seq)
