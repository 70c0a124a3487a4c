"""Where a Sparkplug metric sits in the plant: the topic/metric naming convention of the twin.

Convention (documented in docs/telemetry.md):

- ``group_id``   = the potline, e.g. ``potline1`` (one Sparkplug group per potline);
- ``edge_node_id`` = the gateway of a potline section, e.g. ``gw01`` (several per potline are fine);
- ``device_id``  = one pot controller: ``pot_<NNN>`` where NNN is the cell number within the potline (1-based);
- metric name    = the signal with its unit suffix (``cell_voltage_V``, ``line_current_kA``, ``bath_temp_degC``).

Anything else (node-level metrics, devices not named ``pot_<n>``) maps to the potline with ``cell=None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_POT = re.compile(r"^pot_(\d{1,6})$")


@dataclass(frozen=True, slots=True)
class CellAddress:
    potline: str
    cell: int | None
    signal: str


def cell_address(group: str, device: str | None, metric: str) -> CellAddress:
    """Map (group_id, device_id, metric) to potline, cell number and signal name."""
    match = _POT.fullmatch(device) if device is not None else None
    return CellAddress(potline=group, cell=int(match.group(1)) if match else None, signal=metric)
