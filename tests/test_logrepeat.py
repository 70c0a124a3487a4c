"""Repeated log records are held back and summarised; distinct ones and INFO pass."""

from __future__ import annotations

import logging

import pytest

from twin.logrepeat import RepeatLimiter


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def setup() -> tuple[logging.Logger, list[logging.LogRecord], RepeatLimiter, Clock]:
    clock = Clock()
    limiter = RepeatLimiter(10.0, clock)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(limiter)
    log = logging.getLogger("test.logrepeat")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log, records, limiter, clock


def test_a_flood_of_one_error_prints_once_then_a_summary(setup) -> None:
    log, records, _, clock = setup
    for i in range(384):  # the load stall of issue 11: 384 lines in 3 s
        clock.t = i * 3 / 384
        try:
            raise TimeoutError("store busy")
        except TimeoutError:
            log.exception("store write failed for %s", f"tag{i}")
    assert len(records) == 1
    assert records[0].exc_info is not None  # the first one keeps its traceback
    clock.t = 12.0
    log.error("store write failed for %s", "tagX")
    assert len(records) == 2
    assert records[1].getMessage() == "store write failed for tagX (383 more like this in the last 12 s were not shown)"
    assert records[1].exc_info is None


def test_distinct_messages_and_info_pass(setup) -> None:
    log, records, _, _ = setup
    for _ in range(3):
        log.warning("one kind")
        log.warning("another kind")
        log.info("progress")
    assert [r.getMessage() for r in records] == ["one kind", "another kind", "progress", "progress", "progress"]


def test_flush_reports_what_is_still_held_back(setup) -> None:
    log, records, limiter, clock = setup
    for _ in range(5):
        log.error("broker unreachable")
    clock.t = 4.0
    limiter.flush()
    assert records[-1].getMessage() == "broker unreachable (4 more like this in the last 4 s were not shown)"


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window_s = 0"):
        RepeatLimiter(0)


def test_every_handler_the_limiter_sits_on_gets_the_same_records() -> None:
    """One limiter on two handlers (as install() puts it on every root handler): both get the first record and
    neither gets the repeats (before, the second handler saw every record as a repeat of the first's)."""
    clock = Clock()
    limiter = RepeatLimiter(10.0, clock)
    got: dict[str, list[str]] = {"a": [], "b": []}
    log = logging.getLogger("test.logrepeat.two")
    log.handlers[:] = []
    for name in got:
        handler = logging.Handler()
        handler.emit = lambda r, name=name: got[name].append(r.getMessage())  # type: ignore[method-assign]
        handler.addFilter(limiter)
        log.addHandler(handler)
    log.propagate = False
    for _ in range(3):
        log.warning("pot %s went offline", "pot_002")
    assert got == {"a": ["pot pot_002 went offline"], "b": ["pot pot_002 went offline"]}


def test_the_twin_command_run_in_process_leaves_no_limiter_behind() -> None:
    from twin.cli import main
    from twin.logrepeat import RepeatLimiter

    assert main(["run", "/nonexistent/scenario.toml"]) == 2
    handlers = logging.getLogger().handlers
    assert not [f for h in handlers for f in h.filters if isinstance(f, RepeatLimiter)]
