"""Event frames from the live twin (issue 11 item 3): what ``twin serve`` writes to the store's ``event_frames``.

Two kinds come from live telemetry:

* ``alarm``: every alarm of the live twin's alarm book (divergence, faults), one frame per alarm id, open while
  the alarm is active and closed with its clearing time; attributes: the detector's kind, severity and reason.
* ``anode_effect``: a pot's ``anode_effect`` flag (the pot controller's own detection, read by the gateway)
  rising opens a frame, falling closes it; attributes: the peak cell voltage seen and the minutes it lasted.

:class:`EventFrameRecorder` is called once per housekeeping tick with the live snapshot; it writes only frames
that are new or changed since the last call (a frame written again with its id replaces the stored one).
Times are the snapshot's ``as_of`` (the telemetry's own clock), so a time-accelerated demo stores plant time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from twin.errors import StoreError
from twin.store import EventFrame, Store

log = logging.getLogger(__name__)


class EventFrameRecorder:
    """Turns successive live snapshots into event frames in ``store`` (module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._written: dict[str, EventFrame] = {}  # frame id -> the frame as last written
        self._open_ae: dict[str, EventFrame] = {}  # cell asset -> its open anode-effect frame
        self._ae_count: dict[str, int] = {}
        self.refused = 0  # frames the store refused (logged)

    def record(self, snapshot: Mapping[str, Any]) -> int:
        """Write the frames ``snapshot`` opens, changes or closes; returns how many were written."""
        as_of = datetime.fromisoformat(str(snapshot.get("as_of")))
        frames = self._alarm_frames(snapshot.get("alarms") or [])
        frames += self._ae_frames(snapshot.get("cells") or {}, as_of)
        changed = [f for f in frames if self._written.get(f.frame_id) != f]
        if changed:
            try:
                self.store.write_event_frames(changed)
                stored = changed
            except StoreError:  # one frame the store refuses costs only itself
                stored = []
                for frame in changed:
                    try:
                        self.store.write_event_frames([frame])
                        stored.append(frame)
                    except StoreError as exc:
                        self.refused += 1
                        log.warning("event frame %s not stored: %s", frame.frame_id, exc)
            for frame in stored:
                self._written[frame.frame_id] = frame
        self._forget_closed()
        return len(stored) if changed else 0

    def _alarm_frames(self, alarms: list[Mapping[str, Any]]) -> list[EventFrame]:
        frames = []
        for alarm in alarms:
            cleared = alarm.get("cleared")
            frames.append(
                EventFrame(
                    frame_id=_safe_id(f"alarm:{alarm['id']}"),
                    kind="alarm",
                    asset=str(alarm["asset"]),
                    start=datetime.fromisoformat(str(alarm["since"])),
                    end=datetime.fromisoformat(str(cleared)) if cleared else None,
                    attributes={
                        "alarm_kind": str(alarm.get("kind", "")),
                        "severity": str(alarm.get("severity", "")),
                        "reason": str(alarm.get("reason", ""))[:200],
                    },
                )
            )
        return frames

    def _ae_frames(self, cells: Mapping[str, Mapping[str, Any]], as_of: datetime) -> list[EventFrame]:
        frames = []
        for cell_id, row in cells.items():
            asset = f"cell:{cell_id}"
            on = bool(row.get("anode_effect"))
            voltage = row.get("voltage_V")
            frame = self._open_ae.get(asset)
            if on and frame is None:
                n = self._ae_count[asset] = self._ae_count.get(asset, 0) + 1
                frame_id = f"ae:{cell_id}:{int(as_of.timestamp() * 1000)}:{n}"
                frame = EventFrame(_safe_id(frame_id), "anode_effect", asset, as_of,
                                   attributes={"peak_V": voltage if isinstance(voltage, float) else 0.0})
                self._open_ae[asset] = frame
                frames.append(frame)
            elif on and frame is not None:
                peak = max(float(frame.attributes["peak_V"]), voltage if isinstance(voltage, float) else 0.0)
                frame = EventFrame(frame.frame_id, frame.kind, asset, frame.start, None, {"peak_V": peak})
                self._open_ae[asset] = frame
                frames.append(frame)
            elif not on and frame is not None:
                minutes = (as_of - frame.start).total_seconds() / 60.0
                frames.append(EventFrame(frame.frame_id, frame.kind, asset, frame.start, as_of,
                                         {**frame.attributes, "minutes": round(minutes, 3)}))
                del self._open_ae[asset]
        return frames

    def _forget_closed(self) -> None:
        """Closed frames are final: keep only open ones (bounded memory over a long service life)."""
        if len(self._written) > 10_000:
            self._written = {k: f for k, f in self._written.items() if f.end is None}


def _safe_id(text: str) -> str:
    """A frame id the store accepts (A-Z a-z 0-9 _ . : -, at most 128 characters)."""
    return re.sub(r"[^A-Za-z0-9_.:\-]", "_", text)[:128]
