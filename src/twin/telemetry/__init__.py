"""Telemetry ingest: the twin's Sparkplug B host application.

Start it with a sink that receives typed samples::

    from twin.telemetry import HostConfig, SparkplugHost, CallbackSink
    with SparkplugHost(HostConfig(host_id="twin"), CallbackSink(print_samples)) as host:
        ...

The Sparkplug codec comes from the ``twin-edge`` package (``twin_edge.sparkplug``).
"""

from twin.telemetry.host import SparkplugHost
from twin.telemetry.host_config import HostConfig
from twin.telemetry.naming import CellAddress, cell_address, pot_cell, pot_device_id
from twin.telemetry.samples import CallbackSink, CollectingSink, IngestCounters, Quality, Sample, SampleSink
from twin.telemetry.stream import AsyncSampleStream
from twin_edge.mqtt_settings import TlsSettings

__all__ = [
    "AsyncSampleStream",
    "CallbackSink",
    "CellAddress",
    "CollectingSink",
    "HostConfig",
    "IngestCounters",
    "Quality",
    "Sample",
    "SampleSink",
    "SparkplugHost",
    "TlsSettings",
    "cell_address",
    "pot_cell",
    "pot_device_id",
]
