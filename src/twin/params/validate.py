"""Shared validation of ``{ value = …, unit = "…", source = "…" }`` entries against schema rows.

The files themselves are read, parsed and their unknown keys refused by :mod:`twin_edge.configfile`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from twin.errors import ModelError, field_error
from twin.params.schema import ParamSpec
from twin_edge.configfile import check_keys

Value = float | int | str | tuple[float, ...]

META_KEYS = ("name", "title", "description")


def check_meta(doc: Mapping[str, Any], origin: str, extra: tuple[str, ...] = ()) -> Mapping[str, Any]:
    """Return the file's ``[meta]`` table: text ``name`` required, ``title``/``description`` texts, nothing else.

    ``extra`` names further keys a kind of file allows (a dispatch file's ``plant``); any other key is refused
    with the file, the key and the known keys, as everywhere else in a model file."""
    meta = doc.get("meta")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
        raise ModelError(f"{origin}: [meta] table with a text 'name' is required")
    known = (*META_KEYS, *extra)
    check_keys(meta, known, origin, where="meta", error=ModelError)
    for key in known:
        if key in meta and not isinstance(meta[key], str):
            raise field_error(ModelError, origin, f"meta.{key}", meta[key], "a text")
    return meta


def check_entry(spec: ParamSpec, entry: Any, origin: str, key: str) -> tuple[Value, str]:
    """Validate one parameter entry; return (value, source)."""
    if not isinstance(entry, Mapping) or "value" not in entry:
        raise field_error(ModelError, origin, key, entry, '{ value = ..., unit = "...", source = "..." }')
    unit = entry.get("unit")
    if unit != spec.unit:
        raise field_error(ModelError, origin, f"{key}.unit", unit, f"the unit {spec.unit!r}")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise field_error(ModelError, origin, f"{key}.source", source, "a non-empty text naming the source")
    return check_value(spec, entry["value"], origin, key), source


def check_value(spec: ParamSpec, raw: Any, origin: str, key: str) -> Value:
    """Validate a bare value against its schema row (type, range, choices)."""
    if spec.kind == "str":
        if not isinstance(raw, str) or raw not in spec.choices:
            raise field_error(ModelError, origin, key, raw, spec.describe_valid())
        return raw
    if spec.kind == "list24":
        if not isinstance(raw, list) or len(raw) != 24:
            raise field_error(
                ModelError, origin, key, raw, f"24 hourly numbers in [{spec.minimum:g}, {spec.maximum:g}] {spec.unit}"
            )
        return tuple(float(check_value(_scalar(spec), v, origin, f"{key}[{h}]")) for h, v in enumerate(raw))
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise field_error(ModelError, origin, key, raw, spec.describe_valid())
    if spec.kind == "int" and not float(raw).is_integer():
        raise field_error(ModelError, origin, key, raw, spec.describe_valid())
    lo, hi = spec.minimum or 0.0, spec.maximum or 0.0
    if not math.isfinite(raw) or not (lo <= raw <= hi):
        raise field_error(ModelError, origin, key, raw, spec.describe_valid())
    return int(raw) if spec.kind == "int" else float(raw)


def check_table(
    table: Any,
    section: str,
    schema: Mapping[str, ParamSpec],
    origin: str,
    label: str,
    extra_keys: frozenset[str] = frozenset(),
) -> tuple[dict[str, Value], dict[str, str]]:
    """Validate one TOML table holding every parameter of ``section``; ``label`` names it in messages."""
    if not isinstance(table, Mapping):
        raise field_error(ModelError, origin, label, table, "a table of parameters")
    names = {spec.name: spec for spec in schema.values() if spec.section == section}
    check_keys(table, {*names, *extra_keys}, origin, label, ModelError, noun="parameter")
    values: dict[str, Value] = {}
    sources: dict[str, str] = {}
    for name, spec in names.items():
        if name not in table:
            raise ModelError(
                f"{origin}: missing parameter {label}.{name} ({spec.description}; {spec.describe_valid()})"
            )
        values[name], sources[name] = check_entry(spec, table[name], origin, f"{label}.{name}")
    return values, sources


def _scalar(spec: ParamSpec) -> ParamSpec:
    return ParamSpec(spec.section, spec.name, "float", spec.unit, spec.minimum, spec.maximum, (), spec.description)
