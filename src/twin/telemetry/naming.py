"""Where a Sparkplug metric sits in the plant: the topic/metric naming convention of the twin.

Convention (documented in docs/telemetry.md):

- ``group_id``   = the potline, e.g. ``potline1`` (one Sparkplug group per potline);
- ``edge_node_id`` = the gateway of a potline section, e.g. ``gw01`` (several per potline are fine);
- ``device_id``  = one pot controller: ``pot_<NNN>`` where NNN is the cell number within the potline (1-based),
  zero-padded to three digits (``pot_001``, ``pot_042``, ``pot_400``; ``pot_1000`` from cell 1000 on);
- metric name    = the signal with its unit suffix (``cell_voltage_V``, ``line_current_kA``, ``bath_temp_degC``).

Only that one spelling names a cell (:func:`pot_cell`; :func:`pot_device_id` writes it, as the twin's simulated
PLCs and plant source do). ``pot_1``, ``pot_01`` and ``pot_0001`` would otherwise all name cell 1: a
misconfigured or hostile gateway could then write one pot's metrics under several device ids, which the host
treats as distinct devices (births, seq, staleness of their own) while they land on the same cell. So any other
spelling maps to no cell, as ``pot_000`` does (cells are 1-based); :func:`pot_misnaming` says why, for the
host's warning. Anything else (node-level metrics, devices not named ``pot_<n>``) maps to the potline with
``cell=None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CELL = 999_999  # the largest cell number a device id can name (six digits)
_POT = re.compile(r"pot_([0-9]{3,6})")  # the canonical spelling's shape: ASCII digits, at least three
_POT_LIKE = re.compile(r"pot_(\d+)")  # what reads as a pot controller's id (any decimal digits, any count)
_LONGEST_NUMBER = 64  # digits beyond this are not parsed (int() of a 100 000-digit string costs, or raises)


@dataclass(frozen=True, slots=True)
class CellAddress:
    potline: str
    cell: int | None
    signal: str


def pot_device_id(cell: int) -> str:
    """The device id of the pot controller of cell ``cell`` (1-based): ``pot_001``, ``pot_042``, ``pot_1000``."""
    if not 1 <= cell <= MAX_CELL:
        raise ValueError(f"cell = {cell!r} is invalid; expected a cell number 1..{MAX_CELL}")
    return f"pot_{cell:03d}"


def pot_cell(device: str | None) -> int | None:
    """The cell number ``device`` names in the canonical spelling (:func:`pot_device_id`), else None."""
    match = _POT.fullmatch(device) if device is not None else None
    if match is None:
        return None
    cell = int(match.group(1))
    return cell if 1 <= cell <= MAX_CELL and pot_device_id(cell) == device else None


def pot_misnaming(device: str | None) -> str | None:
    """Why ``device``, which reads as a pot controller's id (``pot_`` and digits), names no cell; None when it
    names one (canonical) or is not a pot controller's id at all (``rectifier_1``, ``pot_x``)."""
    if device is None or pot_cell(device) is not None:
        return None
    match = _POT_LIKE.fullmatch(device)
    if match is None:
        return None
    digits = match.group(1)
    cell = int(digits) if len(digits) <= _LONGEST_NUMBER else MAX_CELL + 1
    if cell == 0:
        return f"cells are numbered from 1: the first is {pot_device_id(1)!r}"
    if cell > MAX_CELL:
        return f"cell numbers end at {MAX_CELL}"
    return f"cell {cell} is spelled {pot_device_id(cell)!r}"


def cell_address(group: str, device: str | None, metric: str) -> CellAddress:
    """Map (group_id, device_id, metric) to potline, cell number and signal name."""
    return CellAddress(potline=group, cell=pot_cell(device), signal=metric)
