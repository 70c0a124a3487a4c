"""Gateway cost: 400 pot controllers polled over Modbus TCP and published as Sparkplug at 1 Hz.

The simulated PLCs and the gateway run as two separate processes (``twin-edge simplc`` and ``twin-edge --config``)
against a private Mosquitto; the gateway's CPU use is its process CPU time (user + system, /proc) divided by the
wall time of the measuring window, after all 400 DBIRTHs were seen. Target (issue 4): under half of one core.
Under ``--benchmark-disable`` the same path runs with 40 pots for 2 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twin_edge.sparkplug import parse_topic
from twin_edge.testing import (
    PrivateBroker,
    Recorder,
    broker_reachable,
    free_port_range,
    unique,
    write_gateway_config,
)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "twin_edge.cli", *args, "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _start_plcs(pots: int) -> tuple[int, subprocess.Popen[bytes]]:
    """Start the simulated PLCs on a free port range; try another range if a port was taken meanwhile."""
    for _ in range(3):
        first_port = free_port_range(pots)
        plcs = _start("simplc", "--pots", str(pots), "--port", str(first_port), "--update-period", "0.5")
        deadline = time.monotonic() + 30
        while plcs.poll() is None and time.monotonic() < deadline:
            if all(broker_reachable("127.0.0.1", p) for p in (first_port, first_port + pots - 1)):
                return first_port, plcs
            time.sleep(0.2)
        plcs.kill()
        plcs.wait(10)
    raise RuntimeError(f"could not start {pots} simulated PLCs")


@pytest.mark.mqtt
def test_bench_gateway_400_pots_at_1_hz(benchmark, tmp_path: Path) -> None:
    pots, window_s = (40, 2.0) if benchmark.disabled else (400, 20.0)
    broker = PrivateBroker()
    broker.start()
    group = unique("benchgw")
    first_port = free_port_range(pots)
    config = write_gateway_config(
        tmp_path, group=group, node="gw01", broker_port=broker.port, pots=pots, first_port=first_port, period_s=1.0
    )
    recorder = Recorder("127.0.0.1", broker.port, f"spBv1.0/{group}/#")
    plcs = _start("simplc", "--pots", str(pots), "--port", str(first_port), "--update-period", "0.5")
    gateway: subprocess.Popen[bytes] | None = None
    result: dict[str, float] = {}
    try:
        time.sleep(0.5 + pots / 200)  # let the PLC servers bind
        gateway = _start("--config", str(config))
        recorder.wait_for(lambda ms: sum("/DBIRTH/" in m.topic for m in ms) >= pots, timeout=60)

        def measure() -> None:
            assert gateway is not None
            start_msgs = len(recorder.messages("/DDATA/"))
            cpu0, t0 = _cpu_seconds(gateway.pid), time.perf_counter()
            time.sleep(window_s)
            cpu1, t1 = _cpu_seconds(gateway.pid), time.perf_counter()
            result.update(
                cpu=(cpu1 - cpu0) / (t1 - t0), ddata_per_s=(len(recorder.messages("/DDATA/")) - start_msgs) / (t1 - t0)
            )

        benchmark.pedantic(measure, rounds=1, iterations=1)
        if benchmark.disabled:
            measure()
    finally:
        for proc in (gateway, plcs):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
        recorder.close()
        broker.stop()
    devices = {parse_topic(m.topic).device_id for m in recorder.messages("/DDATA/")}
    assert len(devices) == pots  # every pot published
    assert result["ddata_per_s"] >= 0.8 * pots  # ~one DDATA per pot per second (voltage noise beats deadband)
    benchmark.extra_info.update(
        pots=pots,
        poll_hz=1.0,
        window_s=window_s,
        cpu_fraction_of_one_core=round(result["cpu"], 3),
        ddata_messages_per_s=round(result["ddata_per_s"], 1),
    )
    print(
        f"\ngateway {pots} pots at 1 Hz: {100 * result['cpu']:.1f} % of one core, {result['ddata_per_s']:.0f} DDATA/s"
    )
