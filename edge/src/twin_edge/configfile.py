"""The one loader every TOML file of ``twin`` and ``twin_edge`` goes through: read, parse, check keys and values.

Gateway configs, tag maps, the service's settings, technology, plant, dispatch, scenario and sweep files, and
scenario job bodies all come here, so a bad file is refused the same way whichever it is:

* :func:`read_text`: regular files only (a directory, FIFO or device such as ``/dev/zero`` is refused at once,
  never a hang), at most :data:`MAX_FILE_BYTES`, UTF-8 (the error gives the bad byte and its offset);
* :func:`parse_toml` / :func:`read_toml`: the parser's message, with its line and column, after the file name;
* :func:`check_keys` / :func:`unknown_key`: an unknown key names the file, its dotted path, the closest known
  key and every known one (so ``pasword`` or ``tls = true`` where it means nothing never passes silently);
* :class:`Table`, :class:`Key` and :func:`load_config`: typed value and range checks whose error names the file,
  the key, the value and what is valid.

Every function takes ``error``, the exception class (any ``str -> Exception``) to raise, so each package keeps its
own: :class:`~twin_edge.errors.ConfigError` here, ``twin.errors.TwinError`` subclasses in ``twin``. Every message
is one line starting with the file.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin_edge.errors import ConfigError

#: the largest config, model, scenario or tag-map file read (a real one is a few kB)
MAX_FILE_BYTES = 4 * 1024 * 1024
#: arrays and inline tables inside one another (tomllib recurses once per level; ~500 levels raise RecursionError)
MAX_TOML_DEPTH = 32
#: dots in one key (tomllib's time grows with their square: a 64 kB dotted key took ~20 s of CPU)
MAX_TOML_DOTS = 32
_TOML_TOKEN = re.compile(r'"""|' + r"'''" + r"""|["'#\n\[\]{}=,.]""")

ErrorType = Callable[[str], Exception]


def read_text(
    path: str | Path, error: ErrorType = ConfigError, max_bytes: int = MAX_FILE_BYTES, what: str = "file"
) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``; anything else raises ``error`` naming the file.

    Opened without blocking and checked with ``fstat`` first, so a FIFO, a device such as ``/dev/zero`` or a
    directory gives an error at once instead of a hang or unbounded memory. ``what`` names the file's kind in
    the message (``cannot read <what> (...)``)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: cannot read {what} (it is {_kind(info.st_mode)}; expected a regular file)")
        raise error(f"{path}: cannot read {what} ({info.st_size} bytes; expected at most {max_bytes})")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"{path}: cannot read {what} ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise error(f"{path}: cannot read {what} (more than {max_bytes} bytes; expected at most {max_bytes})")
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


