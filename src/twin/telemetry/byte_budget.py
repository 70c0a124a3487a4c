"""A ceiling on the bytes of client payloads the host holds at once, shared by the threads that hold them.

The ingest queue and the edge nodes' reorder buffers are bounded in messages; a message may be up to
``HostConfig.max_payload_bytes``, so a count alone lets a client that sends large payloads (or out of order, on
many made-up edge nodes) make the host hold count x that size. A :class:`ByteBudget` bounds the bytes instead:
whoever holds a payload takes its size from the budget and gives it back when it lets the payload go.
"""

from __future__ import annotations

import threading
import time


class ByteBudget:
    """``limit`` bytes, taken with :meth:`take` and given back with :meth:`give` (thread-safe)."""

    def __init__(self, limit: int) -> None:
        if not limit > 0:
            raise ValueError(f"a byte budget needs a limit > 0, got {limit!r}")
        self.limit = limit
        self._used = 0
        self._room = threading.Condition()

    @property
    def used(self) -> int:
        """Bytes taken and not yet given back (a gauge)."""
        return self._used

    def take(self, size: int, wait_s: float = 0.0) -> bool:
        """Take ``size`` bytes if they fit under the limit, waiting up to ``wait_s`` for others to give some back;
        False (nothing taken) when they do not fit in time. A size above the limit never fits."""
        if size > self.limit:
            return False
        deadline = time.monotonic() + wait_s
        with self._room:
            while self._used + size > self.limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._room.wait(left)
            self._used += size
            return True

    def give(self, size: int) -> None:
        """Give back ``size`` bytes taken before."""
        with self._room:
            self._used = max(self._used - size, 0)
            self._room.notify_all()
