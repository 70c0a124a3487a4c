"""Test support shared by edge/tests, tests/telemetry and later the live twin's tests (no pytest import).

Real components only: a Mosquitto subprocess on a private port, a recording MQTT client, and a rig running
simulated PLCs plus an :class:`~twin_edge.gateway.EdgeGateway` on a private asyncio loop in a background thread.
Not imported by the rest of twin_edge.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from twin_edge.config import GatewayConfig, load_config
from twin_edge.gateway import EdgeGateway
from twin_edge.simplc import SimulatedPlcs, SyntheticSource, write_tag_map


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``predicate`` every 20 ms until it is true; AssertionError after ``timeout`` seconds (a test waiting for
    a message or a counter over a real broker, not timing anything)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


SHARED_BROKER = ("127.0.0.1", 1883)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_range(count: int) -> int:
    """First port of ``count`` consecutive free ports, below Linux's ephemeral range (32768-60999) so that
    outgoing connections of other processes do not grab them between this check and the bind."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 32_700 - count)
        ok = True
        for p in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


def broker_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def ensure_shared_broker() -> tuple[str, int]:
    """The machine's Mosquitto on 127.0.0.1:1883, restarted if it is down."""
    if not broker_reachable(*SHARED_BROKER):
        subprocess.run(["mosquitto", "-d", "-c", "/etc/mosquitto/mosquitto.conf"], check=False)
        for _ in range(50):
            if broker_reachable(*SHARED_BROKER):
                break
            time.sleep(0.1)
    return SHARED_BROKER


class PrivateBroker:
    """A Mosquitto subprocess on its own port, which a test may stop and start again."""

    def __init__(self, *, extra_config: Sequence[str] = (), config_text: str | None = None) -> None:
        """``extra_config``: mosquitto.conf lines, e.g. ``["max_queued_messages 0"]`` for an unbounded queue.

        ``config_text``: a whole mosquitto.conf instead of the default anonymous listener; ``{port}`` in it is
        replaced by :attr:`port` (``{port2}`` by :attr:`port2`, a second free port, e.g. for a TLS listener)."""
        if shutil.which("mosquitto") is None:
            raise RuntimeError("mosquitto is not installed")
        # Below the ephemeral range: a test stops and restarts the broker on this port, and while it is down an
        # outgoing connection anywhere on the machine could otherwise take it as its local port (a CI failure:
        # the restart found the port in use and the broker never came up).
        self.port = free_port_range(2)
        self.port2 = self.port + 1
        self._extra_config = list(extra_config)
        self._config_text = config_text
        self._conf_dir = tempfile.TemporaryDirectory(prefix="mosquitto-")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = Path(self._conf_dir.name) / "mosquitto.conf"
        if self._config_text is not None:
            conf.write_text(self._config_text.replace("{port}", str(self.port)).replace("{port2}", str(self.port2)))
        else:
            conf.write_text(
                "\n".join([f"listener {self.port} 127.0.0.1", "allow_anonymous true", *self._extra_config]) + "\n"
            )
        log = Path(self._conf_dir.name) / "mosquitto.log"
        with log.open("ab") as out:
            self._proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            if broker_reachable("127.0.0.1", self.port):
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"private mosquitto did not start on port {self.port}; its log:\n{tail}")

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                self._proc.wait(5)
            self._proc = None


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@dataclass
class Recorded:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    at: float = field(default_factory=time.monotonic)


