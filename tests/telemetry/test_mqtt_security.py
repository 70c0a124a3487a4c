"""MQTT security on both sides (issue 9 item 5), against a real Mosquitto started with the example configuration
shipped in edge/examples/mosquitto (paths and ports rewritten): password file, per-edge-node ACL, TLS with client
certificates and the host-name check. The gateway and the twin's host use the same connection module
(twin_edge.mqtt_link)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from twin.service.embedded_broker import free_port
from twin.telemetry import CollectingSink, HostConfig, Quality, SparkplugHost
from twin_edge.mqtt_settings import TlsSettings, tls_context
from twin_edge.testing import PrivateBroker, Recorder, make_rig, unique
from twin_edge.testing import wait_until as poll_until
from twin_edge.testing_pki import Pki, make_pki

pytestmark = pytest.mark.mqtt

EXAMPLE = Path(__file__).resolve().parents[2] / "edge" / "examples" / "mosquitto"
PASSWORDS = {"twin": "twin-pw", "gw01": "gw01-pw", "gw02": "gw02-pw"}


@dataclass
class SecureBroker:
    broker: PrivateBroker
    pki: Pki
    directory: Path

    @property
    def port(self) -> int:
        return self.broker.port

    @property
    def tls_port(self) -> int:
        return self.broker.port2


@pytest.fixture(scope="module")
def secure() -> Iterator[SecureBroker]:
    # Mosquitto started as root reads these files after dropping to its own user: a world-readable directory
    # of throwaway files (pytest's tmp_path is private to root).
    directory = Path(tempfile.mkdtemp(prefix="twin-secure-broker-"))
    directory.chmod(0o755)
    pki = make_pki(directory, server_names=("localhost",), clients=("gw01", "twin"))
    passwd = directory / "passwd"
    for i, (user, password) in enumerate(PASSWORDS.items()):
        create = ["-c"] if i == 0 else []
        subprocess.run(["mosquitto_passwd", *create, "-b", str(passwd), user, password], check=True, timeout=30)
    (directory / "acl").write_text((EXAMPLE / "acl").read_text())
    text = (
        (EXAMPLE / "mosquitto.conf")
        .read_text()
        .replace("/etc/mosquitto/twin/", f"{directory}/")
        .replace("listener 1883 127.0.0.1", "listener {port} 127.0.0.1")
        .replace("listener 8883", "listener {port2} 127.0.0.1")
    )
    for path in directory.iterdir():
        path.chmod(0o644)
    broker = PrivateBroker(config_text=text)
    broker.start()
    yield SecureBroker(broker, pki, directory)
    broker.stop()
    shutil.rmtree(directory, ignore_errors=True)


def _connack(port: int, username: str, password: str) -> object:
    """The CONNACK reason a plain paho client gets (not our code: this checks the shipped broker config)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("probe-"))
    client.username_pw_set(username, password)
    reasons: list[object] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: reasons.append(reason)
    client.connect("127.0.0.1", port)
    deadline = time.monotonic() + 10
    while not reasons and time.monotonic() < deadline:
        client.loop(0.1)
    client.disconnect()
    return reasons[0]


def wait_until(predicate, timeout: float = 15.0) -> None:
    """The shared poll (twin_edge.testing.wait_until) with this module's longer default."""
    poll_until(predicate, timeout)


def _voltages(sink: CollectingSink, node: str) -> list[object]:
    return [
        s.value for s in sink.samples() if s.node == node and s.metric == "cell_voltage_V" and s.quality is Quality.GOOD
    ]


def test_passwords_and_the_acl_confine_each_edge_node(secure: SecureBroker, tmp_path: Path) -> None:
    """No anonymous or wrong-password client gets in; the gateway (user gw01, password from a file) reaches the
    twin's host (user twin); another edge node (gw02) cannot publish on gw01's topics."""
    assert getattr(_connack(secure.port, "gw01", "wrong"), "is_failure", False)
    assert getattr(_connack(secure.port, "nobody", "x"), "is_failure", False)
    (tmp_path / "gw01.password").write_text(PASSWORDS["gw01"] + "\n")
    sink = CollectingSink()
    host = SparkplugHost(
        HostConfig(
            host_id="twin",
            broker_port=secure.port,
            group_ids=("potline1",),
            username="twin",
            password=PASSWORDS["twin"],
        ),
        sink,
    )
    rig = make_rig(
        tmp_path,
        group="potline1",
        node="gw01",
        broker_port=secure.port,
        pots=1,
        mqtt_extra='username = "gw01"\npassword_file = "gw01.password"\n',
    )
    impostor = Recorder("127.0.0.1", secure.port, "spBv1.0/STATE/twin", username="gw02", password=PASSWORDS["gw02"])
    watcher = Recorder("127.0.0.1", secure.port, "spBv1.0/potline1/#", username="twin", password=PASSWORDS["twin"])
    host.start()
    try:
        assert host.wait_online(10)
        rig.start()
        wait_until(lambda: len(_voltages(sink, "gw01")) >= 3)
        impostor.publish("spBv1.0/potline1/NDATA/gw01", b"impostor", qos=1)  # refused by the ACL (dropped)
        impostor.publish("spBv1.0/potline1/NDATA/gw02", b"sentinel", qos=1)  # its own topic: delivered
        watcher.wait_for(lambda ms: any(m.payload == b"sentinel" for m in ms))
        assert not [m for m in watcher.messages() if m.payload == b"impostor"]
    finally:
        rig.stop()
        host.stop()
        impostor.close()
        watcher.close()


