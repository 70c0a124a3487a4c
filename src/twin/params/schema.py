"""Parameter schema tables: every parameter declared once with type, unit, valid range and meaning.

The tables live in ``schema/*.csv`` next to this module (PyPSA's component-attribute idea, style.md
practice 3). A model file may only set declared parameters, and must set all of them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One declared parameter: ``section.name`` with its type, unit and valid range."""

    section: str
    name: str
    kind: str  # "float", "int" or "str"
    unit: str
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...]
    description: str

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    def describe_valid(self) -> str:
        """Human-readable statement of what values are valid."""
        if self.kind == "str":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "list24":
            return f"24 hourly numbers in [{self.minimum:g}, {self.maximum:g}] {self.unit}"
        article = "an integer" if self.kind == "int" else "a number"
        return f"{article} in [{self.minimum:g}, {self.maximum:g}] {self.unit}"


def _parse_row(row: dict[str, str]) -> ParamSpec:
    kind = row["type"]
    if kind == "str":
        return ParamSpec(
            row["section"], row["name"], kind, row["unit"], None, None, tuple(row["min"].split("|")), row["description"]
        )
    return ParamSpec(
        row["section"], row["name"], kind, row["unit"], float(row["min"]), float(row["max"]), (), row["description"]
    )


@cache
def load_schema(name: str) -> dict[str, ParamSpec]:
    """The parameter table ``schema/<name>.csv``, keyed by ``section.name``."""
    text = resources.files("twin.params").joinpath(f"schema/{name}.csv").read_text(encoding="utf-8")
    return {spec.key: spec for spec in map(_parse_row, csv.DictReader(text.splitlines()))}


@cache
def kernel_rows() -> tuple[tuple[str, str, float], ...]:
    """(kernel row name, ``section.name``, factor to the kernel unit) of every technology parameter the kernel
    reads directly, in schema order (the ``kernel`` and ``to_kernel`` columns of ``schema/technology.csv``)."""
    text = resources.files("twin.params").joinpath("schema/technology.csv").read_text(encoding="utf-8")
    return tuple(
        (row["kernel"], f"{row['section']}.{row['name']}", float(row["to_kernel"]))
        for row in csv.DictReader(text.splitlines())
        if row.get("kernel")
    )


def technology_schema() -> dict[str, ParamSpec]:
    """The cell-technology parameter table, keyed by ``section.name``."""
    return load_schema("technology")


def plant_schema() -> dict[str, ParamSpec]:
    """The plant (potlines, rectifiers, power supply, economics) parameter table."""
    return load_schema("plant")
