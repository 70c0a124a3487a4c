"""Typed, validated, immutable cell-technology parameter sets loaded from ``models/*.toml``.

A model file has a ``[meta]`` table (name, title, description) and one table per schema section.
Every parameter is an inline table ``{ value = …, unit = "…", source = "…" }``; the unit must be the
schema's, the value must be in the schema's range and the source must say where the number comes from.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from twin.errors import ModelError, field_error
from twin.params.schema import ParamSpec, technology_schema

Value = float | int | str


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
                raise ModelError(f"{origin}: override {key!r} is not a model parameter; "
                                 f"known: {_suggest(key, schema)}")
            values[key] = _checked_value(spec, raw, origin, key)
            sources[key] = f"override from {origin}"
        return Technology(self.name, self.title, self.origin, MappingProxyType(values),
                          MappingProxyType(sources))


def load_technology(path: str | Path) -> Technology:
    """Load and validate a model file; every problem is a :class:`ModelError` naming file, key and value."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model file ({exc.strerror})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path}: not valid TOML: {exc}") from None
    return technology_from_dict(doc, str(path))


def technology_from_dict(doc: Mapping[str, Any], origin: str) -> Technology:
    """Validate a parsed model document (see module docstring for the layout)."""
    schema = technology_schema()
    meta = doc.get("meta")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise ModelError(f"{origin}: [meta] table with a text 'name' is required")
    sections = {spec.section for spec in schema.values()}
    for section, table in doc.items():
        if section == "meta":
            continue
        if section not in sections:
            raise ModelError(f"{origin}: unknown section [{section}]; valid sections: {', '.join(sorted(sections))}")
        if not isinstance(table, Mapping):
            raise field_error(ModelError, origin, section, table, "a table of parameters")
        for name in table:
            if f"{section}.{name}" not in schema:
                raise ModelError(f"{origin}: unknown parameter {section}.{name}; "
                                 f"known: {_suggest(f'{section}.{name}', schema)}")
    values: dict[str, Value] = {}
    sources: dict[str, str] = {}
    for key, spec in schema.items():
        entry = doc.get(spec.section, {}).get(spec.name)
        if entry is None:
            raise ModelError(f"{origin}: missing parameter {key} ({spec.description}; "
                             f"{spec.describe_valid()})")
        if not isinstance(entry, Mapping) or "value" not in entry:
            raise field_error(ModelError, origin, key, entry, '{ value = ..., unit = "...", source = "..." }')
        unit = entry.get("unit")
        if unit != spec.unit:
            raise field_error(ModelError, origin, f"{key}.unit", unit, f"the unit {spec.unit!r}")
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            raise field_error(ModelError, origin, f"{key}.source", source, "a non-empty text naming the source")
        values[key] = _checked_value(spec, entry["value"], origin, key)
        sources[key] = source
    return Technology(meta["name"], str(meta.get("title", meta["name"])), origin,
                      MappingProxyType(values), MappingProxyType(sources))


def _checked_value(spec: ParamSpec, raw: Any, origin: str, key: str) -> Value:
    if spec.kind == "str":
        if not isinstance(raw, str) or raw not in spec.choices:
            raise field_error(ModelError, origin, key, raw, spec.describe_valid())
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise field_error(ModelError, origin, key, raw, spec.describe_valid())
    if spec.kind == "int" and not float(raw).is_integer():
        raise field_error(ModelError, origin, key, raw, spec.describe_valid())
    if not math.isfinite(raw) or not (spec.minimum <= raw <= spec.maximum):  # type: ignore[operator]
        raise field_error(ModelError, origin, key, raw, spec.describe_valid())
    return int(raw) if spec.kind == "int" else float(raw)


def _suggest(key: str, schema: Mapping[str, ParamSpec]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(schema), n=3)
    return ", ".join(close) if close else "see src/twin/params/schema/technology.csv"