def test_tls_with_client_certificates_for_host_and_gateway(secure: SecureBroker, tmp_path: Path) -> None:
    """Both sides over TLS with the CA, their client certificate and the host-name check on (server name
    ``localhost``), plus username and password."""
    pki = secure.pki
    host_cert, host_key = pki.client("twin")
    gw_cert, gw_key = pki.client("gw01")
    sink = CollectingSink()
    host = SparkplugHost(
        HostConfig(
            host_id="twin",
            broker_host="localhost",
            broker_port=secure.tls_port,
            group_ids=("potline1",),
            username="twin",
            password=PASSWORDS["twin"],
            tls=TlsSettings(pki.ca, host_cert, host_key),
        ),
        sink,
    )
    tls_table = (
        f'[mqtt.tls]\nca_file = "{pki.ca}"\ncert_file = "{gw_cert}"\nkey_file = "{gw_key}"\ncheck_hostname = true\n'
    )
    rig = make_rig(
        tmp_path,
        group="potline1",
        node="gw01",
        broker_port=secure.tls_port,
        pots=1,
        mqtt_host="localhost",
        mqtt_extra=f'username = "gw01"\npassword = "{PASSWORDS["gw01"]}"\n',
        extra_toml=tls_table,
    )
    host.start()
    try:
        assert host.wait_online(10)
        rig.start()
        wait_until(lambda: len(_voltages(sink, "gw01")) >= 3)
    finally:
        rig.stop()
        host.stop()


def _handshake(port: int, server_name: str, tls: TlsSettings, *, connect: bool = False) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        tls_context(tls).wrap_socket(raw, server_hostname=server_name) as conn,
    ):
        conn.do_handshake()
        if connect:  # an MQTT CONNECT; with TLS 1.3 a refused client certificate shows on the first read
            conn.sendall(b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00")
            if not conn.recv(4):
                raise ConnectionError("broker closed the connection")


def test_the_host_name_check_is_on_unless_turned_off(secure: SecureBroker) -> None:
    """The certificate names ``localhost`` only: reaching the broker as 127.0.0.1 fails the check; with
    ``check_hostname = false`` (test rigs) it passes; a client without a certificate is refused by the broker."""
    pki = secure.pki
    cert, key = pki.client("gw01")
    _handshake(secure.tls_port, "localhost", TlsSettings(pki.ca, cert, key))
    with pytest.raises(ssl.SSLCertVerificationError, match=r"127\.0\.0\.1"):
        _handshake(secure.tls_port, "127.0.0.1", TlsSettings(pki.ca, cert, key))
    _handshake(secure.tls_port, "127.0.0.1", TlsSettings(pki.ca, cert, key, check_hostname=False))
    _handshake(secure.tls_port, "localhost", TlsSettings(pki.ca, cert, key), connect=True)  # CONNACK comes
    with pytest.raises((ssl.SSLError, ConnectionError)):  # no client certificate: refused
        _handshake(secure.tls_port, "localhost", TlsSettings(pki.ca), connect=True)


def test_twin_serve_logs_in_with_its_config_files_credentials_over_tls(secure: SecureBroker, tmp_path: Path) -> None:
    """``twin serve --config`` reads [mqtt] username, password_file and [mqtt.tls] with the same parser as the
    gateway (twin_edge.mqtt_config) and its host comes online on the secured broker (TLS with a client
    certificate and the host-name check, user ``twin``): the STATE of host ``twin`` says online."""
    pki = secure.pki
    cert, key = pki.client("twin")
    (tmp_path / "twin.pass").write_text(PASSWORDS["twin"] + "\n")
    watcher = Recorder("127.0.0.1", secure.port, "spBv1.0/STATE/twin", username="twin", password=PASSWORDS["twin"])
    port = free_port()
    config = tmp_path / "service.toml"
    config.write_text(
        f'[store]\nurl = "duckdb:///{tmp_path / "serve.duckdb"}"\n'
        f'[mqtt]\nhost = "localhost"\nport = {secure.tls_port}\nusername = "twin"\npassword_file = "twin.pass"\n'
        f'[mqtt.tls]\nca_file = "{pki.ca}"\ncert_file = "{cert}"\nkey_file = "{key}"\n'
        '[sparkplug]\nhost_id = "twin"\n[live]\npotlines = { potline1 = 2 }\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "twin.cli", "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        watcher.wait_for(lambda ms: any(_online(m.payload) for m in ms), timeout=180)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        watcher.close()
    assert proc.returncode == 0, err
    assert "not online" not in err


def _online(payload: bytes) -> bool:
    try:
        return json.loads(payload).get("online") is True
    except (ValueError, AttributeError):
        return False


def test_twin_serve_config_refuses_a_mistyped_mqtt_key(tmp_path: Path) -> None:
    """The service config's [mqtt] is checked by the gateway's parser: ``pasword`` is an error naming the file,
    the key and the known keys, never a silent plaintext login."""
    config = tmp_path / "service.toml"
    config.write_text('[mqtt]\nusername = "twin"\npasword = "x"\n')
    proc = subprocess.run([sys.executable, "-m", "twin.cli", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert f"{config}: unknown key mqtt.pasword" in proc.stderr
    assert "password_file" in proc.stderr
    assert "Traceback" not in proc.stderr
