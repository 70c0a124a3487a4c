"""Protective actions of the potroom on the kernel's limit events (physics.md §1.6, §1.9).

The kernel latches a limit crossing once per crossing (:mod:`twin.cell.events`); the potroom answers it at
once instead of waiting for the next daily visit:

* ``bath_hot`` — less heat and a more acidic bath: the pot's resistance target is lowered by
  ``protect_step_mV`` and ``protect_alf3_kg`` of AlF3 is added;
* ``ledge_thin`` — the side wall is exposed: target lowered by ``protect_step_mV`` (less heat, ledge grows);
* ``ledge_thick`` and ``freeze_risk`` — too much frozen: target raised by ``protect_step_mV``;
* ``liquidus_out_of_range`` — nothing to do here; the event stays in the results as a warning.

Targets stay inside the routine band of :class:`twin.plant.control.PotroomControl`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from twin.cell import CellEvent

if TYPE_CHECKING:
    from twin.plant.control import PotroomControl
    from twin.plant.line import PotlineSim

#: event kind -> direction of the resistance move (−1 lower, +1 raise)
DIRECTION = {"bath_hot": -1.0, "ledge_thin": -1.0, "ledge_thick": 1.0, "freeze_risk": 1.0}


def protective_action(control: PotroomControl) -> Callable[[PotlineSim, CellEvent], None]:
    """A listener for :attr:`twin.plant.line.PotlineSim.listeners` that carries out the actions above."""

    def act(line: PotlineSim, event: CellEvent) -> None:
        direction = DIRECTION.get(event.kind)
        if direction is None or line.potline.values("in_line")[event.cell] == 0.0:
            return
        control.move_targets(event.cell, direction * control.settings["protect_step_mV"])
        line.protective_actions += 1
        if event.kind == "bath_hot" and control.settings["protect_alf3_kg"] > 0:
            line.alf3_added_kg += line.potline.add_alf3(event.cell, control.settings["protect_alf3_kg"])

    return act
