"""A dispatch schedule imposed on the running plant: each potline's current and exchanger duty, and which
captive units are committed, step by step (the optimiser's answer as a scenario event, docs/optimise.md).

The file is a CSV with a header: ``time_h`` (from the event's start, 0 first, strictly rising), then for each
potline ``<line>_current_kA`` (required) and ``<line>_duty_kW`` (optional), and for each unit ``<unit>_on``
(optional, 0 or 1). Each row holds from its time until the next (the last one until the run ends).

At each row the plant closes its interval and applies the row through its named state changes: the line
setpoint, :meth:`twin.cell.Potline.set_hx_duty` (every cell of the line) and the units' availability, then
re-dispatches (:meth:`twin.plant.Plant.change`). The committed units' outputs follow the plant's own merit
order around the scheduled load, with the grid tie as the slack; the schedule's unit outputs are not imposed.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.errors import ScenarioError
from twin.params import PlantSpec
from twin_edge.configfile import read_text

if TYPE_CHECKING:
    from twin.plant import Plant

HOUR_S = 3600.0
MAX_ROWS = 100_000
MAX_BYTES = 16 * 1024 * 1024
CURRENT_RANGE_KA = (0.0, 700.0)


@dataclass(frozen=True)
class ScheduleSteps:
    """A validated schedule: times (h from the start) and per row the values by column name."""

    times_h: tuple[float, ...]
    current_kA: dict[str, tuple[float, ...]]  # per potline
    duty_kW: dict[str, tuple[float, ...]]  # per potline that has a duty column
    on: dict[str, tuple[bool, ...]]  # per unit that has a commitment column


def load_schedule_csv(path: Path, plant: PlantSpec, label: str) -> ScheduleSteps:
    """Read and check a schedule CSV against ``plant`` (module docstring); errors name file, row and column."""
    text = read_text(path, ScenarioError, MAX_BYTES)
    return parse_schedule(text, plant, f"{path}: {label}")


def parse_schedule(text: str, plant: PlantSpec, label: str) -> ScheduleSteps:
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2 or len(rows) > MAX_ROWS + 1:
        raise ScenarioError(f"{label} is invalid; expected a header and 1 to {MAX_ROWS} rows")
    header = [h.strip() for h in rows[0]]
    lines = {p.name: p for p in plant.potlines}
    units = [u.name for u in plant.coal_units]
    known = ["time_h"] + [f"{n}_current_kA" for n in lines] + [f"{n}_duty_kW" for n in lines]
    known += [f"{u}_on" for u in units]
    for name in header:
        if name not in known:
            raise ScenarioError(f"{label}: unknown column {name!r}; known: {', '.join(known)}")
    if len(set(header)) != len(header):
        raise ScenarioError(f"{label}: a column appears twice in the header")
    for name in ["time_h"] + [f"{n}_current_kA" for n in lines]:
        if name not in header:
            raise ScenarioError(f"{label}: missing column {name!r}")
    columns: dict[str, list[float]] = {name: [] for name in header}
    for n, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise ScenarioError(f"{label} row {n} is invalid; expected {len(header)} values")
        for name, raw in zip(header, row, strict=True):
            try:
                value = float(raw)
            except ValueError:
                raise ScenarioError(f"{label} row {n} column {name} = {raw!r} is invalid; expected a number") from None
            columns[name].append(_check(value, name, n, label, lines))
    times = columns["time_h"]
    if times[0] != 0.0 or any(b <= a for a, b in itertools.pairwise(times)):
        raise ScenarioError(f"{label}: column time_h is invalid; expected hours from 0, strictly rising")
    return ScheduleSteps(
        tuple(times),
        {n: tuple(columns[f"{n}_current_kA"]) for n in lines},
        {n: tuple(columns[f"{n}_duty_kW"]) for n in lines if f"{n}_duty_kW" in columns},
        {u: tuple(v > 0.5 for v in columns[f"{u}_on"]) for u in units if f"{u}_on" in columns},
    )


def _check(value: float, name: str, row: int, label: str, lines: dict[str, Any]) -> float:
    if not math.isfinite(value):
        raise ScenarioError(f"{label} row {row} column {name} = {value!r} is invalid; expected a finite number")
    if name == "time_h":
        valid = (0.0, 8784.0)
    elif name.endswith("_current_kA"):
        valid = CURRENT_RANGE_KA
    elif name.endswith("_duty_kW"):
        valid = (0.0, float(lines[name.removesuffix("_duty_kW")]["heat_exchanger_capacity_kW"]))
    else:
        valid = (0.0, 1.0)
        if value not in valid:
            raise ScenarioError(f"{label} row {row} column {name} = {value:g} is invalid; expected 0 or 1")
    if not valid[0] <= value <= valid[1]:
        raise ScenarioError(
            f"{label} row {row} column {name} = {value:g} is invalid; expected a number in [{valid[0]:g}, {valid[1]:g}]"
        )
    return value


def run_schedule(plant: Plant, start_s: float, steps: ScheduleSteps) -> Generator[Any, Any, None]:
    """Apply each row of ``steps`` at its time after ``start_s`` (module docstring)."""
    for k, time_h in enumerate(steps.times_h):
        yield plant.env.timeout(max(start_s + time_h * HOUR_S - plant.env.now, 0.0))

        def apply(k: int = k) -> None:
            for line in plant.lines:
                line.setpoint_kA = steps.current_kA[line.name][k]
                if line.name in steps.duty_kW:
                    line.potline.set_hx_duty(None, steps.duty_kW[line.name][k] * 1e3)
            for name, on in steps.on.items():
                plant.set_unit_available(name, on[k])

        plant.change(apply)
