"""The naming convention that maps Sparkplug ids and metric names to potline and cell (docs/telemetry.md)."""

from __future__ import annotations

import pytest

from twin.telemetry import CellAddress, cell_address, pot_cell, pot_device_id
from twin.telemetry.naming import MAX_CELL, pot_misnaming


@pytest.mark.parametrize(
    ("group", "device", "metric", "expected"),
    [
        ("potline1", "pot_001", "cell_voltage_V", CellAddress("potline1", 1, "cell_voltage_V")),
        ("potline2", "pot_400", "bath_temp_degC", CellAddress("potline2", 400, "bath_temp_degC")),
        ("potline1", None, "line_current_kA", CellAddress("potline1", None, "line_current_kA")),
        ("potline1", "rectifier_1", "current_kA", CellAddress("potline1", None, "current_kA")),
        ("potline1", "pot_x", "v", CellAddress("potline1", None, "v")),
        ("potline1", "pot_1", "v", CellAddress("potline1", None, "v")),
    ],
)
def test_cell_address(group: str, device: str | None, metric: str, expected: CellAddress) -> None:
    assert cell_address(group, device, metric) == expected


def test_one_pot_has_one_device_id() -> None:
    """pot_1, pot_01, pot_001 and pot_0001 used to all name cell 1, so a gateway could write one pot's metrics
    under several device ids (distinct devices to the host, one cell to the twin): only pot_001 names it now."""
    spellings = ["pot_1", "pot_01", "pot_001", "pot_0001", "pot_00001", "pot_000001"]
    assert {d: pot_cell(d) for d in spellings} == {d: (1 if d == "pot_001" else None) for d in spellings}


@pytest.mark.parametrize(
    ("device", "cell"),
    [("pot_001", 1), ("pot_042", 42), ("pot_400", 400), ("pot_999", 999), ("pot_1000", 1000), ("pot_999999", MAX_CELL)],
)
def test_the_canonical_spelling_names_its_cell(device: str, cell: int) -> None:
    assert pot_cell(device) == cell
    assert pot_device_id(cell) == device  # the one spelling is what the twin's PLCs and plant source write
    assert pot_misnaming(device) is None


@pytest.mark.parametrize(
    "device",
    [
        "pot_000",  # cells are 1-based
        "pot_0",
        "pot_0999",  # 999 is pot_999
        "pot_01000",  # 1000 is pot_1000
        "pot_1234567",  # beyond six digits
        "pot_\u0660\u0660\u0661",  # Arabic-Indic digits read as 001 by int()
        "pot_001\n",
        " pot_001",
        "POT_001",
        "pot_+01",
        "pot_",
        "pot_x",
        "",
    ],
)
def test_other_spellings_name_no_cell(device: str) -> None:
    assert pot_cell(device) is None


@pytest.mark.parametrize(
    ("device", "why"),
    [
        ("pot_1", "cell 1 is spelled 'pot_001'"),
        ("pot_0001", "cell 1 is spelled 'pot_001'"),
        ("pot_0999", "cell 999 is spelled 'pot_999'"),
        ("pot_01000", "cell 1000 is spelled 'pot_1000'"),
        ("pot_\u0660\u0660\u0661", "cell 1 is spelled 'pot_001'"),
        ("pot_000", "cells are numbered from 1: the first is 'pot_001'"),
        ("pot_1234567", f"cell numbers end at {MAX_CELL}"),
        ("pot_" + "1" * 100_000, f"cell numbers end at {MAX_CELL}"),  # not parsed (int() would refuse it)
        ("pot_001", None),
        ("pot_x", None),  # not a pot controller's id at all: nothing to report
        ("rectifier_1", None),
        (None, None),
    ],
)
def test_pot_misnaming_names_the_spelling_expected(device: str | None, why: str | None) -> None:
    assert pot_misnaming(device) == why


@pytest.mark.parametrize("cell", [0, -1, MAX_CELL + 1])
def test_pot_device_id_refuses_what_is_no_cell(cell: int) -> None:
    with pytest.raises(ValueError, match=rf"cell = {cell} is invalid; expected a cell number 1\.\.{MAX_CELL}"):
        pot_device_id(cell)
