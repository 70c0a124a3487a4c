"""Setpoint writes from the Sparkplug host (issue 10 item 7), end to end on real parts: the host publishes a DCMD
to Mosquitto, the edge gateway writes a simulated PLC over Modbus TCP, reads it back and reports it in DDATA,
and the host settles the write. The limits come from models/hal275_hx.toml and the technology schema.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from twin.params.technology import load_technology
from twin.telemetry import CollectingSink, HostConfig, SparkplugHost
from twin.telemetry.setpoints import ReadbackOutcome, SetpointError, setpoint_limits
from twin_edge.sparkplug import decode_payload
from twin_edge.testing import Recorder, make_rig, unique, wait_until

pytestmark = pytest.mark.mqtt
ROOT = Path(__file__).resolve().parents[2]
LIMITS = setpoint_limits(load_technology(ROOT / "models" / "hal275_hx.toml"))


def test_limits_follow_the_technology_file_and_schema() -> None:
    """(3.5 V - 1.65 V) / 300 kA = 6.1667 uohm and (5.0 V - 1.65 V) / 300 kA = 11.1667 uohm (hal275_hx: 300 kA,
    back EMF 1.65 V; schema target_voltage_V in [3.5, 5.0] V); exchanger duty up to its 140 kW design duty."""
    r = LIMITS.ranges["resistance_target_uohm"]
    assert r.low == pytest.approx(1.85 / 300 * 1e3)
    assert r.high == pytest.approx(3.35 / 300 * 1e3)
    assert (LIMITS.ranges["exchanger_duty_kW"].low, LIMITS.ranges["exchanger_duty_kW"].high) == (0.0, 140.0)
    bare = setpoint_limits(load_technology(ROOT / "models" / "hal275.toml"))
    with pytest.raises(SetpointError, match=r"exchanger_duty_kW = 10.0 is out of range; expected a number in \[0, 0\]"):
        bare.check("exchanger_duty_kW", 10.0)  # a bare shell has no exchanger to drive
    assert LIMITS.check("feed_mode", "fixed") == 1.0
    for bad in ("sideways", 1.5, 3, float("nan"), True):
        with pytest.raises(SetpointError, match="feed_mode"):
            LIMITS.check("feed_mode", bad)
    with pytest.raises(SetpointError, match="not writable"):
        LIMITS.check("cell_voltage_V", 4.1)


class Outcomes:
    def __init__(self) -> None:
        self.items: list[ReadbackOutcome] = []
        self.lock = threading.Lock()

    def __call__(self, outcome: ReadbackOutcome) -> None:
        with self.lock:
            self.items.append(outcome)

    def by_id(self, command_id: str) -> ReadbackOutcome | None:
        with self.lock:
            return next((o for o in self.items if o.command_id == command_id), None)


@pytest.fixture
def chain(tmp_path: Path, broker: tuple[str, int]) -> Any:
    """PLCs + gateway whose tag map allows a narrower resistance range than the host ([7, 9] uohm): the host
    passes 10 uohm, the gateway refuses it on its own."""
    group, host_id = unique("potline"), unique("host")
    edge = {**LIMITS.edge_limits(), "resistance_target_uohm": (7.0, 9.0)}
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=2, setpoint_limits=edge)
    outcomes = Outcomes()
    config = HostConfig(
        host_id=host_id,
        broker_port=broker[1],
        group_ids=(group,),
        setpoint_limits=LIMITS,
        readback_timeout_s=1.5,
    )
    host = SparkplugHost(config, CollectingSink(), on_setpoint=outcomes)
    dcmds = Recorder(*broker, f"spBv1.0/{group}/#")  # DCMDs, and the DBIRTHs they refer to
    host.start()
    try:
        assert host.wait_online(5)
        rig.start()
        wait_until(lambda: host.device_online(group, "gw", "pot_001") and host.device_online(group, "gw", "pot_002"))
        yield rig, host, outcomes, dcmds, group
    finally:
        host.stop()
        rig.stop()
        dcmds.close()


def test_a_write_reaches_the_plc_and_its_read_back_confirms_it(chain: Any) -> None:
    rig, host, outcomes, dcmds, group = chain
    assert host.locate(group, "pot_001") == "gw"
    host.write_setpoint(group, "gw", "pot_001", "resistance_target_uohm", 8.75, command_id="w1")
    wait_until(lambda: outcomes.by_id("w1") is not None)
    outcome = outcomes.by_id("w1")
    assert outcome is not None
    assert (outcome.status, outcome.observed) == ("confirmed", 8.75)
    assert rig.plcs.setpoint(0, "resistance_target_uohm") == 8.75  # the PLC's register, read directly
    # The DCMD as the spec wants it: device topic; the DBIRTH's alias and no name
    # (tck-id-payloads-alias-data-cmd-requirement); a timestamp; the value in the DBIRTH type's field; no datatype.
    (msg,) = dcmds.messages("/DCMD/")
    assert msg.topic == f"spBv1.0/{group}/DCMD/gw/pot_001"
    (metric,) = decode_payload(msg.payload).metrics
    birth = decode_payload(dcmds.messages("/DBIRTH/gw/pot_001")[-1].payload).metrics
    assert (metric.name, metric.alias, metric.datatype, metric.value_field, metric.value) == (
        None,
        next(m.alias for m in birth if m.name == "resistance_target_uohm"),
        None,
        "float_value",
        8.75,
    )
    assert metric.timestamp is not None
    # feed mode by name, UInt16 in its DBIRTH
    host.write_setpoint(group, "gw", "pot_002", "feed_mode", "none", command_id="w2")
    wait_until(lambda: outcomes.by_id("w2") is not None)
    assert outcomes.by_id("w2").ok  # type: ignore[union-attr]
    assert rig.plcs.setpoint(1, "feed_mode") == 2.0
    assert host.counters["setpoint_confirmed"] == 2
    assert host.counters["setpoint_failed"] == 0
    assert decode_payload(dcmds.messages("/DCMD/")[-1].payload).metrics[0].value_field == "int_value"


def test_the_host_refuses_out_of_range_and_publishes_nothing(chain: Any) -> None:
    rig, host, _outcomes, dcmds, group = chain
    for metric, value in (
        ("resistance_target_uohm", 11.5),  # above (5.0 V - 1.65 V) / 300 kA
        ("exchanger_duty_kW", 150.0),  # above the 140 kW design duty
        ("feed_mode", 5),
        ("cell_voltage_V", 4.0),
    ):
        with pytest.raises(SetpointError):
            host.write_setpoint(group, "gw", "pot_001", metric, value, command_id="x")
    with pytest.raises(SetpointError, match="not online"):
        host.write_setpoint(group, "gw", "pot_009", "feed_mode", 1, command_id="x")
    time.sleep(0.3)  # give a stray DCMD the time to arrive (none must)
    assert dcmds.messages("/DCMD/") == []
    assert rig.gateway.counters.setpoint_writes == 0
    assert rig.plcs.accepted_writes == 0


def test_a_write_the_plc_ignores_raises_a_mismatch_alarm(chain: Any, caplog: pytest.LogCaptureFixture) -> None:
    rig, host, outcomes, _dcmds, group = chain
    rig.plcs.ignore_setpoint_writes(0)
    with caplog.at_level(logging.WARNING, logger="twin.telemetry.host"):
        host.write_setpoint(group, "gw", "pot_001", "exchanger_duty_kW", 70.0, command_id="ign")
        wait_until(lambda: outcomes.by_id("ign") is not None)
    outcome = outcomes.by_id("ign")
    assert outcome is not None
    assert (outcome.status, outcome.observed) == ("mismatch", 0.0)
    assert host.counters["setpoint_failed"] == 1
    assert any("setpoint alarm" in r.getMessage() for r in caplog.records)


def test_a_write_the_gateway_refuses_times_out_into_an_alarm(chain: Any) -> None:
    """10 uohm passes the host's limits but not the gateway's [7, 9]: nothing is written, nothing read back."""
    rig, host, outcomes, _dcmds, group = chain
    host.write_setpoint(group, "gw", "pot_002", "resistance_target_uohm", 10.0, command_id="gw-refused")
    wait_until(lambda: outcomes.by_id("gw-refused") is not None, timeout=6)
    outcome = outcomes.by_id("gw-refused")
    assert outcome is not None
    assert (outcome.status, outcome.observed) == ("timeout", None)
    assert rig.gateway.counters.setpoint_refused == 1
    assert rig.plcs.setpoint(1, "resistance_target_uohm") == 8.5
    assert host.counters["setpoint_failed"] == 1
