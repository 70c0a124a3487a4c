"""Shared validators of client input: one rule, one message, wherever the input arrives (query or body)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError


def interval(
    *, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None
) -> str:
    """The bounds as an interval: ``gt=0, le=24`` → ``(0, 24]``; whole numbers without a decimal point."""
    if (ge is None) == (gt is None) or (le is None) == (lt is None):
        raise ValueError("interval: give one lower bound (ge or gt) and one upper bound (le or lt)")
    low, high = (ge if gt is None else gt), (le if lt is None else lt)
    return f"{'[' if gt is None else '('}{_number(low)}, {_number(high)}{']' if lt is None else ')'}"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def finite_float(param: Callable[..., Any] = Field, **bounds_and_more: Any) -> Any:
    """A ``float`` query parameter (``param=Query``) or body field (``Field``) between two bounds, refusing NaN
    and ±Infinity with the bounds in the message.

    ``bounds_and_more`` are one of ``ge``/``gt``, one of ``le``/``lt`` and anything else ``param`` takes
    (``description``, ``examples``). A bad value, whether NaN, ``inf``, out of range or not a number, gets one
    message: "Input should be a finite number in (0, 24]" (NaN was refused with "less than or equal to 24").
    """
    bounds = {k: bounds_and_more[k] for k in ("ge", "gt", "le", "lt") if bounds_and_more.get(k) is not None}
    expected = f"Input should be a finite number in {interval(**bounds)}"
    return Annotated[float, param(allow_inf_nan=False, **bounds_and_more), one_message("finite_number", expected)]


def one_message(kind: str, message: str) -> WrapValidator:
    """A validator that answers any failure of what it wraps with one error, ``kind`` and ``message`` (which
    says what is valid): a union's members otherwise each add an error ("should be a valid string", "… a valid
    boolean", "… a finite number") and a bounded float names only the bound NaN happened to fail."""

    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(kind, message) from None

    return WrapValidator(check)


# Control characters (C0, DEL, C1), line and paragraph separators, bidirectional marks, embeddings, overrides and
# isolates (U+202E makes "gpj.exe" read "exe.jpg"), and lone surrogates: none belongs in a name or a label.
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def first_non_text(value: str) -> str | None:
    """The first character :func:`check_text` refuses (control, line break, bidirectional control), or None."""
    bad = _NOT_TEXT.search(value)
    return None if bad is None else bad.group()


def check_text(value: str, max_length: int | None = None) -> str:
    """``value`` if it is plain text (of at most ``max_length`` characters); else a validation error naming the
    first character that is not, by code point and position: a NUL made PostgreSQL refuse the write (a 400
    naming the store), CR/LF forge log and audit lines, U+202E reverses what an operator reads."""
    if max_length is not None and len(value) > max_length:
        raise PydanticCustomError(
            "string_too_long", "String should have at most {max_length} characters", {"max_length": max_length}
        )
    bad = _NOT_TEXT.search(value)
    if bad is not None:
        raise PydanticCustomError(
            "text_character",
            "Input should be text without control, line-break or bidirectional-control characters; "
            "found U+{code} at position {position}",
            {"code": f"{ord(bad.group()):04X}", "position": bad.start()},
        )
    return value


def free_text(max_length: int, *, min_length: int = 0) -> Any:
    """A client's free-text ``str`` field (a name, a label): at most ``max_length`` characters, checked by
    :func:`check_text` after the length (so never more than ``max_length`` characters are scanned)."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(check_text)]


def text_if_str(max_length: int) -> BeforeValidator:
    """:func:`check_text` for the text member of a union (a setpoint value, a scenario change value), before the
    union is tried: its error names the character instead of being one of the members' errors."""

    def check(value: Any) -> Any:
        return check_text(value, max_length) if isinstance(value, str) else value

    return BeforeValidator(check)
