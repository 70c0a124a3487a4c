"""One loader for the service's TOML settings files: declared sections and keys, nothing else.

A file is read safely (:func:`twin.params.validate.read_toml`: regular file, size cap, UTF-8), then checked
against a schema of sections → keys → :class:`Key`. An unknown section or key, a value of the wrong type or
one its check refuses raises ``error`` with one line naming the file, the key, the value and what is valid
(the known keys, for an unknown one), so a typo such as ``pasword`` or ``tls = true`` where TLS is not
supported never passes silently. Section ``""`` declares top-level keys.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.errors import TwinError, field_error
from twin.params.validate import read_toml

TOP = ""


@dataclass(frozen=True)
class Key:
    """One setting: its TOML type(s) (``object`` = any, checked later), an optional check, and what is valid."""

    kind: type | tuple[type, ...] = object
    valid: str = ""
    check: Callable[[Any], bool] | None = None

    def describe(self) -> str:
        if self.valid:
            return self.valid
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        return "a value of type " + " or ".join(k.__name__ for k in kinds)


Schema = Mapping[str, Mapping[str, Key]]


def load_config(path: str | Path, schema: Schema, error: type[TwinError] = TwinError) -> dict[str, dict[str, Any]]:
    """The file's sections as dicts (absent sections are empty), every key declared and valid."""
    origin = str(path)
    doc = read_toml(path, error)
    out: dict[str, dict[str, Any]] = {section: {} for section in schema}
    for name, value in doc.items():
        if isinstance(value, Mapping) and name in schema and name != TOP:
            out[name] = _section(value, schema[name], name, origin, error)
        elif TOP in schema and name in schema[TOP]:
            out[TOP][name] = _value(value, schema[TOP][name], name, origin, error)
        else:
            sections = [s for s in schema if s != TOP]
            if name in schema:
                raise field_error(error, origin, f"[{name}]", value, "a table")
            known = ", ".join([f"[{s}]" for s in sections] + sorted(schema.get(TOP, {})))
            what = f"section [{name}]" if isinstance(value, Mapping) else f"key {name}"
            raise error(f"{origin}: unknown {what}; known: {known}")
    return out


def _section(table: Mapping[str, Any], keys: Mapping[str, Key], section: str, origin: str,
             error: type[TwinError]) -> dict[str, Any]:
    out = {}
    for key, value in table.items():
        if key not in keys:
            close = difflib.get_close_matches(key, list(keys), n=1)
            hint = f" (did you mean {section}.{close[0]}?)" if close else ""
            raise error(f"{origin}: unknown key {section}.{key}{hint}; known: {', '.join(sorted(keys))}")
        out[key] = _value(value, keys[key], f"{section}.{key}", origin, error)
    return out


def _value(value: Any, spec: Key, label: str, origin: str, error: type[TwinError]) -> Any:
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    if spec.kind is not object and (
        (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds)
    ):
        raise field_error(error, origin, label, value, spec.describe())
    if spec.check is not None and not spec.check(value):
        raise field_error(error, origin, label, value, spec.describe())
    return value
