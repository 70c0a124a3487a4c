"""Setpoint writes at the gateway and the PLC (issue 10 item 7), with the host bypassed: a test client publishes
DCMDs straight to Mosquitto, the gateway writes the simulated PLCs over real Modbus TCP.

Each layer refuses on its own: the gateway refuses a value outside its tag map's range, a metric that is not
writable and a value in the wrong protobuf field even though nothing above checked them; the PLC refuses writes
to its process values, writes from a client address other than the gateway's, and answers no other unit id.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from twin_edge.errors import ConfigError
from twin_edge.registers import Encoding, encode_registers
from twin_edge.simplc.layout import SETPOINT_LAYOUT
from twin_edge.sparkplug import DataType, Metric, decode_payload, encode_payload
from twin_edge.tagmap import load_tag_map
from twin_edge.testing import Recorder, make_rig, unique, wait_until

pytestmark = pytest.mark.mqtt

LIMITS = {"resistance_target_uohm": (7.0, 11.0), "feed_mode": (0.0, 2.0), "exchanger_duty_kW": (0.0, 140.0)}


def dcmd(name: str, value: Any, field: str) -> bytes:
    """A DCMD payload as a host sends it: metric name, value in the field of its DBIRTH datatype, no datatype
    (tck-id-payloads-metric-datatype-not-req)."""
    now = time.time_ns() // 1_000_000
    return encode_payload([Metric(name=name, timestamp=now, value=value, value_field=field)], timestamp=now)


@pytest.fixture
def rig_and_recorder(tmp_path: Path, broker: tuple[str, int]) -> Any:
    group = unique("g")
    rig = make_rig(
        tmp_path,
        group=group,
        node="gw",
        broker_port=broker[1],
        pots=2,
        setpoint_limits=LIMITS,
        plc_options={"writers": ["127.0.0.1"]},
    )
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig.start()
    try:
        rec.wait_for(lambda ms: len([m for m in ms if "/DBIRTH/" in m.topic]) == 2)
        yield rig, rec, group
    finally:
        rig.stop()
        rec.close()


def birth_metrics(rec: Recorder, device: str) -> dict[str, Metric]:
    birth = next(m for m in rec.messages(f"/DBIRTH/gw/{device}"))
    return {m.name: m for m in decode_payload(birth.payload).metrics if m.name}


def test_a_dcmd_in_range_is_written_read_back_and_reported_in_the_next_ddata(rig_and_recorder: Any) -> None:
    rig, rec, group = rig_and_recorder
    births = birth_metrics(rec, "pot_001")
    assert births["resistance_target_uohm"].datatype is DataType.FLOAT
    assert births["feed_mode"].datatype is DataType.UINT16
    alias = births["resistance_target_uohm"].alias
    rec.publish(f"spBv1.0/{group}/DCMD/gw/pot_001", dcmd("resistance_target_uohm", 9.25, "float_value"), qos=1)
    wait_until(lambda: rig.plcs.setpoint(0, "resistance_target_uohm") == 9.25)
    assert rig.plcs.setpoint(1, "resistance_target_uohm") == 8.5  # the other pot is untouched

    def reported() -> bool:
        for m in rec.messages("/DDATA/gw/pot_001"):  # 9.25 can only come from the write (it starts at 8.5)
            for metric in decode_payload(m.payload).metrics:
                if metric.alias == alias and metric.value == 9.25:
                    return True
        return False

    wait_until(reported)
    assert rig.gateway is not None
    assert rig.gateway.counters.setpoint_writes == 1
    assert rig.gateway.counters.setpoint_readback_mismatch == 0
    # feed mode as an integer code
    rec.publish(f"spBv1.0/{group}/DCMD/gw/pot_002", dcmd("feed_mode", 1, "int_value"), qos=1)
    wait_until(lambda: rig.plcs.setpoint(1, "feed_mode") == 1.0)


def test_the_gateway_refuses_on_its_own_what_the_host_would_have_refused(rig_and_recorder: Any) -> None:
    rig, rec, group = rig_and_recorder
    topic = f"spBv1.0/{group}/DCMD/gw/pot_001"
    rec.publish(topic, dcmd("resistance_target_uohm", 50.0, "float_value"), qos=1)  # outside [7, 11]
    rec.publish(topic, dcmd("exchanger_duty_kW", -5.0, "float_value"), qos=1)  # outside [0, 140]
    rec.publish(topic, dcmd("feed_mode", 7, "int_value"), qos=1)  # no such feed mode
    rec.publish(topic, dcmd("cell_voltage_V", 3.9, "float_value"), qos=1)  # a process value
    rec.publish(topic, dcmd("resistance_target_uohm", 9.0, "double_value"), qos=1)  # not its DBIRTH type
    rec.publish(f"spBv1.0/{group}/DCMD/gw/pot_099", dcmd("feed_mode", 1, "int_value"), qos=1)  # unknown device
    rec.publish(topic, dcmd("exchanger_duty_kW", float("nan"), "float_value"), qos=1)
    other = birth_metrics(rec, "pot_002")["feed_mode"].alias  # pot_002's alias sent to pot_001
    now = time.time_ns() // 1_000_000
    rec.publish(topic, encode_payload([Metric(alias=other, value=1, value_field="int_value")], timestamp=now), qos=1)
    assert rig.gateway is not None
    wait_until(lambda: rig.gateway.counters.setpoint_refused == 8)
    assert rig.gateway.counters.setpoint_writes == 0
    assert rig.plcs.accepted_writes == 0
    assert rig.plcs.setpoint(0, "resistance_target_uohm") == 8.5
    assert rig.plcs.setpoint(0, "feed_mode") == 0.0


def test_a_plc_that_ignores_the_write_is_caught_by_the_gateways_read_back(rig_and_recorder: Any) -> None:
    rig, rec, group = rig_and_recorder
    rig.plcs.ignore_setpoint_writes(0)
    rec.publish(f"spBv1.0/{group}/DCMD/gw/pot_001", dcmd("exchanger_duty_kW", 60.0, "float_value"), qos=1)
    assert rig.gateway is not None
    wait_until(lambda: rig.gateway.counters.setpoint_readback_mismatch == 1)
    assert rig.plcs.accepted_writes == 1  # acknowledged on the wire ...
    assert rig.plcs.setpoint(0, "exchanger_duty_kW") == 0.0  # ... but not taken
    # the next DDATA reports what the PLC holds, although it did not change: the host reads back a mismatch
    alias = birth_metrics(rec, "pot_001")["exchanger_duty_kW"].alias
    wait_until(lambda: ddata_values(rec, "pot_001", alias)[-1:] == [0.0])


def ddata_values(rec: Recorder, device: str, alias: int | None) -> list[Any]:
    """Every value of the metric with ``alias`` in the DDATA of ``device`` so far, in order."""
    return [
        metric.value
        for m in rec.messages(f"/DDATA/gw/{device}")
        for metric in decode_payload(m.payload).metrics
        if metric.alias == alias
    ]


def test_a_write_the_plc_refuses_is_counted_and_never_reported(tmp_path: Path, broker: tuple[str, int]) -> None:
    """The PLC takes writes only from 127.0.0.2, so it refuses the gateway's (an exception response): the gateway
    counts a write failure and publishes nothing for the tag, so the host sees no read-back and times out
    into a setpoint alarm (twin.live.setpoint_alarms)."""
    group = unique("g")
    rig = make_rig(
        tmp_path,
        group=group,
        node="gw",
        broker_port=broker[1],
        pots=1,
        setpoint_limits=LIMITS,
        plc_options={"writers": ["127.0.0.2"]},
    )
    rec = Recorder(*broker, f"spBv1.0/{group}/#")
    rig.start()
    try:
        rec.wait_for(lambda ms: any("/DBIRTH/" in m.topic for m in ms))
        alias = birth_metrics(rec, "pot_001")["exchanger_duty_kW"].alias
        rec.publish(f"spBv1.0/{group}/DCMD/gw/pot_001", dcmd("exchanger_duty_kW", 60.0, "float_value"), qos=1)
        assert rig.gateway is not None
        wait_until(lambda: rig.gateway.counters.setpoint_write_failures == 1)
        polls = rig.gateway.counters.polls
        wait_until(lambda: rig.gateway.counters.polls >= polls + 3)  # three polls after the refused write
        assert (rig.gateway.counters.setpoint_writes, rig.gateway.counters.setpoint_refused) == (0, 0)
        assert rig.plcs.rejected_writes >= 1
        assert rig.plcs.setpoint(0, "exchanger_duty_kW") == 0.0
        assert ddata_values(rec, "pot_001", alias) == []  # no read-back value was ever published
    finally:
        rig.stop()
        rec.close()


def test_the_plc_takes_setpoint_writes_only_from_the_gateway_and_never_on_process_values(
    rig_and_recorder: Any,
) -> None:
    rig, _rec, _group = rig_and_recorder
    port = rig.plcs.first_port
    target = next(s for s in SETPOINT_LAYOUT if s.name == "resistance_target_uohm")
    words = encode_registers(Encoding.FLOAT32, 10.0)

    async def attempts() -> tuple[bool, bool, bool, bool, bool]:
        rogue = AsyncModbusTcpClient("127.0.0.1", port=port, source_address=("127.0.0.2", 0), timeout=1, retries=0)
        await rogue.connect()
        from_other_host = (await rogue.write_registers(target.register, words, slave=1)).isError()
        rogue.close()
        gw = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.5, retries=0)
        await gw.connect()
        process_value = (await gw.write_registers(0, words, slave=1)).isError()  # cell_voltage_V
        straddling = (await gw.write_registers(target.register - 1, [0, *words], slave=1)).isError()
        try:
            other_unit = (await gw.write_registers(target.register, words, slave=7)).isError()
        except Exception:
            other_unit = True
        unchanged = rig.plcs.setpoint(0, "resistance_target_uohm") == 8.5
        # the control: the same write from the gateway's address to its unit is taken
        await gw.connect()
        taken = not (await gw.write_registers(target.register, words, slave=1)).isError()
        gw.close()
        return from_other_host, process_value, straddling, other_unit, unchanged and taken

    results = rig.call(attempts(), timeout=15)
    assert results == (True, True, True, True, True)
    assert rig.plcs.setpoint(0, "resistance_target_uohm") == 10.0
    assert rig.plcs.rejected_writes >= 3
    assert rig.plcs.accepted_writes == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("writable = true", r"tags\[0\]\.min = None is invalid; expected a finite number"),
        ("writable = true, min = 5.0, max = 1.0", r"tags\[0\]\.min = 5\.0 is invalid; expected a number <= max \(1\)"),
        ("writable = true, min = 0.0, max = inf", r"tags\[0\]\.max = inf is invalid"),
        ("min = 0.0, max = 1.0", r"tags\[0\]\.min = 0\.0 is invalid; expected no range on a tag that is not writable"),
        ('writable = "yes", min = 0.0, max = 1.0', r"tags\[0\]\.writable = 'yes' is invalid; expected true or false"),
    ],
)
def test_a_bad_writable_tag_is_refused_naming_file_field_and_value(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "tags.toml"
    path.write_text(
        '[[devices]]\nid = "pot_001"\nhost = "127.0.0.1"\nport = 15020\n'
        f'tags = [{{ metric = "feed_mode", register = 15, encoding = "uint16", datatype = "UInt16", {extra} }}]\n'
    )
    with pytest.raises(ConfigError, match=message) as err:
        load_tag_map(path)
    assert str(path) in str(err.value)
