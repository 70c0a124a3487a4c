"""How fast a simulated plant runs: plant seconds per wall-clock second, and the range the chain can follow.

One rule for every place a speed enters (``twin demo --speed``, ``[live] speed`` of ``twin serve``, the live twin's
clock and the simulated plant). The upper bound is one plant hour per wall second: the gateway polls its PLCs
once a second, so each poll then spans an hour of plant time (dozens of feed cycles), and on the 2-core reference
machine the live twin already falls behind 24 pots at that speed and skips windows (measured 2026-12-07: it
follows them at 600×, and at 3 600× it jumps 2 400–2 700 s of model time every ~10 s, as its
``max_catch_up_s`` rule says). Faster than that would only make the simulated plant compute ahead of anything
that reads it; at 10^9× its first sync alone took longer than the chain's 30-s start-up.
"""

from __future__ import annotations

import math

MAX_SPEED = 3600.0
SPEED_RANGE = f"plant seconds per wall second, a number in (0, {MAX_SPEED:g}] (1 = real time)"


def valid_speed(value: object) -> bool:
    """Whether ``value`` is a speed the chain accepts (a finite real number in (0, MAX_SPEED])."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and 0 < value <= MAX_SPEED
