"""Scenario events as SimPy processes that change the running plant at their scheduled times.

Each event waits for its start, closes the running dispatch interval (so the change lands on an
interval boundary), applies the change through the potline's named operations (:mod:`twin.cell.operations`)
and, for events with a duration, undoes it at the end.

* Amperage creep follows EMAL's practice of small steps (Pillai et al., 0.35–2 kA/week; physics.md §1.10):
  the setpoint moves once an hour; with ``compensation = true`` (the default) the potroom lowers every
  pot's resistance target at each step so the heat released in the cell stays what it was
  (:func:`twin.plant.control.compensate_resistance`), with ``false`` the targets stay and the cells heat up.
* A curtailment with ``heat_exchangers = true`` on a line without installed exchangers fits temporary ones
  of ``heat_exchanger_kW`` with no baseline (they can only take heat away: on a curtailment, where the cell
  is short of heat, they stay at zero); lines with installed exchangers hold their heat balance anyway
  (:mod:`twin.plant.exchangers`).
* An outage ends with the restart procedure (:mod:`twin.plant.restart`) unless the scenario switches it off.
* ``alumina_shortfall`` and feeder blockages are separate feed-loss causes that compose; ``alumina_quality``
  is a line-wide dissolution-rate factor.
* ``resistance_target`` sets the target of the chosen pots to ``voltage_V`` at nominal current, or moves it
  by ``delta_mV``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from twin.plant import Plant, PotlineSim
from twin.plant.control import compensate_resistance, modulate_resistance
from twin.plant.exchangers import ExchangerControl
from twin.plant.grid_events import GridLog, run_frequency_response, run_reserve_call
from twin.plant.island import run_tie_trip
from twin.plant.restart import RAMP_STEP_S
from twin.plant.schedule import run_schedule
from twin.scenario.spec import Event

HOUR_S = 3600.0
WEEK_H = 168.0
HX_FIRST_LOOK_S = 60.0
SHORTFALL = "alumina_shortfall"
QUALITY = "alumina_quality"


def schedule(plant: Plant, event: Event) -> None:
    """Start the process that carries out ``event``."""
    process = {
        "line_current": _line_current,
        "amperage_creep": _creep,
        "curtailment": _curtailment,
        "outage": _outage,
        "alumina_shortfall": _shortfall,
        "alumina_quality": _quality,
        "feed_strategy": _feed_strategy,
        "unit_trip": _unit_trip,
        "rectifier_trip": _rectifier_trip,
        "cell_cut_out": _cut_out,
        "resistance_target": _resistance_target,
        "frequency_response": _frequency_response,
        "reserve_call": _reserve_call,
        "tie_trip": _tie_trip,
        "schedule": _schedule,
    }[event.kind]
    if event.kind in ("frequency_response", "reserve_call", "tie_trip"):
        GridLog.of(plant)  # registered now, before the run's recorder hook
    plant.env.process(process(plant, event))


def _lines(plant: Plant, event: Event) -> list[PotlineSim]:
    name = event.fields["potline"]
    return [line for line in plant.lines if name in ("all", line.name)]


def _cells(line: PotlineSim, event: Event) -> Any:
    cells = event.fields.get("cells", "all")
    return None if cells == "all" else np.asarray(cells, dtype=np.int64) - 1


def _wait(plant: Plant, at_h: float) -> simpy.Timeout:
    return plant.env.timeout(max(at_h * HOUR_S - plant.env.now, 0.0))


def _line_current(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)

    def apply() -> None:
        for line in _lines(plant, event):
            line.sync(plant.env.now)
            hx = plant.exchangers.get(line.name)
            if hx is not None and plant.controls.resistance:  # a power modulation on exchanger cells
                new_kA = event.fields["value_kA"] * (1.0 - line.curtail_fraction)
                modulate_resistance(line, new_kA, hx.baseline_W, hx.capacity_W - hx.baseline_W)
            line.setpoint_kA = event.fields["value_kA"]

    plant.change(apply)


def _creep(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    step_kA = event.fields["rate_kA_per_week"] / WEEK_H
    until_s = event.fields.get("until_h", float("inf")) * HOUR_S
    compensate = event.fields.get("compensation", True)
    while plant.env.now < until_s:
        for line in _lines(plant, event):
            line.sync(plant.env.now)
            if compensate:
                compensate_resistance(line, line.control, line.setpoint_kA, line.setpoint_kA + step_kA)
            line.setpoint_kA += step_kA
        yield plant.env.timeout(HOUR_S)


def _curtailment(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    lines = _lines(plant, event)
    temporary: list[ExchangerControl] = []
    if event.fields.get("heat_exchangers", False) and plant.controls.heat_exchangers:
        capacity_w = event.fields.get("heat_exchanger_kW", 0.0) * 1e3
        fitted = [line for line in lines if line.name not in plant.exchangers and capacity_w > 0]
        yield _wait(plant, max(event.at_h - 1.0, 0.0))
        temporary = [ExchangerControl(line, capacity_w, 0.0) for line in fitted]
        for hx in temporary:
            hx.start_reference()
    yield _wait(plant, event.at_h)
    for hx in temporary:
        hx.end_reference(plant.env.now)
        plant.hooks.insert(0, hx.hook)

    compensate = event.fields.get("compensation", True)

    def modulate(fraction: float) -> None:
        """The potroom holds each pot's heat balance by its resistance target (physics.md §1.10: beyond ~±5 %
        the heat balance must be offset by the voltage); exchanger cells only for what their exchanger cannot
        absorb (twin.plant.control.modulate_resistance). ``compensation = false`` leaves the targets alone."""
        if not (compensate and plant.controls.resistance):
            return
        for line in lines:
            down, up = plant.exchanger_margins_W(line)  # cells insulated for exchangers: a temporary one adds none
            line.sync(plant.env.now)
            modulate_resistance(line, line.setpoint_kA * (1.0 - fraction), down, up)

    def start() -> None:
        modulate(event.fields["fraction"])
        for line in lines:
            line.curtail_fraction = event.fields["fraction"]

    plant.change(start)
    if temporary:  # measure the new heat balance after one minute rather than a whole dispatch interval
        yield plant.env.timeout(HX_FIRST_LOOK_S)
        plant.change(lambda: None)
        yield plant.env.timeout(event.fields["duration_h"] * HOUR_S - HX_FIRST_LOOK_S)
    else:
        yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)

    # With the voltage compensation on, the regulator raised every ACD during the curtailment at its limited
    # beam speed; restoring the full current at once would then run the line ~20 % above its power until the
    # anodes come down again (measured on plant_small, 25 % for 3 h: +20 % for about an hour). The potroom
    # brings the current back as after an outage instead, over ``restart_ramp_h`` in steps (twin.plant.restart,
    # physics.md §1.9), with the targets restored at the start so the anodes come down as the current rises.
    ramp_h = _restore_ramp_h(lines) if compensate and plant.controls.resistance else 0.0
    steps = max(round(ramp_h * HOUR_S / RAMP_STEP_S), 1) if ramp_h > 0 else 0
    fraction = event.fields["fraction"]

    def end() -> None:
        modulate(0.0)
        for line in lines:
            line.curtail_fraction = fraction * (1.0 - 1.0 / steps) if steps > 1 else 0.0
        for hx in temporary:
            plant.hooks.remove(hx.hook)
            hx.stop()

    plant.change(end)
    for k in range(2, steps + 1):
        yield plant.env.timeout(ramp_h * HOUR_S / steps)

        def step(k: int = k) -> None:
            for line in lines:
                line.curtail_fraction = fraction * (1.0 - k / steps)

        plant.change(step)


def _restore_ramp_h(lines: list[PotlineSim]) -> float:
    """The potroom's current ramp after a power interruption (the plant file's ``restart_ramp_h``), 0 if none."""
    ramps = [line.control.settings["restart_ramp_h"] for line in lines if line.control is not None]
    return max(ramps, default=0.0)


def _outage(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    lines = _lines(plant, event)

    def set_outage(value: bool) -> None:
        for line in lines:
            line.outage = value
            if value:
                line.outages_h.append(event.fields["duration_h"])

    plant.change(lambda: set_outage(True))
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    plant.restore_power(lines, set_outage)


def _shortfall(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    for line in _lines(plant, event):
        line.sync(plant.env.now)
        line.potline.set_feed_loss(_cells(line, event), SHORTFALL, event.fields["fraction"])
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    for line in _lines(plant, event):
        line.sync(plant.env.now)
        line.potline.set_feed_loss(_cells(line, event), SHORTFALL, 0.0)


def _quality(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    for line in _lines(plant, event):
        line.sync(plant.env.now)
        line.potline.set_dissolution_factor(QUALITY, event.fields["dissolution_factor"])
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    for line in _lines(plant, event):
        line.sync(plant.env.now)
        line.potline.set_dissolution_factor(QUALITY, 1.0)


def _feed_strategy(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    for line in _lines(plant, event):
        line.sync(plant.env.now)
        line.potline.set_feed_strategy(_cells(line, event), event.fields["strategy"])


def _unit_trip(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    index = plant.unit_index(event.fields["unit"])

    def set_available(value: bool) -> None:
        plant.units_available[index] = value
        if not value:
            plant.coal_MW[index] = 0.0

    plant.change(lambda: set_available(False))
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    plant.change(lambda: set_available(True))


def _rectifier_trip(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    lines = _lines(plant, event)
    lost = event.fields["units"]

    def change_units(delta: int) -> None:
        for line in lines:
            line.units_in_service = max(line.units_in_service + delta, 0)

    plant.change(lambda: change_units(-lost))
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    plant.change(lambda: change_units(lost))


def _cut_out(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    for line in _lines(plant, event):
        line.sync(plant.env.now)
        line.potline.cut_out(_cells(line, event))
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    for line in _lines(plant, event):
        line.sync(plant.env.now)
        line.potline.cut_in(_cells(line, event))


def _resistance_target(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)

    def apply() -> None:
        for line in _lines(plant, event):
            cells = _cells(line, event)
            pot = line.potline
            if "voltage_V" in event.fields:
                pot.set_resistance_target(cells, pot.resistance_for_voltage(event.fields["voltage_V"]))
                if line.control is not None and cells is None:  # the routine band follows a line-wide target
                    line.control.nominal_target_ohm = float(pot.resistance_for_voltage(event.fields["voltage_V"]))
            else:
                delta_ohm = event.fields["delta_mV"] * 1e-3 / (pot.nominal_current_kA * 1e3)
                current = pot.values("r_target_ohm")
                idx = np.arange(pot.n_cells) if cells is None else cells
                pot.set_resistance_target(idx, current[idx] + delta_ohm)
                if line.control is not None and cells is None:
                    line.control.nominal_target_ohm += delta_ohm

    plant.change(apply)


def _frequency_response(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    """The lines follow a frequency profile by rectifier droop (twin.plant.grid_events)."""
    yield from run_frequency_response(
        plant, _lines(plant, event), event.at_h * HOUR_S, event.fields["points"], event.fields.get("step_s", 1.0)
    )


def _reserve_call(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    """An interruptible-load call on the lines (twin.plant.grid_events)."""
    yield from run_reserve_call(
        plant, _lines(plant, event), event.at_h * HOUR_S, event.fields["fraction"], event.fields["duration_h"] * HOUR_S
    )


def _tie_trip(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    """The grid tie opens and the plant runs as an island (twin.plant.island)."""
    yield from run_tie_trip(plant, event.at_h * HOUR_S, event.fields["duration_h"] * HOUR_S)


def _schedule(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    """A dispatch schedule (e.g. the optimiser's) imposed row by row (twin.plant.schedule)."""
    yield from run_schedule(plant, event.at_h * HOUR_S, event.fields["steps"])
