"""Independent feed-loss causes compose (issue 8 item 6): a feeder blockage overlapping an alumina shortfall.

On the main branch before issue 8 the blockage multiplied ``feed_efficiency`` by 0.5, its clearing divided
by 0.5, and the shortfall event set absolute values: a blockage that starts during a shortfall and clears
after it leaves the cell at 2.0, twice the commanded alumina, for good. The cells feed at the fixed rate
here, so what they receive is the commanded rate times the feed efficiency and can be checked against
what they consume.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.scenario.conftest import DATA, small_scenario_text

from twin.scenario import scenario_from_text
from twin.scenario.runner import build_plant

HOUR_S = 3600.0
EVENTS = """
[[event]]
kind = "feed_strategy"
at_h = 0.0
potline = "all"
strategy = "fixed"

[[event]]
kind = "alumina_shortfall"
at_h = 1.0
potline = "all"
fraction = 0.1
duration_h = 1.0
"""


def _plant():
    return build_plant(scenario_from_text(small_scenario_text(5.0, EVENTS), "test.toml", base_dir=DATA))


def _blockage(plant, cell: int, start_h: float, end_h: float):
    line = plant.lines[0]
    yield plant.env.timeout(start_h * HOUR_S)
    line.sync(plant.env.now)
    line.block_feeder(cell)
    yield plant.env.timeout((end_h - start_h) * HOUR_S)
    line.sync(plant.env.now)
    line.clear_feeder(cell)


def _feed(plant) -> tuple[np.ndarray, np.ndarray]:
    snap = plant.lines[0].potline.snapshot()
    return snap.totals["alumina_fed_kg"].copy(), snap.totals["alumina_consumed_kg"].copy()


@pytest.mark.parametrize(
    ("start_h", "end_h", "check_h"), [(1.9, 2.1, 1.95), (0.9, 1.1, 1.5)], ids=["over the end", "over the start"]
)
def test_a_blockage_overlapping_a_shortfall_leaves_the_feed_as_commanded(start_h, end_h, check_h):
    """Short blockages (6 min), so no anode-effect kill clears them early."""
    plant = _plant()
    cell = 3
    plant.env.process(_blockage(plant, cell, start_h, end_h))
    plant.env.run(until=check_h * HOUR_S)
    line = plant.lines[0]
    line.sync(plant.env.now)
    during = line.potline.snapshot().state["feed_efficiency"]
    blocked_now = start_h <= check_h < end_h
    assert during[cell] == pytest.approx(0.9 * (0.5 if blocked_now else 1.0))  # the causes compose
    assert np.delete(during, cell) == pytest.approx(0.9)
    plant.env.run(until=3.0 * HOUR_S)
    line.sync(plant.env.now)
    assert line.potline.snapshot().state["feed_efficiency"] == pytest.approx(1.0)
    fed0, consumed0 = _feed(plant)
    plant.env.run(until=5.0 * HOUR_S)
    line.sync(plant.env.now)
    fed1, consumed1 = _feed(plant)
    ratio = (fed1 - fed0)[cell] / (consumed1 - consumed0)[cell]
    assert ratio == pytest.approx(1.0, abs=0.1)  # fixed-rate feed = consumption, not twice it
