"""Pure builders for the edge node's Sparkplug messages (NBIRTH, DBIRTH, DDATA, DDEATH, NDEATH).

Aliases are assigned deterministically from the tag map (1, 2, ... in tag-map order across all devices), so
they are identical in every session and a stored value can be replayed with the alias of the current BIRTH.
Spec references: tck-id-topics-nbirth-bdseq-included, tck-id-operational-behavior-data-commands-rebirth-name
(the Rebirth metric is Boolean false with no alias), tck-id-payloads-name-birth-data-requirement (every BIRTH/DATA
metric has a timestamp), tck-id-payloads-metric-datatype-not-req (DATA carries alias and value, no datatype).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from twin_edge.sparkplug import BDSEQ_METRIC, REBIRTH_METRIC, DataType, Metric, Value, encode_payload
from twin_edge.sparkplug.datatypes import VALUE_FIELD, to_wire
from twin_edge.tagmap import DeviceSpec, TagMap


class AliasTable:
    """(device_id, metric name) -> alias, and each alias's datatype."""

    def __init__(self, tag_map: TagMap) -> None:
        self._alias: dict[tuple[str, str], int] = {}
        self._datatype: dict[tuple[str, str], DataType] = {}
        alias = 0
        for device in tag_map.devices:
            for tag in device.tags:
                alias += 1
                self._alias[(device.device_id, tag.metric)] = alias
                self._datatype[(device.device_id, tag.metric)] = tag.datatype

    def alias(self, device_id: str, metric: str) -> int:
        return self._alias[(device_id, metric)]

    def datatype(self, device_id: str, metric: str) -> DataType:
        return self._datatype[(device_id, metric)]


def nbirth_payload(*, bdseq: int, timestamp: int) -> bytes:
    """NBIRTH: seq 0, the session's bdSeq and the alias-less ``Node Control/Rebirth`` = false."""
    metrics = [
        Metric(name=BDSEQ_METRIC, timestamp=timestamp, datatype=DataType.INT64, value=bdseq),
        Metric(name=REBIRTH_METRIC, timestamp=timestamp, datatype=DataType.BOOLEAN, value=False),
    ]
    return encode_payload(metrics, timestamp=timestamp, seq=0)


def ndeath_payload(*, bdseq: int, timestamp: int | None = None) -> bytes:
    """NDEATH (the MQTT Will): only the bdSeq metric, no seq (tck-id-topics-ndeath-payload, -seq)."""
    return encode_payload([Metric(name=BDSEQ_METRIC, datatype=DataType.INT64, value=bdseq)], timestamp=timestamp)


def dbirth_payload(
    device: DeviceSpec, values: Mapping[str, Value], aliases: AliasTable, *, timestamp: int, seq: int
) -> bytes:
    """DBIRTH: every metric of the device with name, alias, datatype, timestamp and current value."""
    metrics = [
        Metric(
            name=tag.metric,
            alias=aliases.alias(device.device_id, tag.metric),
            timestamp=timestamp,
            datatype=tag.datatype,
            value=values.get(tag.metric),
        )
        for tag in device.tags
    ]
    return encode_payload(metrics, timestamp=timestamp, seq=seq)


def ddata_payload(
    device_id: str,
    values: Iterable[tuple[str, int, Value]],
    aliases: AliasTable,
    *,
    timestamp: int,
    seq: int,
    historical: bool = False,
) -> bytes:
    """DDATA with alias-only metrics ``(metric, timestamp_ms, value)``; ``historical`` marks replayed values."""
    metrics = []
    for name, ts, value in values:
        datatype = aliases.datatype(device_id, name)
        metrics.append(
            Metric(
                alias=aliases.alias(device_id, name),
                timestamp=ts,
                is_historical=historical,
                value=to_wire(datatype, value),
                value_field=VALUE_FIELD[datatype],
            )
        )
    return encode_payload(metrics, timestamp=timestamp, seq=seq)


def ddeath_payload(*, timestamp: int, seq: int) -> bytes:
    return encode_payload([], timestamp=timestamp, seq=seq)
