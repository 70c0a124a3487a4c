"""Report by exception: a value is published only when it moved more than its deadband (PI ExcDev style)."""

from __future__ import annotations

from twin_edge.sparkplug.datatypes import Value


class DeadbandFilter:
    """Remembers the last *reported* value per key and decides whether a new reading must be reported."""

    def __init__(self) -> None:
        self._last: dict[object, Value] = {}

    def should_report(self, key: object, value: Value, deadband: float) -> bool:
        """True (and remember ``value``) when ``value`` differs from the last report by more than ``deadband``."""
        last = self._last.get(key)
        if last is None or _moved(last, value, deadband):
            self._last[key] = value
            return True
        return False

    def remember(self, key: object, value: Value) -> None:
        """Record ``value`` as reported (used for BIRTH values)."""
        self._last[key] = value

    def forget(self, key: object) -> None:
        self._last.pop(key, None)


def _moved(last: Value, value: Value, deadband: float) -> bool:
    if isinstance(value, bool) or isinstance(last, bool) or deadband <= 0:
        return value != last
    return abs(value - last) > deadband  # type: ignore[operator]
