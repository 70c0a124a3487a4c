"""Simulated pot-controller PLCs: one Modbus TCP server per pot, values from a pluggable source.

The twin plugs its plant model in as a :class:`PotSource`; the edge package ships :class:`SyntheticSource`.
"""

from twin_edge.simplc.layout import POT_LAYOUT, Signal, write_tag_map
from twin_edge.simplc.plcs import SimulatedPlcs
from twin_edge.simplc.source import PotSource, SyntheticSource

__all__ = ["POT_LAYOUT", "PotSource", "Signal", "SimulatedPlcs", "SyntheticSource", "write_tag_map"]
