"""Settings of the Sparkplug B host application (:class:`HostConfig`), checked when made."""

from __future__ import annotations

from dataclasses import dataclass

from twin.errors import TelemetryError
from twin.telemetry.setpoints import SetpointLimits
from twin_edge.errors import SparkplugError
from twin_edge.mqtt_settings import MqttSettings, TlsSettings
from twin_edge.sparkplug import validate_id


@dataclass(frozen=True, slots=True)
class HostConfig:
    """Settings of one host application. ``group_ids`` empty = every Sparkplug group (``spBv1.0/#``).

    ``max_devices_per_node`` and ``max_metrics_per_node`` bound what one edge node can make the host hold in a
    session (a DBIRTH beyond the first is refused whole, a metric definition beyond the second on its own; both
    counted). A potline gateway serves a few hundred pots (the longest lines have 300-400 cells) with a few dozen
    metrics each (8 from our simulated pot controllers, up to ~50 from a real one): at most ~400 devices and
    ~20 000 metrics, so 2 000 devices and 100 000 metrics leave a five-fold margin. A metric costs the host
    ~1.6 kB (more with the timestamps of its duplicate window), so one node stays within ~160 MB; without the caps
    one node could DBIRTH 100 000 devices or send a birth with a million definitions and grow memory without
    bound. The host as a whole holds at most ``max_edge_nodes`` times that.

    ``max_queued_bytes`` and ``max_reorder_bytes`` bound the payload bytes the host holds at once in its ingest
    queue and in all edge nodes' reorder buffers (:class:`~twin.telemetry.byte_budget.ByteBudget`); the counts
    alone (``queue_size`` messages, 127 out-of-order messages per edge node) would let payloads of up to
    ``max_payload_bytes`` fill 100 GB. A payload that finds the queue's bytes full waits like one that finds the
    queue full (back-pressure, then ``queue_overflow``); one that finds the reorder bytes full ends its node's
    wait for the missing message at once (``seq_gaps`` and a rebirth, as a Reorder Timeout does). Sizing: a
    400-pot gateway's DDATA at 1 Hz is a few kB a pot, so 256 MiB hold well over a minute of a plant's stream and
    64 MiB of out-of-order messages several seconds of it (the Reorder Timeout is 2 s).
    """

    host_id: str
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    group_ids: tuple[str, ...] = ()
    reorder_timeout_s: float = 2.0
    rebirth_timeout_s: float = 5.0
    duplicate_window_s: float = 120.0
    queue_size: int = 100_000
    queue_full_wait_s: float | None = None  # wait for room in a full queue before a drop; None: keepalive_s / 2
    max_payload_bytes: int = 1_048_576
    max_queued_bytes: int = 256 * 1_048_576  # payload bytes in the ingest queue at once (docstring)
    max_reorder_bytes: int = 64 * 1_048_576  # payload bytes held out of order, all edge nodes together (docstring)
    max_future_s: float = 60.0  # a metric stamped further ahead of the host's clock is dropped (bad_timestamp)
    max_edge_nodes: int = 1_000  # edge nodes tracked at once; beyond, the longest unborn is forgotten
    max_devices_per_node: int = 2_000  # devices with a DBIRTH per edge node and session (docstring)
    max_metrics_per_node: int = 100_000  # metric definitions per edge node and session (docstring)
    client_id: str | None = None
    keepalive_s: int = 10
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 5.0
    username: str | None = None
    password: str | None = None
    tls: TlsSettings | None = None  # None: plain TCP
    setpoint_limits: SetpointLimits | None = None  # None: this host writes no setpoints
    readback_timeout_s: float = 10.0  # a write not read back within this is an alarm

    def __repr__(self) -> str:  # never print a password into a log
        secret = None if self.password is None else "***"
        return (
            f"HostConfig(host_id={self.host_id!r}, broker={self.broker_host}:{self.broker_port}, "
            f"group_ids={self.group_ids!r}, username={self.username!r}, password={secret!r}, tls={self.tls!r})"
        )

    @property
    def full_queue_wait_s(self) -> float:
        """How long a message waits for room in a full ingest queue (``queue_full_wait_s``, default half the
        keep-alive: the MQTT thread still answers the broker in time)."""
        return self.keepalive_s / 2 if self.queue_full_wait_s is None else self.queue_full_wait_s

    def mqtt_settings(self) -> MqttSettings:
        return MqttSettings(
            host=self.broker_host,
            port=self.broker_port,
            client_id=self.client_id,
            keepalive_s=self.keepalive_s,
            reconnect_min_s=self.reconnect_min_s,
            reconnect_max_s=self.reconnect_max_s,
            username=self.username,
            password=self.password,
            tls=self.tls,
        )

    def __post_init__(self) -> None:
        for name, value in [("host_id", self.host_id), *(("group_ids", g) for g in self.group_ids)]:
            try:
                validate_id(name, value)
            except SparkplugError:
                raise TelemetryError(
                    f"HostConfig.{name} = {value!r} is invalid; expected a non-empty string without '/', '+', '#'"
                ) from None
        if self.readback_timeout_s <= 0:
            raise TelemetryError(f"HostConfig.readback_timeout_s = {self.readback_timeout_s!r}; expected > 0 s")
        for name in ("reorder_timeout_s", "queue_size", "max_payload_bytes", "max_future_s", "max_edge_nodes",
                     "max_devices_per_node", "max_metrics_per_node", "max_reorder_bytes"):
            value = getattr(self, name)
            if not value > 0:  # NaN fails too
                raise TelemetryError(f"HostConfig.{name} = {value!r} is invalid; expected a number > 0")
        if not self.max_queued_bytes >= self.max_payload_bytes:
            raise TelemetryError(
                f"HostConfig.max_queued_bytes = {self.max_queued_bytes!r} is invalid; expected at least "
                f"max_payload_bytes ({self.max_payload_bytes}), or a payload of that size could never be queued"
            )
        if self.queue_full_wait_s is not None and not 0 <= self.queue_full_wait_s < self.keepalive_s:
            raise TelemetryError(
                f"HostConfig.queue_full_wait_s = {self.queue_full_wait_s!r}; expected 0 <= s < keepalive_s "
                f"({self.keepalive_s} s): the MQTT thread must answer the broker within its keep-alive"
            )
