"""Setpoint alarms in the live alarm list (issue 10 item 7): a write the PLC did not take.

The Sparkplug host settles every setpoint write by read-back (:class:`twin.telemetry.setpoints.ReadbackVerifier`).
A ``mismatch`` (the PLC holds another value) or a ``timeout`` (no read-back in time: the gateway refused the
DCMD, the PLC refused or did not answer the write, or the link is down) raises an alarm on the cell, one per
(cell, setpoint): severity high, a plain-language reason naming what was written and what was read back, and
the time. A later failure of the same setpoint updates the reason of the active alarm (its id, time and any
acknowledgement stay); a later ``confirmed`` write of that setpoint clears it. ``superseded`` changes nothing.

The alarm id is ``setpoint-<proposal id>`` of the write that raised it, so it is the same after a restart:
:meth:`SetpointAlarms.restore` rebuilds the active alarms from the store's setpoint audit trail, and the
operators' acknowledgements and shelving (kept by id in the store) still apply.

The API merges these alarms into every live snapshot it serves (:meth:`SetpointAlarms.merge`, called by
``twin.api.deps.get_snapshot``), so they appear wherever the twin's own alarms do.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twin.store import SetpointEvent
from twin.telemetry.naming import pot_cell
from twin.telemetry.setpoints import ReadbackOutcome

logger = logging.getLogger(__name__)

KIND = "setpoint_failed"
SEVERITY = "high"

#: The audit trail's words for each read-back status (``readback``/``alarm`` rows' detail).
DETAIL = {
    "confirmed": "the PLC holds the value written",
    "mismatch": "the PLC holds {observed!r}, not {expected!r}",
    "timeout": "no read-back from the gateway in time",
    "superseded": "a newer write to the same setpoint replaced this one before its read-back",
}


def detail(outcome: ReadbackOutcome) -> str:
    """The audit trail's detail for ``outcome``."""
    words = DETAIL.get(outcome.status, outcome.status)
    return words.format(observed=outcome.observed, expected=outcome.expected)


def _potline(group: str) -> str:
    rest = group.removeprefix("potline")
    return rest if rest and rest != group else group


def _asset(group: str, device: str) -> tuple[str, int | None, str]:
    """(potline label, cell number or None, asset id) of a Sparkplug device: ``potline1``/``pot_017`` → cell:1-017.
    The cell by the naming convention's one rule (:func:`twin.telemetry.naming.pot_cell`: ``pot_17`` is no cell)."""
    label = _potline(group)
    cell = pot_cell(device)
    if cell is None or not label.isdigit():
        return label, None, f"potline:{label}"
    return label, cell, f"cell:{label}-{cell:03d}"


def _reason(metric: str, status: str, written: float | None, observed: float | None, at: datetime) -> str:
    when = at.strftime("%H:%M:%S UTC")
    wrote = f"{metric} written {written:g}" if written is not None else f"{metric} written"
    if status == "mismatch" and observed is not None:
        return f"{wrote} but the PLC holds {observed:g} (read back at {when}); not taken"
    return (
        f"{wrote} but no read-back by {when}: the gateway or PLC refused or did not answer the write "
        "(see the gateway's setpoint_refused / setpoint_write_failures)"
    )


@dataclass(slots=True)
class _Alarm:
    id: str
    potline: str
    cell: int | None
    asset: str
    setpoint: str
    reason: str
    since: datetime
    written: float | None
    observed: float | None
    cleared: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """In the live twin's alarm format (:meth:`twin.live.alarms.Alarm.as_dict`) plus the setpoint."""
        return {
            "id": self.id,
            "asset": self.asset,
            "state": "active" if self.cleared is None else "cleared",
            "severity": SEVERITY,
            "reason": self.reason,
            "since": self.since.isoformat(),
            "kind": KIND,
            "potline": self.potline,
            "cell": self.cell,
            "since_model_s": None,
            "cleared": self.cleared.isoformat() if self.cleared else None,
            "setpoint": self.setpoint,
            "written": self.written,
            "read_back": self.observed,
        }


