"""The optimiser's inputs: the plant file plus a dispatch file of what only the optimiser needs.

The dispatch file (``models/dispatch_*.toml``, schema ``schema/dispatch.csv`` next to this module) holds, each
value with unit and source, what the plant file does not: unit commitment data (minimum up/down times,
start-up cost, initial state, heat-rate segments), the tariff (time of use, China's tiered price for
aluminium), each potline's flexibility limits and margins, carbon accounting and solver settings. It is
validated with the plant file's helpers (:mod:`twin.params.validate`); ``[[coal_unit]]`` and ``[[potline]]``
entries are matched by name, an entry named ``default`` covering the rest.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from twin.errors import ModelError, field_error
from twin.params import Component, ParamSpec, PlantSpec, load_plant
from twin.params.validate import check_meta, check_table
from twin_edge.configfile import check_keys, read_toml

SINGLE_SECTIONS = ("tariff", "carbon", "solver")
NAMED_SECTIONS = ("coal_unit", "potline")


@cache
def dispatch_schema() -> dict[str, ParamSpec]:
    """The dispatch-file parameter table, keyed by ``section.name``."""
    text = resources.files("twin.optimise").joinpath("schema/dispatch.csv").read_text(encoding="utf-8")
    specs = {}
    for row in csv.DictReader(text.splitlines()):
        spec = ParamSpec(row["section"], row["name"], row["type"], row["unit"], float(row["min"]), float(row["max"]),
                         (), row["description"])
        specs[spec.key] = spec
    return specs


@dataclass(frozen=True)
class DispatchSpec:
    """A validated dispatch file, resolved against its plant: one component per coal unit and potline."""

    name: str
    origin: str
    coal_units: tuple[Component, ...]  # in the plant file's order
    potlines: tuple[Component, ...]  # in the plant file's order
    tariff: Component
    carbon: Component
    solver: Component


@dataclass(frozen=True)
class Inputs:
    """Everything one optimisation needs: the plant, its dispatch data, and the plant file's path."""

    plant: PlantSpec
    dispatch: DispatchSpec
    plant_path: str


def load_inputs(plant_path: str | Path, dispatch_path: str | Path | None = None) -> Inputs:
    """Load the plant file and its dispatch file (default: ``dispatch_<plant name>.toml`` beside the plant
    file, else ``dispatch_reference.toml`` there)."""
    plant_path = Path(plant_path)
    plant = load_plant(plant_path)
    if dispatch_path is None:
        own = plant_path.parent / f"dispatch_{plant.name}.toml"
        dispatch_path = own if own.exists() else plant_path.parent / "dispatch_reference.toml"
    return Inputs(plant, load_dispatch(dispatch_path, plant), str(plant_path))


def load_dispatch(path: str | Path, plant: PlantSpec) -> DispatchSpec:
    """Validate a dispatch file against the schema and resolve its named entries against ``plant``."""
    origin = str(path)
    doc = read_toml(path, ModelError)
    schema = dispatch_schema()
    meta = check_meta(doc, origin, extra=("plant",))
    known = {"meta", *SINGLE_SECTIONS, *NAMED_SECTIONS}
    check_keys(doc, known, origin, error=ModelError, noun="section")
    singles = {}
    for section in SINGLE_SECTIONS:
        values, sources = check_table(doc.get(section), section, schema, origin, section)
        singles[section] = Component(section, MappingProxyType(values), MappingProxyType(sources))
    units = _resolve(doc, "coal_unit", [u.name for u in plant.coal_units], schema, origin)
    lines = _resolve(doc, "potline", [p.name for p in plant.potlines], schema, origin)
    for line, entry in zip(plant.potlines, lines, strict=True):
        if entry["current_min_fraction"] > entry["current_max_fraction"]:
            raise field_error(ModelError, origin, f"potline[{entry.name}].current_min_fraction",
                              entry["current_min_fraction"], f"at most current_max_fraction "
                              f"({entry['current_max_fraction']:g}) for potline {line.name}")
    return DispatchSpec(meta["name"], origin, units, lines, singles["tariff"], singles["carbon"], singles["solver"])


def _resolve(doc: Mapping[str, Any], section: str, names: list[str], schema: Any, origin: str) -> tuple[Component, ...]:
    tables = doc.get(section, [])
    if not isinstance(tables, list):
        raise field_error(ModelError, origin, section, tables, f"an array of [[{section}]] tables")
    by_name: dict[str, Component] = {}
    for n, table in enumerate(tables, 1):
        label = f"{section}[{n}]"
        if not isinstance(table, Mapping) or not isinstance(table.get("name"), str):
            raise field_error(ModelError, origin, f"{label}.name", None if not isinstance(table, Mapping)
                              else table.get("name"), f"the name of a {section} of the plant or 'default'")
        name = table["name"]
        if name != "default" and name not in names:
            raise field_error(ModelError, origin, f"{label}.name", name,
                              f"one of the plant's {section} names ({', '.join(names)}) or 'default'")
        if name in by_name:
            raise field_error(ModelError, origin, f"{label}.name", name, "a name not used before in this file")
        values, sources = check_table(table, section, schema, origin, label, extra_keys=frozenset({"name"}))
        by_name[name] = Component(name, MappingProxyType(values), MappingProxyType(sources))
    out = []
    for name in names:
        entry = by_name.get(name, by_name.get("default"))
        if entry is None:
            raise ModelError(f"{origin}: no [[{section}]] entry for {name!r} and no 'default' entry")
        out.append(Component(name, entry.values, entry.sources))
    return tuple(out)
