"""Scenario files: which plant, how long, which seed, parameter overrides and a timeline of events.

Layout (TOML)::

    [scenario]
    name = "baseline"            # text
    plant = "../models/plant_reference.toml"   # relative to the scenario file
    horizon_h = 48.0             # simulated hours, (0, 8784]
    seed = 42                    # integer >= 0
    dt_s = 1.0                   # kernel step, (0, 60]
    slow_every = 60              # slow-term cadence in steps, [1, 3600]
    interval_s = 300.0           # dispatch/record interval, [10, 3600]

    [overrides]                  # cell-technology parameters for every potline ("section.name" = value)
    "control.target_voltage_V" = 4.25

    [potroom]                    # optional: switch the potroom's loops off (all true by default)
    alf3 = false                 # see twin.plant.control.Controls for the names

    [[event]]                    # any number; see EVENT_FIELDS for the kinds and their fields
    kind = "outage"
    at_h = 12.0
    duration_h = 3.0
    potline = "all"

Every problem is a :class:`~twin.errors.ScenarioError` naming the file, the field, the value and what
is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.errors import ModelError, ScenarioError, field_error
from twin.params import PlantSpec, load_plant
from twin.plant.control import Controls
from twin_edge.configfile import check_keys, known_hint, parse_toml, read_text

Number = int | float

#: field -> (kind, low, high) for [scenario]; kind is "str", "int", "float"
SCENARIO_FIELDS: dict[str, tuple[str, float, float]] = {
    "name": ("str", 0, 0),
    "description": ("str", 0, 0),
    "plant": ("str", 0, 0),
    "horizon_h": ("float", 1e-3, 8784.0),
    "seed": ("int", 0, 2**63 - 1),
    "dt_s": ("float", 1e-3, 60.0),
    "slow_every": ("int", 1, 3600),
    "interval_s": ("float", 10.0, 3600.0),
}
SCENARIO_DEFAULTS: dict[str, Any] = {"description": "", "dt_s": 1.0, "slow_every": 60, "interval_s": 300.0}

#: event kind -> field -> (type, low, high, required); type "potline" = a potline name or "all"
POTLINE = ("potline", 0, 0, True)
DURATION = ("float", 0.0, 8784.0, True)
EVENT_FIELDS: dict[str, dict[str, tuple[str, float, float, bool]]] = {
    "line_current": {"potline": POTLINE, "value_kA": ("float", 0.0, 700.0, True)},
    "amperage_creep": {"potline": POTLINE, "rate_kA_per_week": ("float", -50.0, 50.0, True),
                       "until_h": ("float", 0.0, 8784.0, False), "compensation": ("bool", 0, 0, False)},
    "curtailment": {"potline": POTLINE, "fraction": ("float", 0.0, 0.6, True), "duration_h": DURATION,
                    "heat_exchangers": ("bool", 0, 0, False), "heat_exchanger_kW": ("float", 0.0, 500.0, False),
                    "compensation": ("bool", 0, 0, False)},
    "outage": {"potline": POTLINE, "duration_h": DURATION},
    "alumina_shortfall": {"potline": POTLINE, "fraction": ("float", 0.0, 1.0, True), "duration_h": DURATION},
    "alumina_quality": {"potline": POTLINE, "dissolution_factor": ("float", 0.05, 10.0, True), "duration_h": DURATION},
    "feed_strategy": {"potline": POTLINE, "strategy": ("strategy", 0, 0, True), "cells": ("cells", 0, 0, False)},
    "unit_trip": {"unit": ("unit", 0, 0, True), "duration_h": DURATION},
    "rectifier_trip": {"potline": POTLINE, "units": ("int", 1, 12, True), "duration_h": DURATION},
    "cell_cut_out": {"potline": POTLINE, "cells": ("cells", 0, 0, True), "duration_h": DURATION},
    "resistance_target": {"potline": POTLINE, "voltage_V": ("float", 2.5, 8.0, False),
                          "delta_mV": ("float", -1000.0, 1000.0, False), "cells": ("cells", 0, 0, False)},
    # grid services (twin.plant.grid_events, twin.plant.island; docs/scenarios.md "Grid services")
    "frequency_response": {"potline": POTLINE, "points": ("profile", 0, 0, False), "csv": ("str", 0, 0, False),
                           "step_s": ("float", 1.0, 60.0, False)},
    "reserve_call": {"potline": POTLINE, "fraction": ("float", 0.01, 1.0, True), "duration_h": DURATION},
    "tie_trip": {"duration_h": DURATION},
    # a dispatch schedule, e.g. the optimiser's (twin.plant.schedule; docs/optimise.md)
    "schedule": {"csv": ("str", 0, 0, True)},
}
#: events whose fields need exactly one of a group
ONE_OF: dict[str, tuple[str, ...]] = {"resistance_target": ("voltage_V", "delta_mV"),
                                      "frequency_response": ("points", "csv")}
STRATEGIES = ("tracking", "fixed", "none")


@dataclass(frozen=True)
class Event:
    """One scheduled event: its kind, when it starts and its validated fields."""

    kind: str
    at_h: float
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, with its plant loaded."""

    name: str
    description: str
    origin: str
    plant: PlantSpec
    horizon_h: float
    seed: int
    dt_s: float
    slow_every: int
    interval_s: float
    overrides: Mapping[str, Any]
    events: tuple[Event, ...]
    text: str = field(repr=False, default="")
    controls: Controls = field(default_factory=Controls)