class Recorder:
    """Subscribes to a filter and records every message (thread-safe)."""

    def __init__(
        self,
        host: str,
        port: int,
        topic_filter: str,
        qos: int = 1,
        *,
        as_host: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: Any = None,
    ) -> None:
        """``as_host``: also act as that Primary Host, publishing its online STATE on every (re)connect.
        ``username``/``password``/``tls`` (a :class:`~twin_edge.mqtt_settings.TlsSettings`): broker security."""
        self._lock = threading.Lock()
        self._messages: list[Recorded] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("rec-"))
        self.client.reconnect_delay_set(0.1, 0.5)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls is not None:
            from twin_edge.mqtt_settings import tls_context

            self.client.tls_set_context(tls_context(tls))

        def on_connect(c: mqtt.Client, *_: object) -> None:
            c.subscribe(topic_filter, qos=qos)
            if as_host is not None:
                state = b'{"online": true, "timestamp": %d}' % (time.time_ns() // 1_000_000)
                c.publish(f"spBv1.0/STATE/{as_host}", state, qos=1, retain=True)

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._ready.wait(5):
            raise RuntimeError("recorder could not subscribe")

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._messages.append(Recorded(msg.topic, msg.payload, msg.qos, bool(msg.retain)))

    def messages(self, contains: str = "") -> list[Recorded]:
        with self._lock:
            return [m for m in self._messages if contains in m.topic]

    def wait_for(self, predicate: Callable[[list[Recorded]], bool], timeout: float = 10.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.messages()
            if predicate(msgs):
                return msgs
            time.sleep(0.02)
        raise AssertionError(f"condition not met within {timeout}s; got {len(self.messages())} messages")

    def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def write_gateway_config(
    directory: Path,
    *,
    group: str,
    node: str,
    broker_port: int,
    pots: int,
    first_port: int,
    period_s: float = 0.1,
    primary_host: str | None = None,
    deadband_scale: float = 1.0,
    mqtt_host: str = "127.0.0.1",
    mqtt_extra: str = "",
    extra_toml: str = "",
    setpoint_limits: dict[str, tuple[float, float]] | None = None,
) -> Path:
    """``mqtt_extra``: more lines for the ``[mqtt]`` table; ``extra_toml``: appended (e.g. a ``[mqtt.tls]`` table);
    ``setpoint_limits``: writable setpoint tags with the gateway's ranges (see ``write_tag_map``)."""
    write_tag_map(
        directory / "tagmap.toml",
        pots=pots,
        host="127.0.0.1",
        first_port=first_port,
        deadband_scale=deadband_scale,
        setpoint_limits=setpoint_limits,
    )
    primary = f'primary_host_id = "{primary_host}"\n' if primary_host else ""
    path = directory / "gateway.toml"
    path.write_text(
        'tag_map = "tagmap.toml"\n'
        f'[mqtt]\nhost = "{mqtt_host}"\nport = {broker_port}\nreconnect_min_s = 0.2\nreconnect_max_s = 1.0\n'
        f'keepalive_s = 5\n{mqtt_extra}[sparkplug]\ngroup_id = "{group}"\nedge_node_id = "{node}"\n{primary}'
        f"[poll]\nperiod_s = {period_s}\ntimeout_s = 0.3\n"
        '[store]\npath = "state/store.sqlite"\n' + extra_toml,
        encoding="utf-8",
    )
    return path


class GatewayRig:
    def __init__(
        self,
        config: GatewayConfig,
        *,
        pots: int,
        first_port: int,
        source: Any = None,
        plc_options: dict[str, Any] | None = None,
    ) -> None:
        """``plc_options``: more keyword arguments for :class:`SimulatedPlcs` (e.g. ``writers``)."""
        self.config = config
        self.samples: list[tuple[str, str, int, Any]] = []
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.plcs = SimulatedPlcs(
            source or SyntheticSource(),
            pots=pots,
            first_port=first_port,
            update_period_s=0.02,
            **(plc_options or {}),
        )
        self.gateway: EdgeGateway | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._run_task: Any = None

    def _observe(self, device: str, metric: str, ts: int, value: Any) -> None:
        with self._lock:
            self.samples.append((device, metric, ts, value))

    def observed(self) -> list[tuple[str, str, int, Any]]:
        with self._lock:
            return list(self.samples)

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, *, plcs: bool = True) -> GatewayRig:
        self._thread.start()
        if plcs:
            self.call(self.plcs.start())
        self.start_gateway()
        return self

    def start_gateway(self) -> None:
        async def begin() -> None:
            self._stop = asyncio.Event()
            self.gateway = EdgeGateway(self.config, on_sample=self._observe)
            self._run_task = asyncio.ensure_future(self.gateway.run(self._stop))

        self.call(begin())

    def stop_gateway(self) -> None:
        async def end() -> None:
            assert self._stop is not None
            self._stop.set()
            await self._run_task

        self.call(end())

    def stop(self) -> None:
        try:
            if self._run_task is not None and not self._run_task.done():
                self.stop_gateway()
            self.call(self.plcs.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


def make_rig(tmp_path: Path, *, group: str, node: str, broker_port: int, pots: int = 2, **kwargs: Any) -> GatewayRig:
    first_port = free_port_range(pots)
    source = kwargs.pop("source", None)
    plc_options = kwargs.pop("plc_options", None)
    cfg_path = write_gateway_config(
        tmp_path, group=group, node=node, broker_port=broker_port, pots=pots, first_port=first_port, **kwargs
    )
    return GatewayRig(load_config(cfg_path), pots=pots, first_port=first_port, source=source, plc_options=plc_options)
