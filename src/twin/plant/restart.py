"""The restart procedure after an outage: a current ramp back to the setpoint and a voltage treatment.

When power returns the potline is re-energised at ``restart_ramp_start_fraction`` of its setpoint and the
current is brought back linearly over ``restart_ramp_h``; every pot's resistance target is raised by
``restart_voltage_boost_mV`` (at nominal current) for ``restart_treatment_h`` to re-melt the bath frozen
during the outage, then the raise is withdrawn and the daily loops take over again (physics.md §1.9:
Øye & Sørlie 2011; Tremblay & Leblanc 1989; burn-offs on re-energising at Alcoa Portland 2016). Settings in
the plant file's ``[potroom]`` table.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

if TYPE_CHECKING:
    from twin.plant.control import PotroomControl
    from twin.plant.line import PotlineSim

HOUR_S = 3600.0
RAMP_STEP_S = 300.0  # the ramp is carried out in steps of five minutes


def start_restart(line: PotlineSim, control: PotroomControl, now_s: float) -> None:
    """Re-energise at the ramp's start current and raise every target (call inside ``Plant.change``)."""
    s = control.settings
    ramp_h = s["restart_ramp_h"]
    line.ramp_fraction = s["restart_ramp_start_fraction"] if ramp_h > 0 else 1.0
    boost_mV = s["restart_voltage_boost_mV"]
    if boost_mV > 0 and s["restart_treatment_h"] > 0:
        # One treatment per line: an outage that ends while another's treatment runs extends it; it does not
        # raise the targets again (overlapping outages stacked a boost each: 20 at once pushed the targets past
        # the cells' valid range and the run failed).
        if control.target_offset_ohm == 0.0:
            control.target_offset_ohm = boost_mV * control.ohm_per_mV()
            control.move_targets(line.cells(), boost_mV)
        control.treatment_until_s = max(control.treatment_until_s, now_s + s["restart_treatment_h"] * HOUR_S)


def restart(
    env: simpy.Environment, line: PotlineSim, control: PotroomControl, change: Callable[[Callable[[], None]], None]
) -> Generator[Any, Any, None]:
    """Ramp the current back and end the voltage treatment; ``change`` re-dispatches the plant after a step."""
    s = control.settings
    start = line.ramp_fraction
    steps = max(round(s["restart_ramp_h"] * HOUR_S / RAMP_STEP_S), 1)
    for k in range(1, steps + 1):
        yield env.timeout(s["restart_ramp_h"] * HOUR_S / steps)

        def step(k: int = k) -> None:
            line.ramp_fraction = min(start + (1.0 - start) * k / steps, 1.0)

        change(step)
    boost_mV = s["restart_voltage_boost_mV"]
    if boost_mV > 0 and s["restart_treatment_h"] > 0:
        while env.now < control.treatment_until_s:  # a later restart may have extended the treatment
            yield env.timeout(control.treatment_until_s - env.now)
        if control.target_offset_ohm > 0.0:  # the first restart process to reach the end withdraws it, once
            line.sync(env.now)
            control.target_offset_ohm = 0.0
            control.move_targets(line.cells(), -boost_mV)