def load_scenario(path: str | Path, *, seed: int | None = None) -> Scenario:
    """Load and validate a scenario file (``seed`` overrides the file's seed)."""
    path = Path(path)
    text = read_text(path, ScenarioError, what="scenario file")
    return scenario_from_text(text, str(path), base_dir=path.parent, seed=seed)


def scenario_from_text(text: str, origin: str, *, base_dir: Path, seed: int | None = None) -> Scenario:
    """Validate a scenario given as TOML text; ``base_dir`` resolves the relative plant path."""
    doc = parse_toml(text, origin, ScenarioError)
    return scenario_from_dict(doc, origin, base_dir=base_dir, seed=seed, text=text)


def scenario_from_dict(
    doc: Mapping[str, Any], origin: str, *, base_dir: Path, seed: int | None = None, text: str = ""
) -> Scenario:
    """Validate a parsed scenario document."""
    check_keys(doc, ("scenario", "overrides", "potroom", "event"), origin, error=ScenarioError, noun="section")
    head = doc.get("scenario")
    if not isinstance(head, Mapping):
        raise ScenarioError(f"{origin}: a [scenario] table is required")
    values = dict(SCENARIO_DEFAULTS)
    check_keys(head, SCENARIO_FIELDS, origin, "scenario", ScenarioError, noun="field")
    for key, raw in head.items():
        values[key] = _check(raw, *SCENARIO_FIELDS[key], origin, f"scenario.{key}")
    for key in ("name", "plant", "horizon_h", "seed"):
        if key not in values:
            raise ScenarioError(f"{origin}: missing field scenario.{key}")
    if seed is not None:
        values["seed"] = _check(seed, *SCENARIO_FIELDS["seed"], origin, "--seed")
    try:
        plant = load_plant(base_dir / values["plant"])
    except ModelError as exc:
        raise ScenarioError(f"{origin}: scenario.plant = {values['plant']!r}: {exc}") from None
    overrides = doc.get("overrides", {})
    if not isinstance(overrides, Mapping):
        raise field_error(ScenarioError, origin, "overrides", overrides, 'a table of "section.name" = value')
    for line in plant.potlines:
        try:
            line.technology.with_overrides(overrides, f"{origin} [overrides]")
        except ModelError as exc:
            raise ScenarioError(str(exc)) from None
    controls = _controls(doc.get("potroom", {}), origin)
    raw_events = doc.get("event", [])
    if not isinstance(raw_events, list):
        raise field_error(ScenarioError, origin, "event", raw_events, "an array of [[event]] tables")
    events = tuple(
        _event(e, n, origin, plant, values["horizon_h"], base_dir) for n, e in enumerate(raw_events, 1)
    )
    return Scenario(
        values["name"],
        values["description"],
        origin,
        plant,
        values["horizon_h"],
        values["seed"],
        values["dt_s"],
        values["slow_every"],
        values["interval_s"],
        dict(overrides),
        tuple(sorted(events, key=lambda e: e.at_h)),
        text,
        controls,
    )


def _controls(raw: Any, origin: str) -> Controls:
    """The ``[potroom]`` switches: each a loop name of :class:`~twin.plant.control.Controls` = true/false."""
    if not isinstance(raw, Mapping):
        raise field_error(ScenarioError, origin, "potroom", raw, "a table of loop = true|false")
    names = Controls.names()
    values = {}
    check_keys(raw, names, origin, "potroom", ScenarioError, noun="field")
    for key, value in raw.items():
        if not isinstance(value, bool):
            raise field_error(ScenarioError, origin, f"potroom.{key}", value, "true or false")
        values[key] = value
    return Controls(**values)


