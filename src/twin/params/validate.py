"""Shared validation of ``{ value = …, unit = "…", source = "…" }`` entries against schema rows."""

from __future__ import annotations

import difflib
import math
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twin.errors import ModelError, TwinError, field_error
from twin.params.schema import ParamSpec

Value = float | int | str | tuple[float, ...]


#: the largest model, scenario or settings file read (a real one is a few kB)
MAX_FILE_BYTES = 4 * 1024 * 1024


def read_text(path: str | Path, error: type[TwinError] = ModelError, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``; anything else raises ``error`` naming the
    file. Opened without blocking and checked with ``fstat`` first, so a FIFO, a device such as
    ``/dev/zero`` or a directory gives an error at once instead of a hang or unbounded memory."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"{path}: cannot read file ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: cannot read file (it is {_kind(info.st_mode)}; expected a regular file)")
        raise error(f"{path}: cannot read file ({info.st_size} bytes; expected at most {max_bytes})")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"{path}: cannot read file ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise error(f"{path}: cannot read file (more than {max_bytes} bytes; expected at most {max_bytes})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_toml(path: str | Path, error: type[TwinError] = ModelError) -> dict[str, Any]:
    """Parse a TOML file; unreadable or malformed files raise ``error`` naming the file and the problem."""
    text = read_text(path, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


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
    for name in table:
        if name not in names and name not in extra_keys:
            raise ModelError(f"{origin}: unknown parameter {label}.{name}; known: {suggest(name, names)}")
    values: dict[str, Value] = {}
    sources: dict[str, str] = {}
    for name, spec in names.items():
        if name not in table:
            raise ModelError(
                f"{origin}: missing parameter {label}.{name} ({spec.description}; {spec.describe_valid()})"
            )
        values[name], sources[name] = check_entry(spec, table[name], origin, f"{label}.{name}")
    return values, sources


def suggest(name: str, known: Mapping[str, Any] | list[str]) -> str:
    """Close matches of ``name`` among the known names, for error messages."""
    close = difflib.get_close_matches(name, list(known), n=3)
    return ", ".join(close) if close else ", ".join(sorted(known))


def _scalar(spec: ParamSpec) -> ParamSpec:
    return ParamSpec(spec.section, spec.name, "float", spec.unit, spec.minimum, spec.maximum, (), spec.description)
