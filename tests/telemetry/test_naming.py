"""The naming convention that maps Sparkplug ids and metric names to potline and cell (docs/telemetry.md)."""

from __future__ import annotations

import pytest

from twin.telemetry import CellAddress, cell_address


@pytest.mark.parametrize(
    ("group", "device", "metric", "expected"),
    [
        ("potline1", "pot_001", "cell_voltage_V", CellAddress("potline1", 1, "cell_voltage_V")),
        ("potline2", "pot_400", "bath_temp_degC", CellAddress("potline2", 400, "bath_temp_degC")),
        ("potline1", None, "line_current_kA", CellAddress("potline1", None, "line_current_kA")),
        ("potline1", "rectifier_1", "current_kA", CellAddress("potline1", None, "current_kA")),
        ("potline1", "pot_x", "v", CellAddress("potline1", None, "v")),
    ],
)
def test_cell_address(group: str, device: str | None, metric: str, expected: CellAddress) -> None:
    assert cell_address(group, device, metric) == expected
