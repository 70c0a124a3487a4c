"""Setpoint writes with two steps and an audit trail (issue 10 item 7): propose, then confirm.

A proposal names a pot (potline N, cell n: Sparkplug group ``potline<N>``, device ``pot_<nnn>``), a setpoint and
a value. :meth:`SetpointDesk.propose` checks the value against the technology's limits (this layer's own check)
and finds the gateway that has the pot online; it writes a ``proposed`` row (or a ``refused`` row and raises).
:meth:`SetpointDesk.confirm` takes the proposal from the store (so any API process may confirm it), refuses it
when it expired or was confirmed already (the store keeps one ``confirmed`` row per proposal), writes
``confirmed``, and hands the write to the Sparkplug host, which checks again on its own and publishes the DCMD:
``written``, or ``refused`` with the host's reason. The read-back outcome arrives from the host
(:meth:`SetpointDesk.record_outcome`): a ``readback`` row, and an ``alarm`` row when the PLC did not take the
value (mismatch or timeout), which is also raised in the live alarm list (:attr:`SetpointDesk.alarms`,
:mod:`twin.live.setpoint_alarms`; rebuilt from the audit trail when the desk is made, cleared by a later
confirmed write of the same setpoint).

The store's state is the proposal's only state, so the desk itself holds none beyond its collaborators.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from twin.errors import StoreError
from twin.live.setpoint_alarms import SetpointAlarms
from twin.live.setpoint_alarms import detail as readback_detail
from twin.store import SetpointEvent, Store
from twin.telemetry.naming import pot_device_id
from twin.telemetry.setpoints import ReadbackOutcome, SetpointError, SetpointLimits

log = logging.getLogger(__name__)


class SetpointHost(Protocol):
    """What the desk needs of the Sparkplug host (:class:`twin.telemetry.SparkplugHost`)."""

    def locate(self, group: str, device: str) -> str | None: ...

    def write_setpoint(
        self, group: str, node: str, device: str, metric: str, value: object, *, command_id: str
    ) -> int: ...


class ProposalError(SetpointError):
    """The proposal cannot be confirmed (expired, confirmed already, refused); ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ProposalView:
    """A proposal and what happened to it so far (from its audit rows)."""

    proposal_id: str
    target: str
    setpoint: str
    value: float | None
    status: str  # the last event: proposed, confirmed, written, verified (read back equal), alarm or refused
    events: tuple[SetpointEvent, ...]


def new_proposal_id() -> str:
    return "sp-" + secrets.token_hex(8)


