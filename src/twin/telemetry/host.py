"""The twin's Sparkplug B Host Application (ingest).

Threads: paho runs its network loop on its own thread and only appends ``(topic, payload, receipt_ms)`` to a
bounded queue (a full queue is counted as ``queue_overflow`` and logged, never silent; the lost message then
shows up as a seq gap and is repaired by a rebirth). One worker thread takes messages off the queue, orders
them per edge node (:class:`~twin.telemetry.node_tracker.EdgeNodeTracker`) and hands samples to the sink.

Retained messages: Sparkplug publishes NBIRTH, DBIRTH, NDATA, DDATA, NDEATH, DDEATH, NCMD and DCMD with the MQTT
retain flag false (tck-id-payloads-nbirth-retain, -dbirth-retain, -ndata-retain, -ddata-retain,
tck-id-payloads-ndeath-will-message-retain, tck-id-topics-ddeath-mqtt, tck-id-payloads-ncmd-retain,
-dcmd-retain). A broker keeps a message published retained anyway and replays it, retain flag set, to every new
subscriber, the host after each (re)connect included: stale data that would be applied as new, or a birth that
re-births a node which may be dead. The MQTT thread refuses such a message before it is queued, counts it
(``retained_refused``) and logs once per topic; the node's live messages beside it are applied as ever (a DATA
without a birth asks for a rebirth). A retained publish that reaches a subscriber already there comes with the
retain flag clear (MQTT 3.1.1 §3.3.1.3; Mosquitto 2.0 does so) and is applied as the live message it is.

Setpoints (issue 10 item 7, :meth:`SparkplugHost.write_setpoint`): with ``HostConfig.setpoint_limits`` set, the
host range-checks a value against the technology's limits (:mod:`twin.telemetry.setpoints`), takes the metric's
datatype from the device's current DBIRTH and publishes a DCMD on ``spBv1.0/<group>/DCMD/<node>/<device>``
(QoS 0, not retained, tck-id-topics-dcmd-*): the metric by its DBIRTH alias only, as the spec requires when
aliases are used (tck-id-payloads-alias-data-cmd-requirement; by name when the DBIRTH gave no alias), a metric
timestamp (tck-id-payloads-name-cmd-requirement) and the value in the protobuf field of the DBIRTH datatype,
without the datatype itself (tck-id-payloads-metric-datatype-not-req). The
gateway's next DDATA settles it (:class:`~twin.telemetry.setpoints.ReadbackVerifier`); a mismatch or no read-back
within ``readback_timeout_s`` is an alarm: counted (``setpoint_failed``), logged as a warning and handed to
``on_setpoint``.

STATE (spec "Host Application Session Establishment"): the CONNECT carries the Will
``spBv1.0/STATE/<host_id>`` = ``{"online": false, "timestamp": T}`` (QoS 1, retained); after subscribing, the host
publishes ``{"online": true, "timestamp": T}`` (QoS 1, retained) with the same T; if it ever sees its own STATE
offline while connected it republishes online (and replaces anything else retained there, e.g. a Sparkplug 2.2
``OFFLINE``); on a clean stop it publishes offline before disconnecting. Each CONNECT carries a new T, so after a
lost connection the offline STATE the broker published as that connection's Will (and replays, retained, when
the host subscribes again) carries an earlier T of the host's own: the expected sequence, logged at INFO. An
offline STATE with a T the host never used, or anything that is not a STATE, was put there by another client:
a warning.

Device names (:mod:`twin.telemetry.naming`): a DBIRTH of a device named like a pot controller but not in the
convention's one spelling (``pot_1`` or ``pot_0001`` for ``pot_001``, or ``pot_000``) is taken and its samples
delivered, but they map to no cell: counted (``misnamed_devices``) and logged once per device with the spelling
expected (:class:`~twin.telemetry.first_seen.FirstSeen`).

MQTT goes through :class:`twin_edge.mqtt_link.MqttLink`, the connection module the edge gateway uses too
(username/password, TLS with CA, client certificate and host-name check: ``HostConfig.username``, ``password``,
``tls``).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from twin.telemetry.byte_budget import ByteBudget
from twin.telemetry.first_seen import FirstSeen
from twin.telemetry.host_config import HostConfig
from twin.telemetry.metric_state import short
from twin.telemetry.naming import pot_misnaming
from twin.telemetry.node_tracker import EdgeNodeTracker
from twin.telemetry.samples import IngestCounters, Sample, SampleSink
from twin.telemetry.setpoints import ReadbackOutcome, ReadbackVerifier, SetpointError
from twin_edge.errors import SparkplugError
from twin_edge.mqtt_link import Connected, Disconnected, LinkEvent, MqttLink, Received, Subscribed, Will
from twin_edge.sparkplug import (
    REBIRTH_METRIC,
    DataType,
    HostState,
    MessageType,
    Metric,
    StateTopic,
    Topic,
    decode_state,
    encode_payload,
    parse_topic,
)
from twin_edge.sparkplug.datatypes import VALUE_FIELD, to_wire

logger = logging.getLogger(__name__)


_STOP = object()
_WILLS_KEPT = 64  # the Will timestamps of this many connections are known as ours (the oldest ones forgotten)
_TOPIC_CACHE_SIZE = 65_536  # parsed topics (a few per device) kept by the worker
_DISCONNECTED = object()


#: The message types Sparkplug publishes with the MQTT retain flag false, and the requirement that says so.
_NO_RETAIN = {
    "NBIRTH": "tck-id-payloads-nbirth-retain",
    "DBIRTH": "tck-id-payloads-dbirth-retain",
    "NDATA": "tck-id-payloads-ndata-retain",
    "DDATA": "tck-id-payloads-ddata-retain",
    "NDEATH": "tck-id-payloads-ndeath-will-message-retain",
    "DDEATH": "tck-id-topics-ddeath-mqtt",
    "NCMD": "tck-id-payloads-ncmd-retain",
    "DCMD": "tck-id-payloads-dcmd-retain",
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _retain_forbidden(topic: str) -> str | None:
    """The requirement a retained message on ``topic`` breaks (:data:`_NO_RETAIN`); None for STATE (retained by
    design) and for what is not a Sparkplug message topic (left to the worker's topic check)."""
    parts = topic.split("/", 3)
    if len(parts) < 4 or parts[0] != "spBv1.0":
        return None
    return _NO_RETAIN.get(parts[2])


class SparkplugHost:
    """Use as ``with SparkplugHost(config, sink) as host: ...`` or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        config: HostConfig,
        sink: SampleSink,
        *,
        on_setpoint: Callable[[ReadbackOutcome], None] | None = None,
    ) -> None:
        """``on_setpoint(outcome)`` is called from the worker thread when a setpoint write is settled."""
        self.config = config
        self._sink = sink
        self._on_setpoint = on_setpoint
        self._readback = ReadbackVerifier(self._setpoint_settled)
        self._counters = IngestCounters()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=config.queue_size)
        self._queued_bytes = ByteBudget(config.max_queued_bytes)  # payload bytes in the queue (taken on the MQTT
        self._reorder_bytes = ByteBudget(config.max_reorder_bytes)  # thread, given back by the worker)
        self._trackers: dict[tuple[str, str], EdgeNodeTracker] = {}
        self._topics: dict[str, Topic | StateTopic] = {}
        self._reordering: set[EdgeNodeTracker] = set()  # nodes with a Reorder Timeout running
        self._misnamed = FirstSeen()  # devices named like a pot but not pot_<NNN>, logged already (worker thread)
        self._retained_logged = FirstSeen()  # topics whose retained messages were refused and logged (MQTT thread)
        self._state_topic = str(StateTopic(config.host_id))
        self._state_timestamp = _now_ms()
        self._wills: deque[int] = deque(maxlen=_WILLS_KEPT)  # the timestamps of this host's Wills, newest last
        self._started_ms = self._state_timestamp  # older STATE timestamps are an earlier run's (_note_replayed_state)
        self._earlier_runs: deque[int] = deque(maxlen=_WILLS_KEPT)  # their Wills' timestamps, found retained
        self._will_lock = threading.Lock()  # _will (MQTT thread) against _log_offline_state (worker)
        self._online = threading.Event()
        self._stopping = False
        self._worker: threading.Thread | None = None
        topics = [self._state_topic, *([f"spBv1.0/{g}/#" for g in config.group_ids] or ["spBv1.0/#"])]
        self._link = MqttLink(
            config.mqtt_settings(),
            config.client_id or f"twin-host-{config.host_id}",
            subscriptions=[(topic, 1) for topic in topics],
            on_event=self._on_event,
            will_provider=self._will,
            max_queued_messages=1000,
            # messages come as Received events, not through MqttLink's on_message fast path: only the event
            # carries the retain flag (_on_message); its cost, ~0.4 us a message, is a few % of paho's own
        )

    # -- public API ----------------------------------------------------------------------------------------------
    @property
    def counters(self) -> dict[str, int]:
        figures = self._counters.snapshot()
        figures["invalid_utf8"] += self._link.undecodable_topics
        return figures

    @property
    def edge_nodes(self) -> int:
        """Edge nodes the host holds state for (a gauge; at most ``HostConfig.max_edge_nodes``)."""
        return len(self._trackers)

    @property
    def queued_bytes(self) -> int:
        """Payload bytes received and not yet handled by the worker (a gauge; at most ``max_queued_bytes``)."""
        return self._queued_bytes.used

    @property
    def reorder_bytes(self) -> int:
        """Payload bytes held out of order by all edge nodes (a gauge; at most ``max_reorder_bytes``)."""
        return self._reorder_bytes.used

    @property
    def queue_depth(self) -> int:
        """Messages received and not yet handled by the worker (a gauge; the queue holds ``queue_size``)."""
        return self._queue.qsize()

    def wait_online(self, timeout: float) -> bool:
        """Block until the online STATE has been published (True) or ``timeout`` seconds passed (False)."""
        return self._online.wait(timeout)

    def node_online(self, group: str, node: str) -> bool:
        tracker = self._trackers.get((group, node))
        return tracker is not None and tracker.online

    def device_online(self, group: str, node: str, device: str) -> bool:
        tracker = self._trackers.get((group, node))
        return tracker is not None and tracker.online and tracker.device_online(device)

    def locate(self, group: str, device: str) -> str | None:
        """The edge node that has ``device`` online in ``group`` (from the BIRTHs seen), or None."""
        for (g, node), tracker in list(self._trackers.items()):
            if g == group and tracker.online and tracker.device_online(device):
                return node
        return None

    def write_setpoint(self, group: str, node: str, device: str, metric: str, value: object, *, command_id: str) -> int:
        """Publish a DCMD that writes ``metric`` of ``device`` and start its read-back check.

        Refuses with :class:`SetpointError` (nothing published): writes not configured, value out of the
        technology's limits, device not online or metric not in its DBIRTH, or the broker not connected.
        Returns the DCMD's timestamp (UTC ms); the outcome arrives later through ``on_setpoint``.
        """
        limits = self.config.setpoint_limits
        if limits is None:
            raise SetpointError("setpoint writes are off for this host (HostConfig.setpoint_limits is not set)")
        checked = limits.check(metric, value)
        tracker = self._trackers.get((group, node))
        if tracker is None or not tracker.online or not tracker.device_online(device):
            raise SetpointError(f"device {group}/{node}/{device} is not online; nothing written")
        datatype = tracker.birth_datatype(device, metric)
        if datatype is None:
            raise SetpointError(f"{group}/{node}/{device} has no metric {metric!r} in its DBIRTH; nothing written")
        wire_value = round(checked) if VALUE_FIELD[datatype] in ("int_value", "long_value") else checked
        try:
            wire = to_wire(datatype, wire_value)
        except SparkplugError as exc:
            raise SetpointError(f"{metric} = {value!r} does not fit its DBIRTH datatype: {exc}") from None
        now = _now_ms()
        alias = tracker.birth_alias(device, metric)
        command = Metric(
            name=metric if alias is None else None,
            alias=alias,
            timestamp=now,
            value=wire,
            value_field=VALUE_FIELD[datatype],
        )
        payload = encode_payload([command], timestamp=now)
        key = (group, node, device, metric)
        self._readback.expect(key, command_id, checked, now, round(self.config.readback_timeout_s * 1000))
        if not self._link.connected or not self._link.publish(
            str(Topic(group, MessageType.DCMD, node, device)), payload, qos=0
        ):
            self._readback.cancel(key)
            raise SetpointError(f"the host is not connected to the broker; {metric} of {device} not written")
        self._counters.setpoint_writes += 1
        self._queue_wake()
        logger.info("DCMD %s/%s/%s %s = %r sent (%s)", group, node, device, metric, checked, command_id)
        return now

    def _queue_wake(self) -> None:
        """Let the worker recompute its wait so the read-back timeout is watched."""
        self._enqueue(None)

    def _setpoint_settled(self, outcome: ReadbackOutcome) -> None:
        if outcome.ok:
            self._counters.setpoint_confirmed += 1
        elif outcome.status != "superseded":
            self._counters.setpoint_failed += 1
            logger.warning(
                "setpoint alarm: %s/%s/%s %s written %r, read back %r (%s)",
                outcome.group,
                outcome.node,
                outcome.device,
                outcome.metric,
                outcome.expected,
                outcome.observed,
                outcome.status,
            )
        if self._on_setpoint is not None:
            try:
                self._on_setpoint(outcome)
            except Exception:  # someone else's code; keep ingesting
                self._counters.sink_errors += 1
                logger.exception("setpoint outcome handler failed")

    def start(self) -> None:
        self._worker = threading.Thread(target=self._work, name=f"sparkplug-host-{self.config.host_id}", daemon=True)
        self._worker.start()
        self._link.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Publish the offline STATE, disconnect, and let the worker finish what is queued."""
        self._stopping = True
        offline = HostState(False, self._state_timestamp).encode()
        if self._link.connected and not self._link.publish(
            self._state_topic, offline, qos=1, retain=True, wait_s=timeout
        ):
            logger.warning("offline STATE could not be published before disconnect")
        self._link.stop()
        self._online.clear()
        if self._worker is not None:
            self._queue.put(_STOP)
            self._worker.join(timeout)

    def __enter__(self) -> SparkplugHost:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> SparkplugHost:
        """``async with``: start, and wait (in a thread) until the online STATE is out."""
        self.start()
        await asyncio.to_thread(self.wait_online, 10.0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- MQTT network thread ---------------------------------------------------------------------------------
    def _will(self) -> Will:
        with self._will_lock:
            self._state_timestamp = _now_ms()
            self._wills.append(self._state_timestamp)
        return Will(self._state_topic, HostState(False, self._state_timestamp).encode(), qos=1, retain=True)

    def _on_message(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self._counters.received += 1
        if retain:
            rule = _retain_forbidden(topic)
            if rule is not None:  # dropped here, before it is queued, as an oversized payload is
                self._refuse_retained(topic, rule)
                return
        size = len(payload)
        if size > self.config.max_payload_bytes:  # dropped here, before it is queued (its memory is freed now)
            self._counters.oversized += 1
            logger.warning("%s: %d-byte payload exceeds %d bytes; dropped", topic, size, self.config.max_payload_bytes)
            return
        wait_s = self.config.full_queue_wait_s
        if not self._queued_bytes.take(size, wait_s):
            self._counters.queue_waits += 1
            self._overflow(f"ingest queue holds {self._queued_bytes.used} payload bytes (max_queued_bytes)")
            return
        if retain and topic == self._state_topic:
            self._note_replayed_state(payload)
        if not self._enqueue((topic, payload, _now_ms()), wait_s=wait_s):
            self._queued_bytes.give(size)

    def _note_replayed_state(self, payload: bytes) -> None:
        """A STATE on our topic that the broker delivered as retained, i.e. replayed when we subscribed. An offline
        one with a timestamp older than this host object is the Will of an earlier run of this host (the twin
        restarted after a crash or a kill: the broker published that run's Will and kept it): expected, so
        :meth:`_log_offline_state` says so at INFO. The same STATE published live by another client reaches us
        with the retain flag clear (MQTT 3.1.1 §3.3.1.3) and stays a warning."""
        try:
            state = decode_state(payload)
        except SparkplugError:
            return  # not a STATE: the worker reports and repairs it
        if not state.online and state.timestamp < self._started_ms:
            with self._will_lock:
                self._earlier_runs.append(state.timestamp)

    def _refuse_retained(self, topic: str, rule: str) -> None:
        """A Sparkplug message the broker delivered as retained: refused, counted (``retained_refused``) and logged
        once per topic (:class:`~twin.telemetry.first_seen.FirstSeen`). Sparkplug publishes births, data and
        deaths with the retain flag false (``rule``), so a retained one is an old copy the broker replays to each
        new subscriber: stale data would be applied as new, a birth would re-birth a node that may be dead."""
        self._counters.retained_refused += 1
        if self._retained_logged.first(topic):
            logger.warning(
                "%s: retained message refused, not applied (%s: published with the retain flag false; a retained "
                "one is the broker's old copy, replayed to every new subscriber) (%d refused so far: "
                "retained_refused)",
                short(topic, 200),
                rule,
                self._counters.retained_refused,
            )

    def _on_event(self, event: LinkEvent) -> None:
        if isinstance(event, Received):
            self._on_message(event.topic, event.payload, event.retain)
        elif isinstance(event, Subscribed):
            if self._online.is_set():
                return
            # Birth only once every subscription is active, with the Will's timestamp
            # (tck-id-host-topic-phid-birth-payload-timestamp, tck-id-message-flow-phid-sparkplug-subscription).
            self._link.publish(self._state_topic, HostState(True, self._state_timestamp).encode(), qos=1, retain=True)
            self._online.set()
            logger.info("host %s online", self.config.host_id)
        elif isinstance(event, Disconnected):
            self._online.clear()
            if self._stopping or event.clean:
                logger.info("host disconnected on stop; marking all metrics stale")
            else:
                logger.warning("host lost the broker (%s); marking all metrics stale", event.reason)
            self._enqueue(_DISCONNECTED, wait_s=self.config.full_queue_wait_s)
        elif isinstance(event, Connected):
            logger.info(
                "host %s connected to %s:%d", self.config.host_id, self.config.broker_host, self.config.broker_port
            )

    def _enqueue(self, item: object, wait_s: float = 0.0) -> bool:
        """Queue ``item`` for the worker. When the queue is full, wait up to ``wait_s`` for room: the MQTT thread
        then stops reading, TCP flow control holds the backlog in the broker's session queue (QoS 1) and nothing
        is lost while the worker catches up; only a worker stuck for longer drops messages (``queue_overflow``).
        Whether ``item`` was queued."""
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            pass
        self._counters.queue_waits += 1
        try:
            self._queue.put(item, timeout=wait_s) if wait_s > 0 else self._queue.put_nowait(item)
            return True
        except queue.Full:
            self._overflow(f"ingest queue full ({self.config.queue_size} messages)")
            return False

    def _overflow(self, why: str) -> None:
        self._counters.queue_overflow += 1
        n = self._counters.queue_overflow
        if n in (1, 10, 100) or n % 10_000 == 0:
            logger.error("%s: %d messages dropped so far", why, n)

    # -- worker thread ---------------------------------------------------------------------------------------
    def _work(self) -> None:
        get = self._queue.get
        while True:
            deadline = min((t.deadline_ms for t in self._reordering if t.deadline_ms is not None), default=None)
            readback = self._readback.next_deadline_ms
            if readback is not None:
                deadline = readback if deadline is None else min(deadline, readback)
            try:
                item = get(timeout=None if deadline is None else max(0.0, (deadline - _now_ms()) / 1000))
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            try:
                self._step(item, deadline)
            except Exception:  # a bug must not kill ingest; it is counted and logged with its traceback
                self._counters.internal_errors += 1
                logger.exception("unexpected error while handling a message")

    def _step(self, item: object, deadline: int | None) -> None:
        self._readback.expire(_now_ms())
        if deadline is not None and _now_ms() >= deadline:
            now = _now_ms()
            for tracker in list(self._reordering):
                tracker.on_tick(now)
                if tracker.deadline_ms is None:
                    self._reordering.discard(tracker)
        if item is None:
            return
        if item is _DISCONNECTED:
            now = _now_ms()
            for tracker in self._trackers.values():
                tracker.mark_all_stale(now)
            return
        topic_text, payload, receipt_ms = item  # type: ignore[misc]
        try:
            self._handle(topic_text, payload, receipt_ms)
        finally:
            self._queued_bytes.give(len(payload))

    def _handle(self, topic_text: str, payload: bytes, receipt_ms: int) -> None:
        topic = self._topics.get(topic_text)
        if topic is None:
            try:
                topic = parse_topic(topic_text)
            except SparkplugError as exc:
                self._counters.malformed += 1
                logger.warning("%s", exc)
                return
            if len(self._topics) >= _TOPIC_CACHE_SIZE:
                self._topics.clear()
            self._topics[topic_text] = topic
        if isinstance(topic, StateTopic):
            self._handle_state(topic, payload)
            return
        key = (topic.group_id, topic.edge_node_id)
        tracker = self._trackers.get(key)
        if tracker is None:
            if len(self._trackers) >= self.config.max_edge_nodes:
                self._forget_oldest(receipt_ms)
            tracker = EdgeNodeTracker(
                topic.group_id,
                topic.edge_node_id,
                reorder_timeout_ms=round(self.config.reorder_timeout_s * 1000),
                rebirth_timeout_ms=round(self.config.rebirth_timeout_s * 1000),
                duplicate_window_ms=round(self.config.duplicate_window_s * 1000),
                max_payload_bytes=self.config.max_payload_bytes,
                max_future_ms=round(self.config.max_future_s * 1000),
                max_devices=self.config.max_devices_per_node,
                max_metrics=self.config.max_metrics_per_node,
                counters=self._counters,
                emit=self._emit,
                request_rebirth=self._send_rebirth,
                reorder_budget=self._reorder_bytes,
            )
            self._trackers[key] = tracker
        if topic.message_type is MessageType.NBIRTH:  # most recently born last: the last to be forgotten
            self._trackers[key] = self._trackers.pop(key)
        elif topic.message_type is MessageType.DBIRTH:
            self._check_device_name(topic)
        tracker.on_message(topic.message_type, topic.device_id, payload, receipt_ms)
        if tracker.deadline_ms is not None:
            self._reordering.add(tracker)  # a Reorder Timeout is running for this node
        else:
            self._reordering.discard(tracker)

    def _check_device_name(self, topic: Topic) -> None:
        """A DBIRTH of a device named like a pot controller but not in the naming convention's one spelling
        (``pot_1`` or ``pot_0001`` for ``pot_001``, or ``pot_000``: :mod:`twin.telemetry.naming`): its metrics
        are delivered but map to no cell, so one pot's metrics cannot arrive under several device ids. Counted
        (``misnamed_devices``) and logged once per device, naming the spelling expected."""
        why = pot_misnaming(topic.device_id)
        if why is None:
            return
        self._counters.misnamed_devices += 1
        if self._misnamed.first((topic.group_id, topic.edge_node_id, topic.device_id)):
            logger.warning(
                "%s/%s: device %s maps to no cell: %s (naming convention, docs/telemetry.md); its metrics are "
                "delivered without a cell (%d such DBIRTHs so far: misnamed_devices)",
                topic.group_id,
                topic.edge_node_id,
                short(topic.device_id),
                why,
                self._counters.misnamed_devices,
            )

    def _forget_oldest(self, now_ms: int) -> None:
        """Make room for one more edge node: forget the one born longest ago (or never born). Made-up node names
        cannot grow memory without bound; a real node forgotten this way has its metrics marked STALE, and its
        next message asks it for a rebirth."""
        key, tracker = next(iter(self._trackers.items()))
        del self._trackers[key]
        self._reordering.discard(tracker)
        tracker.mark_all_stale(now_ms)
        tracker.forget_buffered()
        self._counters.nodes_forgotten += 1
        n = self._counters.nodes_forgotten
        if n in (1, 10, 100) or n % 10_000 == 0:
            logger.warning(
                "more than %d edge nodes seen: forgot %s/%s, the longest unborn (%d forgotten so far)",
                self.config.max_edge_nodes,
                key[0],
                key[1],
                n,
            )

    def _handle_state(self, topic: StateTopic, payload: bytes) -> None:
        if topic.host_id != self.config.host_id:
            return
        try:
            state = decode_state(payload)
        except SparkplugError as exc:
            # Something else is retained on our STATE topic (e.g. Sparkplug 2.2's plain ``OFFLINE``, or an empty
            # payload): edge nodes waiting for our online STATE would wait forever, so it is replaced like an
            # offline STATE.
            self._counters.malformed += 1
            self._counters.state_repaired += 1
            logger.warning("%s; republishing own online STATE", exc)
            state = None
        if (state is None or not state.online) and not self._stopping and self._link.connected:
            # tck-id-message-flow-hid-sparkplug-state-message-delivered: never leave an offline STATE standing.
            if state is not None:
                self._log_offline_state(state)
            self._link.publish(self._state_topic, HostState(True, self._state_timestamp).encode(), qos=1, retain=True)

    def _log_offline_state(self, state: HostState) -> None:
        """Say why our STATE reads offline while we are connected. Expected after a lost connection: the broker
        published that connection's Will, with the timestamp it carried (an earlier one of ours: every CONNECT
        carries a new one, tck-id-host-topic-phid-birth-payload-timestamp), and replays it retained when we
        subscribe again (or publishes it late, when it noticed the loss after we were back). Expected too: an earlier
        run's Will, replayed retained when we first subscribe (:meth:`_note_replayed_state`). Anything else, an
        offline STATE with a timestamp this host never used, was published by another client: a warning."""
        with self._will_lock:
            ours = state.timestamp in self._wills and state.timestamp != self._state_timestamp
            earlier_run = state.timestamp in self._earlier_runs
        if earlier_run:
            logger.info(
                "own STATE reads offline from the Will of an earlier run of this host (timestamp %d, found retained "
                "at subscribe); republishing online",
                state.timestamp,
            )
        elif ours:
            logger.info(
                "own STATE reads offline from the Will of a lost connection (timestamp %d); republishing online",
                state.timestamp,
            )
        else:
            logger.warning(
                "own STATE reads offline while connected, with timestamp %d, which no earlier connection of this "
                "host used (another client published it); republishing online",
                state.timestamp,
            )

    def _emit(self, samples: Sequence[Sample]) -> None:
        self._readback.observe(samples)
        try:
            self._sink.accept(samples)
        except Exception:  # the sink is someone else's code; keep ingesting
            self._counters.sink_errors += 1
            logger.exception("sample sink failed")

    def _send_rebirth(self, group: str, node: str) -> None:
        payload = encode_payload(
            [Metric(name=REBIRTH_METRIC, timestamp=_now_ms(), datatype=DataType.BOOLEAN, value=True)],
            timestamp=_now_ms(),
        )
        self._link.publish(str(Topic(group, MessageType.NCMD, node)), payload, qos=0)
