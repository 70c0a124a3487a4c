"""Sparkplug B interoperability with a third-party library from PyPI (issue 9): pysparkplug 0.6.1, installed by
scripts/bootstrap into its own venv (.venv-interop; it pins paho-mqtt<2, which conflicts with ours) and run as a
separate process on a real Mosquitto.

* pysparkplug as the edge node, the twin's host as the host: every value pysparkplug published (floats, doubles,
  negative Int8/Int16 at their type's width, a 2^40 Int64, booleans, a node property whose name has a space)
  arrives with its value, type and timestamp. (pysparkplug 0.6.1's explicit NDEATH on disconnect carries the
  *next* bdSeq, not its NBIRTH's, so a host following the spec, ours included, ignores it; the broker's Will,
  set at connect with the matching bdSeq, is the one that counts. Not asserted here: it is their behaviour.)
* The twin's edge gateway as the edge node, pysparkplug as the host: pysparkplug decodes every NBIRTH, DBIRTH and
  DDATA of ours, and the values it decodes are the ones the gateway read from the PLCs over Modbus.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

import pytest

from twin.telemetry import CollectingSink, HostConfig, Quality, SparkplugHost
from twin_edge.testing import make_rig, unique, wait_until

pytestmark = pytest.mark.mqtt

ROOT = Path(__file__).resolve().parents[2]
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
SCRIPTS = Path(__file__).with_name("interop")
ROUNDS = 12


@pytest.fixture(scope="module")
def third_party() -> Path:
    if not INTEROP_PYTHON.exists():
        pytest.fail(f"{INTEROP_PYTHON} is missing: run scripts/bootstrap (it installs pysparkplug there)")
    return INTEROP_PYTHON


def _expected(round_: int) -> dict[str, object]:
    """The values the edge script publishes in ``round_`` (its ``values`` function, restated here on purpose:
    the test must not import the third-party side's code into our interpreter)."""
    return {
        "cell_voltage_V": 4.0 + round_ / 8,
        "bath_temp_degC": 955.0 + round_ / 4,
        "offset_Int8": -9 - round_,
        "offset_Int16": -300 - round_,
        "feed_count": 2**40 + round_,
        "anode_effect": round_ % 2 == 1,
    }


def test_pysparkplug_edge_node_to_the_twins_host(third_party: Path, broker: tuple[str, int]) -> None:
    group, node, device = unique("g"), unique("pyspb"), "pot001"
    sink = CollectingSink()
    host = SparkplugHost(HostConfig(host_id=unique("h"), broker_port=broker[1], group_ids=(group,)), sink)
    host.start()
    try:
        assert host.wait_online(10)
        run = subprocess.run(
            [str(third_party), str(SCRIPTS / "pysparkplug_edge_node.py"), str(broker[1]), group, node, device,
             str(ROUNDS)],
            capture_output=True, text=True, timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert f"sent {ROUNDS}" in run.stdout
        wait_until(lambda: _rounds(sink, device) >= ROUNDS + 1, 15)
    finally:
        host.stop()
    samples = sink.samples()
    good = [s for s in samples if s.quality is Quality.GOOD and s.device == device]
    by_metric: dict[str, list[object]] = {}
    for s in sorted(good, key=lambda s: s.timestamp_ms):
        by_metric.setdefault(s.metric, []).append(s.value)
    for metric in _expected(0):  # DBIRTH (round 0) then every DDATA round, in order
        assert by_metric[metric] == [_expected(r)[metric] for r in range(ROUNDS + 1)], metric
    serial = [s for s in samples if s.device is None and s.metric == "Properties/Serial Number"]
    assert serial, "the node property never arrived"
    assert {s.value for s in serial} == {"SN 0042"}, host.counters  # once per NBIRTH (a rebirth repeats it)


def _rounds(sink: CollectingSink, device: str) -> int:
    return sum(1 for s in sink.samples() if s.device == device and s.metric == "offset_Int8"
               and s.quality is Quality.GOOD)


def test_the_twins_gateway_to_a_pysparkplug_host(third_party: Path, broker: tuple[str, int], tmp_path: Path) -> None:
    group, node = unique("g"), unique("gw")
    listener = subprocess.Popen(
        [str(third_party), str(SCRIPTS / "pysparkplug_host.py"), str(broker[1]), group, "8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert listener.stdout is not None
    assert json.loads(listener.stdout.readline()) == {"ready": True}
    time.sleep(0.5)  # its subscription is in place
    rig = make_rig(tmp_path, group=group, node=node, broker_port=broker[1], pots=2)
    rig.start()
    try:
        out, err = listener.communicate(timeout=60)
    finally:
        rig.stop()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines, err
    assert not [line for line in lines if "error" in line], lines
    assert "Traceback" not in err, err
    types = [line["type"] for line in lines]
    assert types[0] == "NBIRTH"
    assert types.count("DBIRTH") == 2
    assert "DDATA" in types
    births = {line["device"]: {m[0] for m in line["metrics"]} for line in lines if line["type"] == "DBIRTH"}
    observed = rig.observed()  # (device, metric, timestamp, value) as the gateway read them over Modbus
    for device, names in births.items():
        assert {m for d, m, _, _ in observed if d == device} <= names
    gateway_values = {(d, m, ts): v for d, m, ts, v in observed}
    decoded = [
        (line["device"], name, ts, value)
        for line in lines if line["type"] == "DDATA"
        for name, _dtype, value, ts in line["metrics"]
    ]
    assert len(decoded) >= 10
    for device, name, ts, value in decoded:
        sent = gateway_values[(device, name, ts)]
        if isinstance(sent, float):
            assert value == pytest.approx(sent, rel=1e-6), (device, name)  # Float metrics travel as float32
        else:
            assert value == sent, (device, name)


def test_odd_values_pysparkplug_allows_cost_only_themselves(third_party: Path, broker: tuple[str, int]) -> None:
    """pysparkplug lets an edge node give one alias to two metrics (the node's and a device's, two devices'),
    publish UInt64 2**64-1, NaN, +inf, 1e308, a 5 000-character String with a newline and a metric stamped
    2**64-1 ms (interop/pysparkplug_hostile_edge.py). The host refuses the two duplicate aliases
    (``duplicate_alias``) and keeps those metrics by name, drops only the far-future metric (``bad_timestamp``)
    and delivers every other value as it was sent, with no internal error."""
    group, node = unique("g"), unique("pyspb")
    sink = CollectingSink()
    host = SparkplugHost(HostConfig(host_id=unique("h"), broker_port=broker[1], group_ids=(group,)), sink)
    host.start()
    try:
        assert host.wait_online(10)
        run = subprocess.run(
            [str(third_party), str(SCRIPTS / "pysparkplug_hostile_edge.py"), str(broker[1]), group, node],
            capture_output=True, text=True, timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert "sent" in run.stdout
        wait_until(lambda: any(s.device is None and s.value == 301.5 for s in sink.samples()), 15)
    finally:
        host.stop()
    good = [s for s in sink.samples() if s.quality is Quality.GOOD]
    values: dict[tuple[str | None, str], list[object]] = {}
    for s in good:
        values.setdefault((s.device, s.metric), []).append(s.value)
    assert values[(None, "line_current_kA")] == [300.0, 301.5]
    assert values[("pot001", "feed_count")] == [0, 2**64 - 1]
    voltages = values[("pot001", "cell_voltage_V")]
    assert voltages[0] == 4.0
    assert math.isnan(voltages[1])  # type: ignore[arg-type]
    assert voltages[2] == math.inf
    assert values[("pot001", "note")] == ["ok", "x" * 4_999 + "\n"]
    assert values[("pot002", "bath_temp_degC")] == [955.0, 1e308]
    assert all(s.timestamp_ms < 2**63 for s in sink.samples())
    counters = host.counters
    assert counters["duplicate_alias"] == 2
    assert counters["bad_timestamp"] == 1
    assert counters["internal_errors"] == counters["sink_errors"] == counters["malformed"] == 0