class SetpointDesk:
    def __init__(
        self,
        store: Store,
        host: SetpointHost,
        limits: SetpointLimits,
        *,
        ttl_s: float = 300.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not ttl_s > 0:
            raise SetpointError(f"SetpointDesk: ttl_s = {ttl_s!r} is invalid; expected > 0 s")
        self._store = store
        self._host = host
        self.limits = limits
        self._ttl = timedelta(seconds=ttl_s)
        self._clock = clock
        self.alarms = SetpointAlarms()  # failed writes in the live alarm list
        try:
            self.alarms.restore(store.setpoint_events(limit=10_000))
        except StoreError as exc:  # the desk still works; only alarms from before the start are missing
            log.warning("setpoint alarms not restored from the audit trail: %s", exc)

    def propose(self, actor: str, potline: int, cell: int, setpoint: str, value: object) -> ProposalView:
        proposal_id = new_proposal_id()
        group, device = f"potline{potline}", pot_device_id(cell)  # the naming convention's one spelling
        shown = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        try:
            checked = self.limits.check(setpoint, value)
            node = self._host.locate(group, device)
            if node is None:
                raise SetpointError(f"cell {potline}-{cell:03d} ({group}/{device}) is not online at any gateway")
        except SetpointError as exc:
            self._add(proposal_id, "refused", actor, f"{group}/?/{device}", setpoint, shown, str(exc))
            raise
        target = f"{group}/{node}/{device}"
        expires = self._clock() + self._ttl
        self._add(proposal_id, "proposed", actor, target, setpoint, checked, f"expires {expires.isoformat()}")
        return self.view(proposal_id)

    def confirm(self, actor: str, proposal_id: str) -> ProposalView:
        events = self._store.setpoint_events(proposal_id)
        proposed = next((e for e in events if e.event == "proposed"), None)
        if proposed is None:
            raise ProposalError(f"proposal {proposal_id} does not exist", 404)
        done = {e.event for e in events}
        if "confirmed" in done or "refused" in done:
            raise ProposalError(f"proposal {proposal_id} is already {events[-1].event}; propose again", 409)
        if self._clock() > proposed.at + self._ttl:
            self._add(proposal_id, "refused", actor, proposed.target, proposed.setpoint, proposed.value, "expired")
            raise ProposalError(
                f"proposal {proposal_id} expired {self._ttl.total_seconds():g} s after it was made; propose again", 409
            )
        if not self._add(proposal_id, "confirmed", actor, proposed.target, proposed.setpoint, proposed.value, ""):
            raise ProposalError(f"proposal {proposal_id} was confirmed by someone else just now", 409)
        group, node, device = proposed.target.split("/")
        try:
            sent_ms = self._host.write_setpoint(
                group, node, device, proposed.setpoint, proposed.value, command_id=proposal_id
            )
        except SetpointError as exc:
            self._add(proposal_id, "refused", "host", proposed.target, proposed.setpoint, proposed.value, str(exc))
            raise ProposalError(f"the Sparkplug host refused the write: {exc}", 409) from None
        sent = datetime.fromtimestamp(sent_ms / 1000, tz=UTC)
        self._add(
            proposal_id,
            "written",
            "host",
            proposed.target,
            proposed.setpoint,
            proposed.value,
            f"DCMD {sent.isoformat()}",
        )
        return self.view(proposal_id)

    def record_outcome(self, outcome: ReadbackOutcome) -> None:
        """The host's read-back verdict (called on the host's worker thread)."""
        self.alarms.outcome(outcome)  # the live alarm list first: it must not wait for (or fail with) the store
        target = f"{outcome.group}/{outcome.node}/{outcome.device}"
        detail = readback_detail(outcome)
        at = datetime.fromtimestamp(outcome.at_ms / 1000, tz=UTC)
        try:
            self._add(outcome.command_id, "readback", "host", target, outcome.metric, outcome.observed, detail, at=at)
            if not outcome.ok and outcome.status != "superseded":
                self._add(outcome.command_id, "alarm", "host", target, outcome.metric, outcome.observed, detail, at=at)
        except SetpointError:  # a command id that is not a proposal (written outside the desk)
            log.warning("read-back of %s (%s, %s) not recorded", outcome.command_id, target, outcome.status)

    def view(self, proposal_id: str) -> ProposalView:
        events = tuple(self._store.setpoint_events(proposal_id))
        if not events:
            raise ProposalError(f"proposal {proposal_id} does not exist", 404)
        first = events[0]
        last = events[-1]
        status = last.event
        if status == "readback":
            status = "verified" if last.detail.startswith("the PLC holds the value") else "readback"
        value = next((e.value for e in events if e.event == "proposed"), first.value)
        return ProposalView(proposal_id, first.target, first.setpoint, value, status, events)

    def _add(
        self,
        proposal_id: str,
        event: str,
        actor: str,
        target: str,
        setpoint: str,
        value: float | None,
        detail: str,
        *,
        at: datetime | None = None,
    ) -> bool:
        when = self._clock() if at is None else at
        try:
            return self._store.add_setpoint_event(
                SetpointEvent(proposal_id, event, when, actor, target, setpoint[:200] or "?", value, detail)
            )
        except Exception as exc:  # a store error must not lose the reason; it is logged and raised as ours
            log.exception("setpoint audit row %s/%s not written", proposal_id, event)
            raise SetpointError(f"the audit trail could not be written: {exc}") from None
