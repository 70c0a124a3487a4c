"""A PLC that goes away (issue 9 item 15): simulated PLCs -> gateway (Modbus TCP) -> Mosquitto -> host. The
host marks the device's metrics STALE *and* raises the alarm: ``device_deaths`` counted (on /metrics as
``twin_ingest_device_deaths``), a warning logged, ``device_online`` false; the PLC's return clears it."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.telemetry import CollectingSink, HostConfig, Quality, SparkplugHost
from twin_edge.testing import make_rig, unique
from twin_edge.testing import wait_until as poll_until

pytestmark = pytest.mark.mqtt


def wait_until(predicate, timeout: float = 15.0) -> None:
    """The shared poll (twin_edge.testing.wait_until) with this module's longer default."""
    poll_until(predicate, timeout)


def test_a_plc_that_goes_away_is_stale_and_counted_as_a_device_death(
    tmp_path: Path, broker: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    group, host_id = unique("g"), unique("host")
    sink = CollectingSink()
    host = SparkplugHost(HostConfig(host_id=host_id, broker_port=broker[1], group_ids=(group,)), sink)
    rig = make_rig(tmp_path, group=group, node="gw", broker_port=broker[1], pots=2)
    host.start()
    try:
        assert host.wait_online(5)
        rig.start()
        wait_until(lambda: host.device_online(group, "gw", "pot_002"))
        rig.call(rig.plcs.set_offline(1, True))
        wait_until(lambda: host.counters["device_deaths"] == 1)
        assert not host.device_online(group, "gw", "pot_002")
        assert host.device_online(group, "gw", "pot_001")
        stale = [s for s in sink.samples() if s.quality is Quality.STALE]
        assert stale
        assert {s.device for s in stale} == {"pot_002"}
        rig.call(rig.plcs.set_offline(1, False))
        wait_until(lambda: host.device_online(group, "gw", "pot_002"))
        assert host.counters["device_deaths"] == 1
    finally:
        rig.stop()
        host.stop()
    assert any("pot_002 went offline" in r.getMessage() for r in caplog.records)
