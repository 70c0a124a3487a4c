"""Shared validators of client input: one rule, one message, wherever the input arrives (query or body)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, ValidationError, WrapValidator
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
