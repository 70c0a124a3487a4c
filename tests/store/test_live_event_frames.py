"""The service's event-frame recorder (twin.service.event_frames) on both store backends: live snapshots in the
live twin's format (twin.live.twin.LiveTwin.snapshot) become stored frames: an anode effect opens when a pot's
flag rises and closes with its duration and peak voltage when it falls; an alarm opens with its raise time and
closes with its clearing time; nothing is written again when nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twin.service.event_frames import EventFrameRecorder
from twin.store import Store

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def snapshot(minute: float, *, ae: bool, voltage: float, alarm_cleared: datetime | None = None) -> dict:
    at = T0 + timedelta(minutes=minute)
    return {
        "as_of": at.isoformat(),
        "cells": {"1-001": {"anode_effect": False, "voltage_V": 4.2},
                  "1-002": {"anode_effect": ae, "voltage_V": voltage}},
        "alarms": [
            {"id": "a1", "asset": "cell:1-001", "state": "cleared" if alarm_cleared else "active",
             "severity": "warning",
             "reason": "measurements diverge from the model", "since": T0.isoformat(), "kind": "divergence",
             "cleared": alarm_cleared.isoformat() if alarm_cleared else None}
        ],
    }


def test_live_snapshots_become_anode_effect_and_alarm_frames(store: Store) -> None:
    recorder = EventFrameRecorder(store)
    assert recorder.record(snapshot(0, ae=False, voltage=4.2)) == 1  # the alarm opens
    assert recorder.record(snapshot(1, ae=True, voltage=31.0)) == 1  # the AE opens
    assert recorder.record(snapshot(2, ae=True, voltage=38.5)) == 1  # its peak rises
    assert recorder.record(snapshot(3, ae=True, voltage=22.0)) == 0  # nothing changed
    assert recorder.record(snapshot(4.5, ae=False, voltage=4.3, alarm_cleared=T0 + timedelta(minutes=4))) == 2
    frames = store.event_frames(T0 - timedelta(hours=1), T0 + timedelta(hours=1)).frames
    by_kind = {f.kind: f for f in frames}
    assert set(by_kind) == {"anode_effect", "alarm"}
    ae = by_kind["anode_effect"]
    assert (ae.asset, ae.start, ae.end) == ("cell:1-002", T0 + timedelta(minutes=1), T0 + timedelta(minutes=4.5))
    assert ae.attributes["peak_V"] == 38.5
    assert ae.attributes["minutes"] == 3.5
    alarm = by_kind["alarm"]
    assert (alarm.asset, alarm.start, alarm.end) == ("cell:1-001", T0, T0 + timedelta(minutes=4))
    assert alarm.attributes["severity"] == "warning"
    assert len(store.event_frames(T0 - timedelta(hours=1), T0 + timedelta(hours=1), asset="potline:1").frames) == 2


def test_a_frame_the_store_refuses_costs_only_itself(store: Store) -> None:
    """A cell id the store's asset rule refuses (a 5-digit cell number) is logged and counted; the alarm beside
    it in the same snapshot is stored."""
    recorder = EventFrameRecorder(store)
    bad = snapshot(1, ae=False, voltage=4.2)
    bad["cells"]["1-12345"] = {"anode_effect": True, "voltage_V": 30.0}
    assert recorder.record(bad) == 1
    assert recorder.refused == 1
    kinds = [f.kind for f in store.event_frames(T0 - timedelta(hours=1), T0 + timedelta(hours=1)).frames]
    assert kinds == ["alarm"]
