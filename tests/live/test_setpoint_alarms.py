"""Setpoint alarms (twin.live.setpoint_alarms): one per cell and setpoint, kept through later failures, cleared
only by a confirmed write of the same setpoint, rebuilt from a real store's audit trail, merged into snapshots
without breaking the API's cache-by-identity."""

from __future__ import annotations

from pathlib import Path

from twin.api.setpoint_desk import SetpointDesk
from twin.live.setpoint_alarms import SetpointAlarms
from twin.params.technology import load_technology
from twin.store import DuckDBStore
from twin.telemetry.setpoints import ReadbackOutcome, setpoint_limits

T0_MS = 1_772_000_000_000
LIMITS = setpoint_limits(load_technology(Path(__file__).resolve().parents[2] / "models" / "hal275_hx.toml"))


def outcome(command: str, metric: str, status: str, observed: float | None, *, device: str = "pot_017",
            at_s: float = 0.0, expected: float = 9.0) -> ReadbackOutcome:
    return ReadbackOutcome(command, "potline2", "gw01", device, metric, expected, observed, status,
                           T0_MS + round(at_s * 1000))


def test_one_alarm_per_cell_and_setpoint_cleared_only_by_its_own_confirmed_write() -> None:
    book = SetpointAlarms()
    book.outcome(outcome("sp-1", "resistance_target_uohm", "timeout", None))
    book.outcome(outcome("sp-2", "feed_mode", "mismatch", 0.0, expected=1.0, at_s=1))
    [r, f] = book.alarms()
    assert (r["id"], r["asset"], r["state"], r["severity"]) == ("setpoint-sp-1", "cell:2-017", "active", "high")
    assert "no read-back" in r["reason"]
    assert "feed_mode written 1 but the PLC holds 0" in f["reason"]
    book.outcome(outcome("sp-3", "resistance_target_uohm", "mismatch", 8.5, at_s=2))  # fails again
    book.outcome(outcome("sp-4", "resistance_target_uohm", "superseded", None, at_s=3))  # changes nothing
    book.outcome(outcome("sp-5", "resistance_target_uohm", "confirmed", 9.0, device="pot_018", at_s=4))  # other cell
    book.outcome(outcome("sp-6", "feed_mode", "confirmed", 1.0, expected=1.0, at_s=5))  # clears feed_mode only
    states = {a["id"]: (a["state"], a["reason"]) for a in book.alarms()}
    assert states["setpoint-sp-1"][0] == "active"
    assert "written 9 but the PLC holds 8.5" in states["setpoint-sp-1"][1]
    assert states["setpoint-sp-2"][0] == "cleared"
    assert set(states) == {"setpoint-sp-1", "setpoint-sp-2"}


def test_merge_keeps_snapshot_identity_until_something_changes() -> None:
    book = SetpointAlarms()
    snap = {"as_of": "x", "alarms": [{"id": "a-1"}], "kpis": {"plant": {"alarms_active": 1.0}}}
    assert book.merge(snap) is snap  # no setpoint alarm: the twin's own snapshot
    book.outcome(outcome("sp-1", "exchanger_duty_kW", "timeout", None))
    merged = book.merge(snap)
    assert [a["id"] for a in merged["alarms"]] == ["a-1", "setpoint-sp-1"]
    assert merged["kpis"]["plant"]["alarms_active"] == 2.0
    assert snap["alarms"] == [{"id": "a-1"}]  # the twin's snapshot is not changed
    assert book.merge(snap) is merged  # the same object while nothing changed (views are cached by identity)
    book.outcome(outcome("sp-2", "exchanger_duty_kW", "confirmed", 9.0, at_s=1))
    assert book.merge(snap) is not merged


class _NoHost:
    def locate(self, group: str, device: str) -> str | None:
        return None

    def write_setpoint(self, *args: object, **kwargs: object) -> int:
        raise AssertionError("nothing is written here")


def test_a_new_desk_rebuilds_the_alarms_from_the_audit_trail(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "audit.duckdb")
    try:
        desk = SetpointDesk(store, _NoHost(), LIMITS)
        for o in (
            outcome("sp-aaaa", "resistance_target_uohm", "timeout", None),
            outcome("sp-bbbb", "feed_mode", "mismatch", 0.0, expected=2.0, at_s=1),
            outcome("sp-cccc", "exchanger_duty_kW", "mismatch", 0.0, expected=50.0, at_s=2),
            outcome("sp-dddd", "exchanger_duty_kW", "confirmed", 50.0, expected=50.0, at_s=3),
            outcome("sp-eeee", "feed_mode", "superseded", None, expected=1.0, at_s=4),
        ):
            desk.record_outcome(o)  # outcomes of proposals made elsewhere: read-back rows still recorded
        before = {a["id"]: a["state"] for a in desk.alarms.alarms()}
        rebuilt = {a["id"]: a["state"] for a in SetpointDesk(store, _NoHost(), LIMITS).alarms.alarms()}
    finally:
        store.close()
    assert before == {"setpoint-sp-aaaa": "active", "setpoint-sp-bbbb": "active", "setpoint-sp-cccc": "cleared"}
    assert rebuilt == before


def test_only_the_canonical_device_id_puts_an_alarm_on_a_cell() -> None:
    """The cell comes from the naming convention's one rule (twin.telemetry.naming.pot_cell), not a regex of its
    own that took pot_17 for cell 17: another spelling is an alarm on the potline, as any other device's."""
    book = SetpointAlarms()
    book.outcome(outcome("sp-1", "resistance_target_uohm", "timeout", None, device="pot_017"))
    book.outcome(outcome("sp-2", "resistance_target_uohm", "timeout", None, device="pot_17"))
    assets = {a["id"]: (a["asset"], a["cell"]) for a in book.alarms()}
    assert assets == {"setpoint-sp-1": ("cell:2-017", 17), "setpoint-sp-2": ("potline:2", None)}
