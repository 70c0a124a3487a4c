"""The twin's Sparkplug B Host Application (ingest).

Threads: paho runs its network loop on its own thread and only appends ``(topic, payload, receipt_ms)`` to a
bounded queue (a full queue is counted as ``queue_overflow`` and logged, never silent; the lost message then
shows up as a seq gap and is repaired by a rebirth). One worker thread takes messages off the queue, orders
them per edge node (:class:`~twin.telemetry.node_tracker.EdgeNodeTracker`) and hands samples to the sink.

Retained messages: births, data, deaths and commands that arrive retained are refused before they are queued
(:mod:`twin.telemetry.retained`), counted (``retained_refused``) and logged once per topic.

Setpoints (issue 10 item 7, :meth:`SparkplugHost.write_setpoint`): with ``HostConfig.setpoint_limits`` set, the
host range-checks a value against the technology's limits, takes the metric's datatype and alias from the device's
current DBIRTH and publishes a DCMD on ``spBv1.0/<group>/DCMD/<node>/<device>`` (QoS 0, not retained,
tck-id-topics-dcmd-*; payload: :func:`twin.telemetry.setpoints.command_payload`). The gateway's next DDATA settles
it (:class:`~twin.telemetry.setpoints.ReadbackVerifier`); a mismatch or no read-back within ``readback_timeout_s``
is an alarm: counted (``setpoint_failed``), logged as a warning and handed to ``on_setpoint``.

STATE (spec "Host Application Session Establishment"; :mod:`twin.telemetry.host_state`): the Will and the online
STATE carry one timestamp per connection; an offline STATE of our own seen while connected is replaced by the
online one, logged at INFO when it is one of our Wills or an earlier run's, as a warning otherwise.

Device names (:mod:`twin.telemetry.naming`): a device named like a pot but not ``pot_<NNN>`` (``pot_1``, ``pot_000``)
is taken, its samples reach no cell; counted (``misnamed_devices``), logged once per device.

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
from collections.abc import Callable, Sequence

from twin.telemetry.byte_budget import ByteBudget
from twin.telemetry.first_seen import FirstSeen
from twin.telemetry.host_config import HostConfig
from twin.telemetry.host_state import OwnState
from twin.telemetry.metric_state import short
from twin.telemetry.naming import pot_misnaming
from twin.telemetry.node_tracker import EdgeNodeTracker
from twin.telemetry.retained import retain_forbidden
from twin.telemetry.samples import IngestCounters, Sample, SampleSink
from twin.telemetry.setpoints import ReadbackOutcome, ReadbackVerifier, SetpointError, command_payload
from twin.telemetry.state_topic import StateTopicKeeper
from twin_edge.errors import SparkplugError
from twin_edge.mqtt_link import Connected, Disconnected, LinkEvent, MqttLink, Received, Subscribed
from twin_edge.sparkplug import (
    REBIRTH_METRIC,
    DataType,
    MessageType,
    Metric,
    StateTopic,
    Topic,
    encode_payload,
    parse_topic,
)

logger = logging.getLogger(__name__)


_STOP = object()
_TOPIC_CACHE_SIZE = 65_536  # parsed topics (a few per device) kept by the worker
_DISCONNECTED = object()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


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
        self._own_state = OwnState(config.host_id, _now_ms)
        self._state_topic = self._own_state.topic
        self._online = threading.Event()
        self._stopping = False
        self._worker: threading.Thread | None = None
        topics = [self._state_topic, *([f"spBv1.0/{g}/#" for g in config.group_ids] or ["spBv1.0/#"])]
        self._link = MqttLink(
            config.mqtt_settings(),
            config.client_id or f"twin-host-{config.host_id}",
            subscriptions=[(topic, 1) for topic in topics],
            on_event=self._on_event,
            will_provider=self._own_state.will,
            max_queued_messages=1000,
            # messages come as Received events, not through MqttLink's on_message fast path: only the event
            # carries the retain flag (_on_message); its cost, ~0.4 us a message, is a few % of paho's own
        )
        self._state = StateTopicKeeper(self._own_state, self._link, self._counters, lambda: self._stopping)

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
        now = _now_ms()
        payload = command_payload(metric, value, checked, datatype, tracker.birth_alias(device, metric), now)
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
        if not self._state.publish_offline(timeout):
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
    def _on_message(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self._counters.received += 1
        if retain:
            rule = retain_forbidden(topic)
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
            self._own_state.note_replayed(payload)
        if not self._enqueue((topic, payload, _now_ms()), wait_s=wait_s):
            self._queued_bytes.give(size)

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
            self._state.publish_online()
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
        if topic.host_id == self.config.host_id:
            self._state.handle(payload)

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