class SetpointAlarms:
    """Active setpoint alarms keyed by (group, device, setpoint), plus a bounded list of cleared ones."""

    def __init__(self, history: int = 100) -> None:
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str, str], _Alarm] = {}
        self._cleared: deque[_Alarm] = deque(maxlen=history)
        self._version = 0
        self._merged: tuple[Mapping[str, Any], int, Mapping[str, Any]] | None = None  # (base, version, merged)

    # -- raise and clear -------------------------------------------------------------------------------------
    def outcome(self, outcome: ReadbackOutcome) -> None:
        """Raise, update or clear by one read-back outcome (called on the host's worker thread)."""
        at = datetime.fromtimestamp(outcome.at_ms / 1000, tz=UTC)
        self._apply(outcome.command_id, outcome.group, outcome.device, outcome.metric, outcome.status,
                    outcome.expected, outcome.observed, at)

    def _apply(self, command_id: str, group: str, device: str, metric: str, status: str,
               written: float | None, observed: float | None, at: datetime) -> None:
        key = (group, device, metric)
        with self._lock:
            alarm = self._active.get(key)
            if status == "confirmed":
                if alarm is None:
                    return
                del self._active[key]
                alarm.cleared = at
                self._cleared.append(alarm)
                logger.info("setpoint alarm %s on %s cleared: %s confirmed", alarm.id, alarm.asset, metric)
            elif status in ("mismatch", "timeout"):
                reason = _reason(metric, status, written, observed, at)
                if alarm is None:
                    label, cell, asset = _asset(group, device)
                    alarm = _Alarm(f"setpoint-{command_id}", label, cell, asset, metric, reason, at, written, observed)
                    self._active[key] = alarm
                    logger.warning("setpoint alarm %s on %s: %s", alarm.id, asset, reason)
                else:
                    alarm.reason, alarm.written, alarm.observed = reason, written, observed
            else:
                return
            self._version += 1

    def restore(self, events: Iterable[SetpointEvent]) -> int:
        """Rebuild the active alarms from audit rows (any order); returns how many are active afterwards."""
        by_proposal: dict[str, dict[str, SetpointEvent]] = {}
        for e in events:
            by_proposal.setdefault(e.proposal_id, {})[e.event] = e
        settled = []
        for proposal_id, rows in by_proposal.items():
            readback = rows.get("readback")
            if readback is None:
                continue
            alarm = rows.get("alarm")
            written = rows.get("written") or rows.get("confirmed") or rows.get("proposed")
            value = written.value if written is not None else None
            if alarm is not None:
                status = "timeout" if alarm.detail == DETAIL["timeout"] else "mismatch"
            elif readback.detail == DETAIL["confirmed"]:
                status = "confirmed"
            else:
                continue  # superseded
            parts = readback.target.split("/")
            if len(parts) != 3:
                continue
            settled.append((readback.at, proposal_id, parts[0], parts[2], readback.setpoint, status, value,
                            readback.value))
        for at, proposal_id, group, device, metric, status, value, observed in sorted(settled):
            self._apply(proposal_id, group, device, metric, status, value, observed, at)
        with self._lock:
            return len(self._active)

    # -- read ------------------------------------------------------------------------------------------------
    def alarms(self) -> list[dict[str, Any]]:
        """Active alarms (oldest first), then the cleared ones (most recently cleared last)."""
        with self._lock:
            return [a.as_dict() for a in sorted(self._active.values(), key=lambda a: a.since)] + [
                a.as_dict() for a in self._cleared
            ]

    def merge(self, snap: Mapping[str, Any]) -> Mapping[str, Any]:
        """``snap`` with these alarms added to its ``alarms`` and to the plant's ``alarms_active`` KPI.

        The same merged object is returned until ``snap`` or these alarms change (the API caches rendered
        views by the snapshot's identity); with no setpoint alarm, ``snap`` itself.
        """
        with self._lock:
            version, cached = self._version, self._merged
        if cached is not None and cached[0] is snap and cached[1] == version:
            return cached[2]
        extra = self.alarms()
        if not extra:
            return snap
        merged = dict(snap)
        own = snap.get("alarms")
        merged["alarms"] = [*(own if isinstance(own, list) else []), *extra]
        kpis = snap.get("kpis")
        if isinstance(kpis, Mapping) and isinstance(kpis.get("plant"), Mapping):
            plant = dict(kpis["plant"])
            active = sum(1 for a in extra if a["state"] == "active")
            plant["alarms_active"] = float(plant.get("alarms_active", 0.0)) + active
            merged["kpis"] = {**kpis, "plant": plant}
        with self._lock:
            self._merged = (snap, version, merged)
        return merged
