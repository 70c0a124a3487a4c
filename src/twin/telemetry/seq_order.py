"""One edge node's Sparkplug seq order: sequenced messages (NDATA, DBIRTH, DDATA, DDEATH) come out in seq order.

Spec, Operational Behavior: after an NBIRTH with seq s the host expects s + 1 (mod 256); a message ahead of the
expected seq is held and the *Reorder Timeout* starts; when the missing message comes, it and the held ones that
follow it come out in order; when the timeout passes first, the host gives up on the gap (counts it and asks for
a rebirth, :class:`~twin.telemetry.node_tracker.EdgeNodeTracker`) and what is held comes out in seq order. A
message more than half the seq space behind, or with the seq of one already held, is late or a duplicate (the
first copy is kept: its bytes stay counted once).

What is held is bounded twice: the seq space allows at most ``MAX_HELD`` (127) messages ahead of the expected one,
and their bytes are taken from the host's :class:`~twin.telemetry.byte_budget.ByteBudget`, shared by all edge
nodes; a message that finds the budget full asks the owner to give up on the gap at once (``Offer.FULL``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from twin.telemetry.byte_budget import ByteBudget
from twin_edge.sparkplug import next_seq, seq_distance

T = TypeVar("T")
MAX_HELD = 127  # messages an edge node can have ahead of the expected seq: 1..127 ahead, the rest is "behind"


class Offer(Enum):
    """What became of an offered message."""

    READY = "ready"  # in order: it (and any held ones that follow it) came out
    HELD = "held"  # ahead of the expected seq: held, the Reorder Timeout runs
    FULL = "full"  # held, but the byte budget is full: give up on the gap now
    LATE = "late"  # behind the expected seq, or a copy of one held (late or duplicate): dropped


@dataclass(slots=True)
class _Held(Generic[T]):
    item: T
    size: int  # bytes taken from the budget (0 when it did not fit)


class SeqOrder(Generic[T]):
    """The expected seq, the messages held ahead of it and the Reorder Timeout's deadline (module docstring)."""

    def __init__(self, reorder_timeout_ms: int, budget: ByteBudget) -> None:
        self._timeout_ms = reorder_timeout_ms
        self._budget = budget
        self._held: dict[int, _Held[T]] = {}
        self.expected = 0
        self.deadline_ms: int | None = None  # when the Reorder Timeout of the oldest gap ends

    @property
    def budget(self) -> ByteBudget:
        return self._budget

    def restart(self, birth_seq: int) -> None:
        """A new session (NBIRTH with ``birth_seq``): forget what is held; expect the next seq."""
        self.forget()
        self.expected = next_seq(birth_seq % 256)

    def forget(self) -> None:
        """Drop what is held (its bytes go back to the budget) and stop the Reorder Timeout."""
        self._budget.give(sum(h.size for h in self._held.values()))
        self._held.clear()
        self.deadline_ms = None

    def offer(self, seq: int, item: T, size: Callable[[], int], now_ms: int) -> tuple[Offer, list[T]]:
        """Offer the message ``item`` with ``seq``; the items that come out now, in seq order. ``size()`` is the
        message's bytes, asked only when it has to be held."""
        seq %= 256
        distance = seq_distance(self.expected, seq)
        if distance == 0:
            self.expected = next_seq(seq)
            return Offer.READY, [item, *self._drain()]
        if distance >= 128 or seq in self._held:  # behind, or a second copy of one held (a QoS 1 resend)
            return Offer.LATE, []
        n = size()
        fits = self._budget.take(n)
        self._held[seq] = _Held(item, n if fits else 0)
        if self.deadline_ms is None:
            self.deadline_ms = now_ms + self._timeout_ms
        return (Offer.HELD if fits else Offer.FULL), []

    def give_up(self) -> list[T]:
        """Stop waiting for the missing seq: everything held comes out in seq order, and the expected seq moves on
        past the last of it."""
        out: list[T] = []
        for seq in sorted(self._held, key=lambda s: seq_distance(self.expected, s)):
            held = self._held.pop(seq)
            self._budget.give(held.size)
            out.append(held.item)
            self.expected = next_seq(seq)
        self.deadline_ms = None
        return out

    def _drain(self) -> list[T]:
        out: list[T] = []
        while self.expected in self._held:
            held = self._held.pop(self.expected)
            self._budget.give(held.size)
            out.append(held.item)
            self.expected = next_seq(self.expected)
        if not self._held:
            self.deadline_ms = None
        return out
