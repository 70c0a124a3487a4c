"""The plant parameter file: potlines (with rectifiers and cranes), captive coal units, grid tie,
renewables and prices, validated against ``schema/plant.csv`` like the cell-technology files.

Layout: ``[meta]``, ``[plant]``, ``[potroom]`` (the control loops' settings),
one ``[[potline]]`` per line (plus ``name`` and ``technology``, a model
file path relative to the plant file), ``[[coal_unit]]`` per unit (plus ``name``), ``[grid]``,
``[renewables]``, ``[economics]``; optionally ``[grid_services]`` (rectifier droop, reserve calls and the
island's unit dynamics, :mod:`twin.plant.grid_services`) and ``[[load_shed]]`` blocks in shedding order (plus
``name`` and ``potline``; thresholds must not rise along the order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from twin.errors import ModelError, field_error
from twin.params.schema import plant_schema
from twin.params.technology import Technology, load_technology
from twin.params.validate import Value, check_meta, check_table
from twin_edge.configfile import check_keys, read_toml

SINGLE_SECTIONS = ("plant", "potroom", "grid", "renewables", "economics")
OPTIONAL_SECTIONS = ("grid_services",)


@dataclass(frozen=True)
class Component:
    """One validated component (a potline, a coal unit, the grid...): values keyed by parameter name."""

    name: str
    values: Mapping[str, Value]
    sources: Mapping[str, str]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass(frozen=True)
class PotlineSpec(Component):
    technology: Technology = None  # type: ignore[assignment]


@dataclass(frozen=True)
class PlantSpec:
    """A validated plant: its components, each potline with its cell technology loaded."""

    name: str
    title: str
    origin: str
    plant: Component
    potroom: Component  # the potroom's control-loop settings, for every potline (twin.plant.control)
    potlines: tuple[PotlineSpec, ...]
    coal_units: tuple[Component, ...]
    grid: Component
    renewables: Component
    economics: Component
    grid_services: Component | None = None  # [grid_services], None when the plant file has none
    load_shed: tuple[Component, ...] = ()  # [[load_shed]] blocks in shedding order


def load_plant(path: str | Path) -> PlantSpec:
    """Load and validate a plant file and the technology files its potlines name."""
    path = Path(path)
    doc = read_toml(path, ModelError)
    origin = str(path)
    schema = plant_schema()
    meta = check_meta(doc, origin)
    known = {"meta", "potline", "coal_unit", "load_shed", *SINGLE_SECTIONS, *OPTIONAL_SECTIONS}
    check_keys(doc, known, origin, error=ModelError, noun="section")
    singles = {}
    for section in SINGLE_SECTIONS:
        values, sources = check_table(doc.get(section), section, schema, origin, section)
        singles[section] = Component(section, MappingProxyType(values), MappingProxyType(sources))
    potlines = tuple(_potline(t, n, path, schema) for n, t in enumerate(_array(doc, "potline", origin), 1))
    units = tuple(_named(t, "coal_unit", n, origin, schema) for n, t in enumerate(_array(doc, "coal_unit", origin), 1))
    _unique([p.name for p in potlines], "potline", origin)
    _unique([u.name for u in units], "coal_unit", origin)
    grid_services = None
    if "grid_services" in doc:
        values, sources = check_table(doc["grid_services"], "grid_services", schema, origin, "grid_services")
        grid_services = Component("grid_services", MappingProxyType(values), MappingProxyType(sources))
        if values["fcr_full_activation_Hz"] <= values["fcr_deadband_Hz"]:
            raise field_error(
                ModelError,
                origin,
                "grid_services.fcr_full_activation_Hz",
                values["fcr_full_activation_Hz"],
                f"more than grid_services.fcr_deadband_Hz ({values['fcr_deadband_Hz']:g} Hz)",
            )
    shed = _load_shed(doc, origin, schema, [p.name for p in potlines], grid_services)
    for n, line in enumerate(potlines, 1):
        design = line.technology.number("thermal.exchanger_design_duty_kW")
        if design > line["heat_exchanger_capacity_kW"]:
            raise field_error(
                ModelError,
                origin,
                f"potline[{n}].heat_exchanger_capacity_kW",
                line["heat_exchanger_capacity_kW"],
                f"at least the technology's exchanger_design_duty_kW ({design:g} kW of {line.technology.name}): "
                "a cell insulated for exchangers needs them installed",
            )
    return PlantSpec(
        meta["name"],
        str(meta.get("title", meta["name"])),
        origin,
        singles["plant"],
        singles["potroom"],
        potlines,
        units,
        singles["grid"],
        singles["renewables"],
        singles["economics"],
        grid_services,
        shed,
    )


def _load_shed(
    doc: Mapping[str, Any], origin: str, schema: Any, potlines: list[str], grid_services: Component | None
) -> tuple[Component, ...]:
    """The ``[[load_shed]]`` blocks: each names a potline, thresholds never rise along the shedding order."""
    tables = doc.get("load_shed", [])
    if not isinstance(tables, list):
        raise field_error(ModelError, origin, "load_shed", tables, "an array of [[load_shed]] tables")
    if tables and grid_services is None:
        raise ModelError(f"{origin}: [[load_shed]] blocks need a [grid_services] table (the island's dynamics)")
    blocks = []
    for n, table in enumerate(tables, 1):
        block = _named(table, "load_shed", n, origin, schema, frozenset({"name", "potline"}))
        line = table.get("potline")
        if line not in potlines:
            raise field_error(ModelError, origin, f"load_shed[{n}].potline", line, "one of " + ", ".join(potlines))
        if blocks and block["frequency_Hz"] > blocks[-1]["frequency_Hz"]:
            raise field_error(
                ModelError,
                origin,
                f"load_shed[{n}].frequency_Hz",
                block["frequency_Hz"],
                f"at most the previous block's {blocks[-1]['frequency_Hz']:g} Hz (blocks are listed in shedding order)",
            )
        values = dict(block.values)
        values["potline"] = line
        blocks.append(Component(block.name, MappingProxyType(values), block.sources))
    _unique([b.name for b in blocks], "load_shed", origin)
    return tuple(blocks)


def _array(doc: Mapping[str, Any], section: str, origin: str) -> list[Any]:
    tables = doc.get(section, [])
    if not isinstance(tables, list) or (section == "potline" and not tables):
        raise field_error(ModelError, origin, section, tables, f"one or more [[{section}]] tables")
    return tables


def _named(
    table: Any, section: str, n: int, origin: str, schema: Any, extra: frozenset[str] | None = None
) -> Component:
    label = f"{section}[{n}]"
    name = table.get("name") if isinstance(table, Mapping) else None
    if not isinstance(name, str) or not name:
        raise field_error(ModelError, origin, f"{label}.name", name, "a non-empty name")
    if extra is None:
        extra = frozenset({"name", "technology"} if section == "potline" else {"name"})
    values, sources = check_table(table, section, schema, origin, label, extra)
    return Component(name, MappingProxyType(values), MappingProxyType(sources))


def _potline(table: Any, n: int, plant_path: Path, schema: Any) -> PotlineSpec:
    component = _named(table, "potline", n, str(plant_path), schema)
    tech_ref = table.get("technology")
    if not isinstance(tech_ref, str):
        raise field_error(
            ModelError,
            str(plant_path),
            f"potline[{n}].technology",
            tech_ref,
            "a model file path relative to the plant file",
        )
    technology = load_technology(plant_path.parent / tech_ref)
    return PotlineSpec(component.name, component.values, component.sources, technology)


def _unique(names: list[str], section: str, origin: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise field_error(ModelError, origin, f"{section}.name", name, "a name used only once")
        seen.add(name)
