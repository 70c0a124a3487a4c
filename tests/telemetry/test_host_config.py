"""HostConfig refuses a bound that is not a positive number with one error naming the field and its value."""

from __future__ import annotations

import math

import pytest

from twin.errors import TelemetryError
from twin.telemetry import HostConfig

BOUNDS = ["reorder_timeout_s", "queue_size", "max_payload_bytes", "max_future_s", "max_edge_nodes",
          "max_devices_per_node", "max_metrics_per_node"]


@pytest.mark.parametrize("name", BOUNDS)
@pytest.mark.parametrize("value", [0, -1, math.nan])
def test_a_bound_that_is_not_positive_is_named_with_its_value(name: str, value: float) -> None:
    with pytest.raises(TelemetryError, match=rf"^HostConfig\.{name} = {value!r} is invalid; expected a number > 0$"):
        HostConfig("twin", **{name: value})


def test_the_defaults_are_valid() -> None:
    config = HostConfig("twin")
    assert all(getattr(config, name) > 0 for name in BOUNDS)