def parse_toml(text: str, origin: str, error: ErrorType = ConfigError) -> dict[str, Any]:
    """``text`` parsed as TOML; a syntax error raises ``error`` with the parser's message (line and column).

    The text's shape is checked first (:func:`check_toml_shape`), so no file or request body, however made, can
    make the parser recurse until it fails or spend seconds of CPU."""
    check_toml_shape(text, origin, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{origin}: not valid TOML: {exc}") from None
    except RecursionError:  # not reachable past the shape check; kept so no input can escape as a traceback
        raise error(f"{origin}: not valid TOML: nested too deeply") from None


def check_toml_shape(text: str, origin: str, error: ErrorType = ConfigError) -> None:
    """Refuse, before parsing, TOML nested deeper than :data:`MAX_TOML_DEPTH` arrays or inline tables or with a
    key of more than :data:`MAX_TOML_DOTS` dots. One pass over the text; strings and comments are skipped.

    Why: tomllib (CPython 3.11) parses nested arrays and inline tables by recursion, one level per bracket, and
    re-walks a dotted key's parents for every dot, so ``x = [[[…]]]`` of a few hundred levels raises
    RecursionError and a 64 kB key ``a.a.a…`` costs it ~20 s (measured 2026-12-06)."""
    depth = dots = pos = 0
    while (token := _TOML_TOKEN.search(text, pos)) is not None:
        kind, pos = token.group(), token.end()
        if kind[0] in "\"'":
            pos = _string_end(text, pos, kind)
        elif kind == "#":
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline
        elif kind == ".":
            dots += 1
        else:  # a new key or value starts
            depth = depth + 1 if kind in "[{" else max(depth - 1, 0) if kind in "]}" else depth
            dots = 0
        if depth > MAX_TOML_DEPTH or dots > MAX_TOML_DOTS:
            line = text.count("\n", 0, pos) + 1
            if depth > MAX_TOML_DEPTH:
                shown, valid = f"{depth} nested arrays or inline tables", f"at most {MAX_TOML_DEPTH}"
            else:
                shown, valid = f"a key with {dots} dots", f"at most {MAX_TOML_DOTS} dots in a key"
            raise error(f"{origin}: {shown} at line {line} is invalid; expected {valid}")


def _string_end(text: str, pos: int, quote: str) -> int:
    """Where the string opened by ``quote`` just before ``pos`` ends; a one-line string also ends at a newline."""
    while True:
        end = text.find(quote, pos)
        newline = text.find("\n", pos) if len(quote) == 1 else -1
        if newline >= 0 and (end < 0 or newline < end):
            return newline
        if end < 0:
            return len(text)
        if quote[0] == '"' and _escaped(text, end):
            pos = end + 1
            continue
        end += len(quote)
        for _ in range(2 if len(quote) == 3 else 0):  # a multi-line string may close with up to 2 more quotes
            end += text.startswith(quote[0], end)
        return end


def _escaped(text: str, at: int) -> bool:
    """Whether the character at ``at`` follows an odd number of backslashes."""
    start = at
    while start > 0 and text[start - 1] == "\\":
        start -= 1
    return (at - start) % 2 == 1


def read_toml(path: str | Path, error: ErrorType = ConfigError, what: str = "file") -> dict[str, Any]:
    """A TOML file read safely (:func:`read_text`) and parsed (:func:`parse_toml`)."""
    return parse_toml(read_text(path, error, what=what), str(path), error)


# ---- unknown keys -------------------------------------------------------------------------------------------


def _names(known: Collection[Any]) -> list[str]:
    names = [str(k) for k in known]
    return sorted(names) if isinstance(known, set | frozenset | Mapping) else names


def unknown_key(
    error: ErrorType, origin: str, name: Any, known: Collection[Any], where: str = "", noun: str = "key"
) -> Exception:
    """The error for an unknown ``name`` in table ``where`` (a dotted path; "" at the top level): it names the
    file, the key's dotted path, the closest known key and every known one. ``noun`` = "section" shows
    ``[name]``. Sets and mappings are listed sorted, sequences in their order."""
    prefix = f"{where}." if where else ""
    shown = f"[{prefix}{name}]" if noun == "section" else f"{prefix}{name}"
    return error(f"{origin}: unknown {noun} {shown}{known_hint(name, known, where, section=noun == 'section')}")


def known_hint(name: Any, known: Collection[Any], where: str = "", *, section: bool = False) -> str:
    """`` (did you mean <where>.<closest>?); known: <every known name>`` for a message about an unknown name."""
    names = _names(known)
    close = difflib.get_close_matches(str(name), names, n=1)
    shown = [f"[{n}]" for n in names] if section else names
    prefix = f"{where}." if where else ""
    hint = f" (did you mean {'[' if section else ''}{prefix}{close[0]}{']' if section else ''}?)" if close else ""
    return f"{hint}; known: {', '.join(shown)}"


def check_keys(
    table: Mapping[str, Any], known: Collection[Any], origin: str, where: str = "",
    error: ErrorType = ConfigError, noun: str = "key",
) -> None:
    """Raise :func:`unknown_key` for the first key of ``table`` not in ``known``."""
    for name in table:
        if name not in known:
            raise unknown_key(error, origin, name, known, where, noun)


def invalid(error: ErrorType, origin: str, label: str, value: object, valid: str) -> Exception:
    """``<file>: <key> = <value> is invalid; expected <valid>``."""
    return error(f"{origin}: {label} = {value!r} is invalid; expected {valid}")


# ---- typed values -------------------------------------------------------------------------------------------


class Table:
    """Typed reads of one table of a file; ``where`` is its dotted path ("" at the top level)."""

    def __init__(self, table: Mapping[str, Any], origin: str, where: str = "", error: ErrorType = ConfigError):
        self.table, self.origin, self.where, self.error = table, origin, where, error

    def label(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def invalid(self, key: str, value: object, valid: str) -> Exception:
        return invalid(self.error, self.origin, self.label(key), value, valid)

    def get(self, key: str, kind: type, default: Any, valid: str, check: Callable[[Any], bool] | None = None) -> Any:
        """The value of ``key`` (``default`` when absent) of type ``kind`` (never a bool unless ``kind`` is)."""
        value = self.table.get(key)
        if value is None:
            return default
        if (not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
                or (check is not None and not check(value))):
            raise self.invalid(key, value, valid)
        return value

    def number(self, key: str, default: float, valid: str, check: Callable[[float], bool] | None = None) -> float:
        """An int or float (never a bool) as float."""
        value = self.table.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or (check is not None and not check(value)):
            raise self.invalid(key, value, valid)
        return float(value)

    def require(self, key: str, kind: type, valid: str, check: Callable[[Any], bool] | None = None) -> Any:
        """Like :meth:`get` with the key required."""
        value = self.get(key, kind, None, valid, check)
        if value is None:
            raise self.invalid(key, None, valid)
        return value


@dataclass(frozen=True)
class Key:
    """One setting of a :data:`Schema`: its TOML type(s) (``object`` = any, checked later), an optional check,
    and what is valid (for the error)."""

    kind: type | tuple[type, ...] = object
    valid: str = ""
    check: Callable[[Any], bool] | None = None

    def describe(self) -> str:
        if self.valid:
            return self.valid
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        return "a value of type " + " or ".join(k.__name__ for k in kinds)


#: section → key → :class:`Key`; section ``""`` (:data:`TOP`) declares top-level keys
Schema = Mapping[str, Mapping[str, Key]]
TOP = ""


def load_config(path: str | Path, schema: Schema, error: ErrorType = ConfigError) -> dict[str, dict[str, Any]]:
    """A settings file's sections as dicts (absent sections are empty), every key declared and valid."""
    return check_schema(read_toml(path, error), schema, str(path), error)


def check_schema(doc: Mapping[str, Any], schema: Schema, origin: str,
                 error: ErrorType = ConfigError) -> dict[str, dict[str, Any]]:
    """:func:`load_config` on a parsed document."""
    out: dict[str, dict[str, Any]] = {section: {} for section in schema}
    for name, value in doc.items():
        if isinstance(value, Mapping) and name in schema and name != TOP:
            check_keys(value, schema[name], origin, name, error)
            out[name] = {key: _value(v, schema[name][key], f"{name}.{key}", origin, error) for key, v in value.items()}
        elif TOP in schema and name in schema[TOP]:
            out[TOP][name] = _value(value, schema[TOP][name], name, origin, error)
        elif name in schema:
            raise invalid(error, origin, f"[{name}]", value, "a table")
        else:
            known = [f"[{s}]" for s in schema if s != TOP] + sorted(schema.get(TOP, {}))
            close = difflib.get_close_matches(name, [k.strip("[]") for k in known], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            what = f"section [{name}]" if isinstance(value, Mapping) else f"key {name}"
            raise error(f"{origin}: unknown {what}{hint}; known: {', '.join(known)}")
    return out


def _value(value: Any, spec: Key, label: str, origin: str, error: ErrorType) -> Any:
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    if spec.kind is not object and (
        (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds)
    ):
        raise invalid(error, origin, label, value, spec.describe())
    if spec.check is not None and not spec.check(value):
        raise invalid(error, origin, label, value, spec.describe())
    return value