def _event(raw: Any, n: int, origin: str, plant: PlantSpec, horizon_h: float, base_dir: Path) -> Event:
    label = f"event[{n}]"
    if not isinstance(raw, Mapping):
        raise field_error(ScenarioError, origin, label, raw, "a table")
    kind = raw.get("kind")
    if kind not in EVENT_FIELDS:
        raise field_error(ScenarioError, origin, f"{label}.kind", kind, "one of " + ", ".join(EVENT_FIELDS))
    at_h = _check(raw.get("at_h"), "float", 0.0, horizon_h, origin, f"{label}.at_h")
    spec = EVENT_FIELDS[kind]
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("kind", "at_h"):
            continue
        if key not in spec:
            known = known_hint(key, ["kind", "at_h", *spec], label)
            raise ScenarioError(f"{origin}: unknown field {label}.{key} for a {kind} event{known}")
        kind_, low, high, _ = spec[key]
        fields[key] = _check_event_value(value, kind_, low, high, origin, f"{label}.{key}", plant)
    for key, (_, _, _, required) in spec.items():
        if required and key not in fields:
            raise ScenarioError(f"{origin}: missing field {label}.{key} for a {kind} event")
    group = ONE_OF.get(kind, ())
    if group and sum(key in fields for key in group) != 1:
        given = {key: fields[key] for key in group if key in fields}
        raise field_error(
            ScenarioError, origin, f"{label}.{'/'.join(group)}", given or None,
            f"exactly one of {' or '.join(group)} for a {kind} event",
        )
    if kind == "schedule":
        from twin.plant.schedule import load_schedule_csv

        fields["steps"] = load_schedule_csv(_inside(base_dir, fields["csv"], origin, label), plant, f"{label}.csv")
    if kind in GRID_KINDS:
        _check_grid_event(kind, fields, origin, label, plant, base_dir)
        if at_h < GRID_REFERENCE_H:
            raise field_error(
                ScenarioError, origin, f"{label}.at_h", at_h,
                f"at least {GRID_REFERENCE_H * 60:g} min: the plant's power is measured over the minute before",
            )
    cells = fields.get("cells")
    if isinstance(cells, tuple):
        lines = [p for p in plant.potlines if fields["potline"] in ("all", p.name)]
        smallest = min(p["cells"] for p in lines)
        if max(cells) > smallest:
            raise field_error(
                ScenarioError,
                origin,
                f"{label}.cells",
                list(cells),
                f"cell numbers in [1, {smallest}] (the potline's cells)",
            )
    return Event(kind, at_h, fields)


GRID_KINDS = ("frequency_response", "reserve_call", "tie_trip")
GRID_REFERENCE_H = 1.0 / 60.0


def _check_grid_event(
    kind: str, fields: dict[str, Any], origin: str, label: str, plant: PlantSpec, base_dir: Path
) -> None:
    """A grid-service event needs the plant's [grid_services]; a frequency profile is read and checked here."""
    if plant.grid_services is None:
        raise ScenarioError(
            f"{origin}: {label} is a {kind} event but the plant {plant.origin} has no [grid_services] table"
        )
    if kind == "tie_trip" and not plant.coal_units:
        raise ScenarioError(f"{origin}: {label} is a tie_trip but the plant has no captive units to run an island")
    if kind != "frequency_response":
        return
    from twin.plant.grid_events import check_profile, load_profile_csv

    if "csv" in fields:
        fields["points"] = load_profile_csv(_inside(base_dir, fields["csv"], origin, label), f"{label}.csv")
    else:
        fields["points"] = check_profile(fields["points"], f"{origin}: {label}.points")


def _inside(base_dir: Path, value: str, origin: str, label: str) -> Path:
    """A data file an event names: a relative path inside the scenario's directory (no ``..``)."""
    path = Path(value)
    if not value or path.is_absolute() or ".." in path.parts:
        raise field_error(ScenarioError, origin, f"{label}.csv", value, "a path inside the scenario's directory")
    return base_dir / path


def _check_event_value(
    value: Any, kind: str, low: float, high: float, origin: str, label: str, plant: PlantSpec
) -> Any:
    if kind == "potline":
        names = [p.name for p in plant.potlines]
        if value != "all" and value not in names:
            raise field_error(ScenarioError, origin, label, value, "'all' or one of " + ", ".join(names))
        return value
    if kind == "unit":
        names = [u.name for u in plant.coal_units]
        if value not in names:
            raise field_error(ScenarioError, origin, label, value, "one of " + ", ".join(names))
        return value
    if kind == "profile":
        return value  # checked whole in _check_grid_event
    if kind == "strategy":
        if value not in STRATEGIES:
            raise field_error(ScenarioError, origin, label, value, "one of " + ", ".join(STRATEGIES))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise field_error(ScenarioError, origin, label, value, "true or false")
        return value
    if kind == "cells":
        if value == "all":
            return value
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in value)
        ):
            raise field_error(ScenarioError, origin, label, value, "'all' or a list of cell numbers (1-based)")
        return tuple(value)
    return _check(value, kind, low, high, origin, label)


def _check(value: Any, kind: str, low: float, high: float, origin: str, label: str) -> Any:
    if kind == "str":
        if not isinstance(value, str):
            raise field_error(ScenarioError, origin, label, value, "a text")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise field_error(ScenarioError, origin, label, value, f"a number in [{low:g}, {high:g}]")
    if kind == "int" and not float(value).is_integer():
        raise field_error(ScenarioError, origin, label, value, f"an integer in [{low:g}, {high:g}]")
    if not (low <= value <= high):
        raise field_error(ScenarioError, origin, label, value, f"a number in [{low:g}, {high:g}]")
    return int(value) if kind == "int" else float(value)
