"""Settings the service chain takes in code (not from its file) are checked before anything starts."""

from __future__ import annotations

import math

import pytest

from twin.errors import TwinError
from twin.service.chain import ServiceChain
from twin.service.config import ChainConfig
from twin.telemetry import cell_address


@pytest.mark.parametrize("period", [0.001, 0.0, -10.0, math.nan, math.inf, 7200.0])
def test_a_kpi_period_outside_one_second_to_an_hour_is_refused(period: float) -> None:
    """The API's KPI history returns short ranges raw: more than one record a second would break its row cap."""
    with pytest.raises(TwinError, match=r"ChainConfig.kpi_period_s = .* is invalid; expected seconds in \[1, 3600\]"):
        ServiceChain(ChainConfig(kpi_period_s=period))


def test_a_pot_device_name_with_a_trailing_newline_is_no_pot() -> None:
    assert cell_address("potline1", "pot_017", "cell_voltage_V").cell == 17
    assert cell_address("potline1", "pot_017\n", "cell_voltage_V").cell is None
