"""Scenario events as SimPy processes that change the running plant at their scheduled times.

Each event waits for its start, closes the running dispatch interval (so the change lands on an
interval boundary), applies the change and, for events with a duration, undoes it at the end.
Amperage creep follows EMAL's practice of small steps (Pillai et al., 0.35–2 kA/week; physics.md §1.10):
the setpoint moves once an hour. Curtailment with shell heat exchangers holds each cell's heat balance
(TRIMET/EnPot, physics.md §1.10): every interval the exchanger duty is set to the change of the cell's
internal heat surplus against the hour before the curtailment, within the exchanger capacity.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from twin.cell import layout as L
from twin.plant import Plant, PotlineSim
from twin.scenario.spec import Event

HOUR_S = 3600.0
WEEK_H = 168.0
HX_FIRST_LOOK_S = 60.0


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
    }[event.kind]
    plant.env.process(process(plant, event))


def _lines(plant: Plant, event: Event) -> list[PotlineSim]:
    name = event.fields["potline"]
    return [line for line in plant.lines if name in ("all", line.name)]


def _cells(line: PotlineSim, event: Event) -> Any:
    cells = event.fields.get("cells", "all")
    return slice(None) if cells == "all" else np.asarray(cells, dtype=np.int64) - 1


def _wait(plant: Plant, at_h: float) -> simpy.Timeout:
    return plant.env.timeout(max(at_h * HOUR_S - plant.env.now, 0.0))


def _line_current(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)

    def apply() -> None:
        for line in _lines(plant, event):
            line.setpoint_kA = event.fields["value_kA"]

    plant.change(apply)


def _creep(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    step_kA = event.fields["rate_kA_per_week"] / WEEK_H
    until_s = event.fields.get("until_h", float("inf")) * HOUR_S
    while plant.env.now < until_s:
        for line in _lines(plant, event):
            line.sync(plant.env.now)
            line.setpoint_kA += step_kA
        yield plant.env.timeout(HOUR_S)


def _curtailment(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    lines = _lines(plant, event)
    use_hx = event.fields.get("heat_exchangers", False)
    capacity_w = event.fields.get("heat_exchanger_kW", 0.0) * 1e3
    baseline: dict[str, np.ndarray] = {}
    if use_hx:
        yield _wait(plant, max(event.at_h - 1.0, 0.0))
        before = {line.name: _heat_totals(line) for line in lines}
    yield _wait(plant, event.at_h)
    if use_hx:
        for line in lines:
            line.sync(plant.env.now)
            span = max(line.potline.time_s - before[line.name][1], 1.0)
            baseline[line.name] = (_heat_totals(line)[0] - before[line.name][0]) / span
        last = {line.name: _heat_totals(line) for line in lines}

        def hold_heat_balance(_: Plant) -> None:
            for line in lines:
                totals, time_s = _heat_totals(line)
                span = time_s - last[line.name][1]
                if span <= 0:
                    continue
                surplus = (totals - last[line.name][0]) / span
                line.hx_duty_W[:] = np.clip(surplus - baseline[line.name], -capacity_w, capacity_w)
                last[line.name] = (totals, time_s)

        plant.hooks.append(hold_heat_balance)

    def start() -> None:
        for line in lines:
            line.curtail_fraction = event.fields["fraction"]

    plant.change(start)
    if use_hx:  # measure the new heat balance after one minute rather than a whole dispatch interval
        yield plant.env.timeout(HX_FIRST_LOOK_S)
        plant.change(lambda: None)
        yield plant.env.timeout(event.fields["duration_h"] * HOUR_S - HX_FIRST_LOOK_S)
    else:
        yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)

    def end() -> None:
        for line in lines:
            line.curtail_fraction = 0.0
            line.hx_duty_W[:] = 0.0

    if use_hx:
        plant.hooks.remove(hold_heat_balance)
    plant.change(end)


def _heat_totals(line: PotlineSim) -> tuple[np.ndarray, float]:
    """Per-cell internal heat surplus so far (J): electrical in − busbar share − reaction − alumina heating.

    Alumina heating is counted on the alumina consumed (smooth) rather than on the shots fed (lumpy: one
    3.6 kg shot is ~7.7 MJ), so a one-minute measurement is already a fair estimate of the balance. The
    heat hooks run after the interval's heat sinks were updated, so the duty set here applies to the next
    interval.
    """
    acc = line.potline.acc
    feed_heat = acc[L.A_ALUMINA_CONSUMED_KG] * line.potline.params[L.P_ALUMINA_HEAT_J_PER_KG]
    surplus = acc[L.A_ENERGY_IN_J] - acc[L.A_ENERGY_EXTERNAL_J] - acc[L.A_ENERGY_REACTION_J] - feed_heat
    return surplus.copy(), line.potline.time_s


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
    plant.change(lambda: set_outage(False))


def _set_row(plant: Plant, event: Event, name: str, value: float) -> None:
    for line in _lines(plant, event):
        line.sync(plant.env.now)
        line.potline.set_cells(name, _cells(line, event), value)


def _shortfall(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    _set_row(plant, event, "feed_efficiency", 1.0 - event.fields["fraction"])
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    _set_row(plant, event, "feed_efficiency", 1.0)


def _quality(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    lines = _lines(plant, event)
    for line in lines:
        line.sync(plant.env.now)
        line.potline.params[L.P_K_DISS] *= event.fields["dissolution_factor"]
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    for line in lines:
        line.sync(plant.env.now)
        line.potline.params[L.P_K_DISS] /= event.fields["dissolution_factor"]


def _feed_strategy(plant: Plant, event: Event) -> Generator[Any, Any, None]:
    yield _wait(plant, event.at_h)
    _set_row(plant, event, "feed_strategy", L.FEED_STRATEGIES[event.fields["strategy"]])


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
    _set_row(plant, event, "in_line", 0.0)
    yield plant.env.timeout(event.fields["duration_h"] * HOUR_S)
    _set_row(plant, event, "in_line", 1.0)
