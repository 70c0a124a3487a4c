"""`twin serve` stops cleanly on SIGTERM, as systemd, docker and Kubernetes stop it (issue 9 item 9).

A real subprocess against a real MQTT broker (the embedded amqtt one, started here): after SIGTERM the
service runs its normal shutdown (final flush, offline STATE, store closed) and exits 0. A DuckDB store that
was closed has checkpointed its write-ahead log away; one whose process was killed keeps it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from twin.service.embedded_broker import EmbeddedBroker, free_port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture
def broker():
    with EmbeddedBroker() as b:
        yield b


def test_serve_on_sigterm_shuts_down_cleanly_and_exits_0(tmp_path: Path, broker: EmbeddedBroker) -> None:
    store = tmp_path / "serve.duckdb"
    port = free_port()
    config = tmp_path / "service.toml"
    config.write_text(
        f'[store]\nurl = "duckdb:///{store}"\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'[sparkplug]\nhost_id = "twin-sigterm-{port}"\n[live]\npotlines = {{ potline9 = 2 }}\n'
    )
    proc = subprocess.Popen([sys.executable, "-m", "twin.cli", "serve", "--config", str(config), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(f"http://127.0.0.1:{port}/v1/health"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "twin serve did not start"
            time.sleep(0.2)
        wal = Path(f"{store}.wal")
        deadline = time.monotonic() + 30
        while not wal.exists() and time.monotonic() < deadline:  # KPI history is being written
            time.sleep(0.2)
        assert wal.exists()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped on SIGTERM; telemetry flushed, offline STATE sent, store closed" in out
    assert not wal.exists()  # the store was closed (checkpointed), not abandoned
