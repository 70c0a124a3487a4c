"""Rate-limit repeated log records: the first of a kind passes, repeats within a window are counted, not
printed, and the next one after the window carries the count ("… 383 more like this in the last 10 s").

A "kind" is (logger, level, message template): ``log.exception("store write failed for %s", tag)`` is one
kind whatever the tag. Only WARNING and above are limited. A summarised record keeps its message but not
its traceback (it was printed with the first). :meth:`RepeatLimiter.flush` logs the counts still pending
(call it at shutdown). Install with :func:`install` on the root logger's handlers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

VERDICT = "_twin_repeat_verdict"  # set on a record once judged, so every handler gets the same answer
MAX_KINDS = 1000  # kinds remembered; beyond, the oldest is forgotten (a flood of distinct messages cannot grow it)


@dataclass
class _Seen:
    window_start: float
    suppressed: int
    record: logging.LogRecord


class RepeatLimiter(logging.Filter):
    """A handler filter (module docstring); ``window_s`` is how long repeats are held back."""

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        if not window_s > 0:
            raise ValueError(f"window_s = {window_s!r} is invalid; expected a positive number of seconds")
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[tuple[str, int, str], _Seen] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """The verdict on ``record``, the same for every handler the limiter sits on (it is judged once)."""
        if record.levelno < logging.WARNING:
            return True
        verdict = getattr(record, VERDICT, None)
        if verdict is None:
            verdict = self._judge(record)
            setattr(record, VERDICT, verdict)
        return verdict

    def _judge(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is None:
                if len(self._seen) >= MAX_KINDS:
                    self._seen.pop(next(iter(self._seen)))
                self._seen[key] = _Seen(now, 0, record)
                return True
            if now - seen.window_start < self.window_s:
                seen.suppressed += 1
                seen.record = record
                return False
            count, span = seen.suppressed, now - seen.window_start
            self._seen[key] = _Seen(now, 0, record)
        if count:
            _summarise(record, count, span)
        return True

    def flush(self) -> None:
        """Log the repeats still held back, one line per kind (e.g. at shutdown)."""
        with self._lock:
            pending = [(s.record, s.suppressed, self._clock() - s.window_start) for s in self._seen.values()]
            self._seen.clear()
        for record, count, span in pending:
            if count:
                _summarise(record, count, span)
                setattr(record, VERDICT, True)  # the summary passes every handler
                logging.getLogger(record.name).handle(record)


def _summarise(record: logging.LogRecord, count: int, span: float) -> None:
    record.msg = f"{record.getMessage()} ({count} more like this in the last {span:.0f} s were not shown)"
    record.args = None
    record.exc_info = None
    record.exc_text = None


def install(window_s: float = 10.0) -> RepeatLimiter:
    """Put one limiter on every handler of the root logger (once: a second call returns the first limiter);
    returns it (call ``flush()`` at exit)."""
    handlers = logging.getLogger().handlers
    for handler in handlers:
        for existing in handler.filters:
            if isinstance(existing, RepeatLimiter):
                return existing
    limiter = RepeatLimiter(window_s)
    for handler in handlers:
        handler.addFilter(limiter)
    return limiter


def uninstall(limiter: RepeatLimiter) -> None:
    """Take ``limiter`` off every handler of the root logger (a command run in-process leaves nothing behind)."""
    for handler in logging.getLogger().handlers:
        handler.removeFilter(limiter)
