"""Typed, validated, immutable cell-technology parameter sets loaded from ``models/*.toml``.

A model file has a ``[meta]`` table (name, title, description) and one table per schema section.
Every parameter is an inline table ``{ value = …, unit = "…", source = "…" }``; the unit must be the
schema's, the value must be in the schema's range and the source must say where the number comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from twin.errors import ModelError
from twin.params.schema import technology_schema
from twin.params.validate import Value, check_meta, check_table, check_value
from twin_edge.configfile import check_keys, known_hint, read_toml


@dataclass(frozen=True)
class Technology:
    """A validated cell technology: parameter values keyed ``section.name``, with their sources."""

    name: str
    title: str
    origin: str
    values: Mapping[str, Value]
    sources: Mapping[str, str] = field(repr=False)

    def __getitem__(self, key: str) -> Value:
        try:
            return self.values[key]
        except KeyError:
            raise ModelError(f"{self.origin}: no parameter {key!r}; known: {', '.join(self.values)}") from None

    def number(self, key: str) -> float:
        """The value of a numeric parameter as float."""
        value = self[key]
        if isinstance(value, str):
            raise ModelError(f"{self.origin}: parameter {key!r} is text ({value!r}), not a number")
        return float(value)

    def with_overrides(self, overrides: Mapping[str, Any], origin: str) -> Technology:
        """A copy with some parameters replaced; each override is validated like a model-file value.

        ``origin`` names where the overrides come from (e.g. a scenario file) for error messages.
        """
        schema = technology_schema()
        values = dict(self.values)
        sources = dict(self.sources)
        for key, raw in overrides.items():
            spec = schema.get(key)
            if spec is None:
                raise ModelError(f"{origin}: override {key!r} is not a model parameter{known_hint(key, schema)}")
            values[key] = check_value(spec, raw, origin, key)
            sources[key] = f"override from {origin}"
        return Technology(self.name, self.title, self.origin, MappingProxyType(values), MappingProxyType(sources))


def load_technology(path: str | Path) -> Technology:
    """Load and validate a model file; every problem is a :class:`ModelError` naming file, key and value."""
    return technology_from_dict(read_toml(path, ModelError), str(path))


def technology_from_dict(doc: Mapping[str, Any], origin: str) -> Technology:
    """Validate a parsed model document (see module docstring for the layout)."""
    schema = technology_schema()
    meta = check_meta(doc, origin)
    sections = sorted({spec.section for spec in schema.values()})
    check_keys(doc, ["meta", *sections], origin, error=ModelError, noun="section")
    values: dict[str, Value] = {}
    sources: dict[str, str] = {}
    for section in sections:
        if section not in doc:
            raise ModelError(f"{origin}: missing section [{section}]")
        section_values, section_sources = check_table(doc[section], section, schema, origin, section)
        values.update({f"{section}.{k}": v for k, v in section_values.items()})
        sources.update({f"{section}.{k}": v for k, v in section_sources.items()})
    return Technology(
        meta["name"], str(meta.get("title", meta["name"])), origin, MappingProxyType(values), MappingProxyType(sources)
    )
