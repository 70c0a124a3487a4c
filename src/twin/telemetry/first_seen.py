"""Log a kind of refusal once per key (a topic, a device), not once per message, within bounded memory.

A gateway that keeps doing one wrong thing (a retained DDATA replayed at every reconnect, a device id spelled
``pot_1`` in every birth) gets one warning for it; everything is still counted by the caller. At most
``max_keys`` keys are remembered, so a client making up topics or device ids cannot grow the host's memory;
beyond that, a new key is logged at the 1st, 10th and 100th time and every 10 000th, as the host's other
unbounded refusals are (``queue_overflow``, ``nodes_forgotten``).
"""

from __future__ import annotations

from collections.abc import Hashable

MAX_KEYS = 1_000


class FirstSeen:
    """Which keys were logged already (module docstring). Not thread-safe: one per thread that uses it."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._seen: set[Hashable] = set()
        self.beyond = 0  # new keys met with ``max_keys`` remembered already

    def first(self, key: Hashable) -> bool:
        """Whether to log ``key`` now: the first time it is met, while fewer than ``max_keys`` are remembered."""
        if key in self._seen:
            return False
        if len(self._seen) < self.max_keys:
            self._seen.add(key)
            return True
        self.beyond += 1
        n = self.beyond
        return n in (1, 10, 100) or n % 10_000 == 0
