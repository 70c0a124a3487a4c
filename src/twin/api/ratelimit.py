"""Per-client limit on failed authentications (issue 9 item 3).

A client (by its address) that failed ``max_failures`` times within ``window_s`` gets ``429`` with
``Retry-After`` for any key the server has not already verified, until its oldest failure leaves the
window. Keys that are already verified (cached) still pass, so one bad client does not lock out a
dashboard behind the same address with a good key.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class FailureLimiter:
    def __init__(self, max_failures: int, window_s: float = 60.0, max_clients: int = 100_000) -> None:
        self.max_failures, self.window_s, self.max_clients = max_failures, window_s, max_clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.rejected = 0

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None if it may try now."""
        now = time.monotonic()
        with self._lock:
            return self._retry_after_locked(client, now)

    def _retry_after_locked(self, client: str, now: float) -> int | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        if len(times) < self.max_failures:
            return None
        self.rejected += 1
        return max(1, math.ceil(times[0] + self.window_s - now))

    def record(self, client: str) -> None:
        """Count one failed authentication by ``client``."""
        with self._lock:
            self._append_locked(client, time.monotonic())

    def charge(self, client: str) -> tuple[float | None, int | None]:
        """Count a key check about to start as a failure of ``client`` until :meth:`refund` gives it back (the key
        was valid): (its stamp, None), or (None, seconds to wait) if the client has no failures left. A check is
        counted when it starts, not when it fails, so a burst of keys sent at once cannot get past the limit
        while the first ones are still being checked (an audit: 150 at once got 150 argon2 checks, no 429)."""
        now = time.monotonic()
        with self._lock:
            wait = self._retry_after_locked(client, now)
            if wait is not None:
                return None, wait
            self._append_locked(client, now)
            return now, None

    def refund(self, client: str, stamp: float) -> None:
        """Give back the charge ``stamp`` of ``client``: its key was valid."""
        with self._lock:
            times = self._failures.get(client)
            if times is not None and stamp in times:
                times.remove(stamp)
                if not times:
                    del self._failures[client]

    def _append_locked(self, client: str, now: float) -> None:
        if client not in self._failures and len(self._failures) >= self.max_clients:
            self._failures.clear()  # bounded memory under an address-spraying attack
        self._failures.setdefault(client, deque(maxlen=self.max_failures)).append(now)
