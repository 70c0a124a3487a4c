"""The edge gateway: polls PLCs, publishes Sparkplug B 3.0 as one Edge Node with one device per PLC.

Session rules implemented here (spec chapter "Operational Behavior"):
- Will = NDEATH with bdSeq, QoS 1 (mqtt_link / births); bdSeq persisted across restarts (bdseq_file).
- With a Primary Host configured, nothing is published until its STATE says online with a timestamp not older
  than the last one seen; an offline STATE makes the node publish NDEATH and start a new session.
- NBIRTH (seq 0) then DBIRTH per answering PLC, built from a *fresh* poll so no value is delivered twice.
- NDATA/DDATA are alias-only and report by exception (deadband); seq +1 mod 256 over all of the node's topics.
- NCMD ``Node Control/Rebirth`` = true: stop DATA, re-birth with the same bdSeq at the next (immediate) poll.
  Rate-limited per node: at most one birth per ``rebirth_min_interval_s``; requests within it are coalesced
  into one rebirth at the end of the interval (counted as ``rebirths_coalesced``).
- bdSeq: the Will of the next CONNECT carries the last *used* bdSeq + 1, and it is persisted only once the broker
  accepted that CONNECT, so a gateway that dies during a broker outage does not skip a value.
- A clean end of a session (our own NDEATH, at QoS 1, then DISCONNECT) delivered everything published before it
  to the broker; a lost connection, or the Primary Host going offline (its Will: it may have missed what the
  broker routed to it before the keep-alive expired), puts the resend window back into the store.
- A PLC that stops answering gets a DDEATH; when it answers again, a DBIRTH.
- Whenever the node cannot publish, values go to the on-disk store and are replayed in order as historical DDATA.
- DCMD (spec "Payloads" / "Operational Behavior", tck-id-topics-dcmd-*): only when the tag map marks tags
  ``writable``, the node subscribes to ``spBv1.0/<group>/DCMD/<node>/+`` at QoS 1; each DCMD is handed to
  :class:`twin_edge.setpoint_writer.SetpointWriter` (checks, PLC write and read-back) as its own task.

All state lives on the asyncio loop thread; paho callbacks only post events to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from twin_edge.bdseq_file import BdSeqFile
from twin_edge.births import (
    AliasTable,
    dbirth_payload,
    ddata_payload,
    ddeath_payload,
    nbirth_payload,
    ndeath_payload,
)
from twin_edge.config import GatewayConfig
from twin_edge.errors import SparkplugError
from twin_edge.forward_store import ForwardStore, runs_by_device
from twin_edge.gateway_counters import GatewayCounters
from twin_edge.mqtt_link import Connected, Disconnected, LinkEvent, MqttLink, Received, Will
from twin_edge.poller import Poller, Reading
from twin_edge.primary_host import admit_state
from twin_edge.report_by_exception import DeadbandFilter
from twin_edge.setpoint_writer import SetpointWriter
from twin_edge.sparkplug import (
    REBIRTH_METRIC,
    MessageType,
    StateTopic,
    Topic,
    Value,
    decode_payload,
    next_seq,
)

__all__ = ["EdgeGateway", "GatewayCounters", "SampleObserver"]

logger = logging.getLogger(__name__)

SampleObserver = Callable[[str, str, int, Value], None]


@dataclass
class _Session:
    connected: bool = False
    host_online: bool = False
    last_host_timestamp: int = -1
    birth_pending: bool = True
    seq: int = 0
    born_devices: set[str] = field(default_factory=set)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class EdgeGateway:
    """One Sparkplug Edge Node. Run it with ``await gateway.run(stop_event)``.

    ``on_sample(device, metric, timestamp_ms, value)`` (optional) is called for every value the gateway commits
    to deliver (published live, or stored for historical replay) - tests use it to prove nothing is lost.
    """

    def __init__(self, config: GatewayConfig, *, on_sample: SampleObserver | None = None) -> None:
        self.config = config
        self.counters = GatewayCounters()
        self._on_sample = on_sample
        self._aliases = AliasTable(config.tag_map)
        self._devices = {d.device_id: d for d in config.tag_map.devices}
        self._store = ForwardStore(config.store_path, max_records=config.max_stored_records)
        self._bdseq_file = BdSeqFile(config.store_path.with_suffix(".bdseq"))
        self._bdseq = 0
        self._last_birth = -float("inf")  # time.monotonic() of the last NBIRTH
        self._rebirth_deferred = False
        self._rbe = DeadbandFilter()
        self._session = _Session(host_online=config.primary_host_id is None)
        self._alive: dict[str, bool] = {}
        self._events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        g, e = config.group_id, config.edge_node_id
        self._ncmd_topic = str(Topic(g, MessageType.NCMD, e))
        # NCMD at QoS 1 (tck-id-message-flow-edge-node-ncmd-subscribe); DCMD only if the tag map offers writes.
        subscriptions = [(self._ncmd_topic, 1)]
        self._dcmd_prefix = f"spBv1.0/{g}/{MessageType.DCMD.value}/{e}/"
        self._writes: set[asyncio.Task[None]] = set()
        self._poller = Poller(config.tag_map, timeout_s=config.poll_timeout_s, period_s=config.poll_period_s)
        self._setpoints = SetpointWriter(
            config.tag_map,
            self._aliases,
            self._poller,
            self._rbe,
            self.counters,
            born_devices=lambda: self._session.born_devices,
            wake=self._wake.set,
        )
        if self._setpoints.any_writable:
            subscriptions.append((self._dcmd_prefix + "+", 1))
        if config.primary_host_id is not None:
            subscriptions.append((str(StateTopic(config.primary_host_id)), 1))
        client_id = config.mqtt.client_id or f"{g}-{e}"
        self._link = MqttLink(
            config.mqtt,
            client_id,
            subscriptions=subscriptions,
            on_event=self._post_event,
            will_provider=self._next_will,
        )
        self._unconfirmed: deque[tuple[float, str, str, int, Value]] = deque()
        self._deadbands = {(d.device_id, t.metric): t.deadband for d in config.tag_map.devices for t in d.tags}

    @property
    def bdseq(self) -> int:
        return self._bdseq

    @property
    def pending_stored(self) -> int:
        return self._store.count()

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._link.start()
        events = asyncio.create_task(self._event_loop(), name="gateway-events")
        try:
            await self._poll_loop(stop)
        finally:
            events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await events
            for write in list(self._writes):
                write.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await write
            if self._session.connected and not self._session.birth_pending:
                # Intentional disconnect: NDEATH first
                # (tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath).
                self._publish_ndeath()
            self._link.stop()
            await self._poller.aclose()
            self._store.close()

    def _next_will(self) -> Will:
        self._bdseq = self._bdseq_file.peek_next()  # persisted only when a CONNECT with it is accepted
        topic = str(Topic(self.config.group_id, MessageType.NDEATH, self.config.edge_node_id))
        return Will(topic, ndeath_payload(bdseq=self._bdseq), qos=1, retain=False)

    def _publish_ndeath(self) -> None:
        """The explicit NDEATH of a clean session end: QoS 1 like the Will, acknowledged before DISCONNECT."""
        topic = str(Topic(self.config.group_id, MessageType.NDEATH, self.config.edge_node_id))
        if self._link.publish(topic, ndeath_payload(bdseq=self._bdseq, timestamp=_now_ms()), qos=1, wait_s=2.0):
            self.counters.published += 1

    def _post_event(self, event: LinkEvent) -> None:
        if isinstance(event, Connected):  # paho's thread, right after CONNACK: this bdSeq is now used
            self._bdseq_file.commit(self._bdseq)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._events.put_nowait, event)

    # -- MQTT events -------------------------------------------------------------------------------------------
    async def _event_loop(self) -> None:
        while True:
            event = await self._events.get()
            try:
                self._on_link_event(event)
            except Exception:  # a bug must not stop event handling (the session would hang); counted and logged
                self.counters.internal_errors += 1
                logger.exception("unexpected error while handling %s", type(event).__name__)

    def _on_link_event(self, event: LinkEvent) -> None:
        session = self._session
        if isinstance(event, Connected):
            logger.info("connected to broker (bdSeq %d)", self._bdseq)
            self._session = _Session(
                connected=True,
                host_online=self.config.primary_host_id is None,
                last_host_timestamp=session.last_host_timestamp,
            )
            self._wake.set()
        elif isinstance(event, Disconnected):
            if event.clean:  # our NDEATH + DISCONNECT: everything sent before reached the broker
                self._unconfirmed.clear()
            else:
                logger.warning("lost the broker (%s); storing values until it is back", event.reason)
                self._requeue_unconfirmed()
            session.connected = False
            session.birth_pending = True
            session.born_devices.clear()
        elif isinstance(event, Received):
            self._handle_message(event)

    def _handle_message(self, event: Received) -> None:
        if event.topic == self._ncmd_topic:
            self._handle_ncmd(event.payload)
        elif self._setpoints.any_writable and event.topic.startswith(self._dcmd_prefix):
            device_id = event.topic[len(self._dcmd_prefix) :]
            task = asyncio.ensure_future(self._setpoints.handle(device_id, event.payload))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
        elif self.config.primary_host_id is not None and event.topic == str(StateTopic(self.config.primary_host_id)):
            self._handle_state(event.payload)
        else:
            logger.info("ignoring unexpected message on %s", event.topic)

    def _handle_ncmd(self, payload: bytes) -> None:
        try:
            metrics = decode_payload(payload).metrics
        except SparkplugError as exc:
            self.counters.bad_commands += 1
            logger.warning("malformed NCMD ignored: %s", exc)
            return
        if any(m.name == REBIRTH_METRIC and m.value is True for m in metrics):
            if time.monotonic() - self._last_birth < self.config.rebirth_min_interval_s or self._rebirth_deferred:
                # A storm of rebirth requests (issue 9 item 11): one rebirth at the end of the interval.
                self.counters.rebirths_coalesced += 1
                if not self._rebirth_deferred:
                    logger.info(
                        "rebirth requested within %.1f s of the last birth; deferred",
                        self.config.rebirth_min_interval_s,
                    )
                self._rebirth_deferred = True
                return
            logger.info("rebirth requested")
            self.counters.rebirths += 1
            self._session.birth_pending = True
            self._wake.set()

    def _handle_state(self, payload: bytes) -> None:
        session = self._session
        state = admit_state(
            payload, now_ms=_now_ms(), last_timestamp=session.last_host_timestamp,
            host_id=self.config.primary_host_id, counters=self.counters,
        )
        if state is None:
            return
        session.last_host_timestamp = state.timestamp
        if state.online and not session.host_online:
            logger.info("primary host %s is online", self.config.primary_host_id)
            session.host_online = True
            session.birth_pending = True
            self._wake.set()
        elif not state.online and session.host_online:
            # tck-id-operational-behavior-edge-node-termination-host-offline: NDEATH, then a new session.
            logger.warning("primary host %s went offline; ending this session", self.config.primary_host_id)
            # The broker got what we sent, the host may not have: a host that lost its connection (Will) missed
            # everything routed to it since its last packet, up to 1.5 keep-alives before this STATE. Values sent
            # within the resend window are stored again for it (spec 1.4.1.7: store data until the Primary Host
            # is back, then flush it as historical); it drops those it had (by metric and timestamp).
            self._requeue_unconfirmed()
            if not session.birth_pending:
                self._publish_ndeath()
            session.host_online = False
            session.birth_pending = True
            session.born_devices.clear()
            self._link.restart()

    # -- polling -------------------------------------------------------------------------------------------------
    async def _poll_loop(self, stop: asyncio.Event) -> None:
        period = self.config.poll_period_s
        next_poll = time.monotonic()
        while not stop.is_set():
            self._wake.clear()  # a wake-up (connect, STATE, rebirth) during this cycle triggers the next one at once
            started = time.monotonic()
            try:
                readings = await self._poller.poll_all()
                self.counters.polls += 1
                self.counters.bad_values = self._poller.bad_values
                self.counters.store_lost = self._store.lost
                self._process(readings)
                await self._replay()
            except Exception:  # as in _event_loop: a bug in one cycle must not stop the polling; counted and logged
                self.counters.internal_errors += 1
                logger.exception("unexpected error in a poll cycle; polling goes on")
            if started >= next_poll - 0.001:  # the scheduled poll (not an early wake-up): advance the schedule
                next_poll = max(next_poll + period, time.monotonic())  # fell behind: skip, do not burst
            with contextlib.suppress(TimeoutError):
                waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
                try:
                    await asyncio.wait(
                        waiters,
                        timeout=max(0.0, next_poll - time.monotonic()),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    for w in waiters:
                        w.cancel()

    def _can_publish(self) -> bool:
        s = self._session
        return s.connected and s.host_online

    def _process(self, readings: list[Reading]) -> None:
        session = self._session
        if self._rebirth_deferred and time.monotonic() - self._last_birth >= self.config.rebirth_min_interval_s:
            self._rebirth_deferred = False
            self.counters.rebirths += 1
            session.birth_pending = True
        if self._can_publish() and session.birth_pending:
            self._node_birth()
        live = self._can_publish() and not session.birth_pending
        to_store: list[tuple[str, str, int, Value]] = []
        for reading in readings:
            device_id = reading.device_id
            if reading.values is None:
                self._device_failed(reading, live)
                continue
            self._alive[device_id] = True
            if live and device_id not in session.born_devices:
                if self._device_birth(reading):
                    continue
                live = False
            changed = [
                (m, reading.timestamp, v)
                for m, v in reading.values.items()
                if self._rbe.should_report((device_id, m), v, self._deadbands[(device_id, m)])
            ]
            if not changed:
                continue
            if live:
                ok = self._publish_seq(
                    MessageType.DDATA,
                    device_id,
                    lambda seq, d=device_id, c=changed: ddata_payload(
                        d, c, self._aliases, timestamp=_now_ms(), seq=seq
                    ),
                )
                if ok:
                    self._observe(device_id, changed)
                    self._remember_sent(device_id, changed)
                    continue
                live = False
            to_store.extend((device_id, m, ts, v) for m, ts, v in changed)
            self._observe(device_id, changed)
        if to_store:
            self._requeue_unconfirmed()
            self._store.append(to_store)
            self.counters.stored += len(to_store)

    def _device_failed(self, reading: Reading, live: bool) -> None:
        device_id = reading.device_id
        session = self._session
        if self._alive.get(device_id, True):
            logger.warning("PLC %s is not answering: %s", device_id, reading.error)
        self._forget(device_id)
        # tck-id-topics-ddeath-seq-num: DDEATH carries the node's next seq.
        if (
            live
            and device_id in session.born_devices
            and self._publish_seq(
                MessageType.DDEATH,
                device_id,
                lambda seq: ddeath_payload(timestamp=reading.timestamp, seq=seq),
            )
        ):
            self.counters.device_deaths += 1
        session.born_devices.discard(device_id)
        self._alive[device_id] = False

    def _node_birth(self) -> None:
        session = self._session
        session.seq = 0
        session.born_devices.clear()
        topic = str(Topic(self.config.group_id, MessageType.NBIRTH, self.config.edge_node_id))
        if self._link.publish(topic, nbirth_payload(bdseq=self._bdseq, timestamp=_now_ms())):
            self.counters.births += 1
            self.counters.published += 1
            session.birth_pending = False
            self._last_birth = time.monotonic()
            self._rebirth_deferred = False  # this birth answers any request that was waiting
            logger.info("NBIRTH published (bdSeq %d)", self._bdseq)

    def _device_birth(self, reading: Reading) -> bool:
        device = self._devices[reading.device_id]
        values = reading.values or {}
        ok = self._publish_seq(
            MessageType.DBIRTH,
            device.device_id,
            lambda seq: dbirth_payload(device, values, self._aliases, timestamp=reading.timestamp, seq=seq),
        )
        if ok:
            self._session.born_devices.add(device.device_id)
            for m, v in values.items():
                self._rbe.remember((device.device_id, m), v)
            sent = [(m, reading.timestamp, v) for m, v in values.items()]
            self._observe(device.device_id, sent)
            self._remember_sent(device.device_id, sent)
        return ok

    async def _replay(self) -> None:
        """Send stored values, oldest first, as historical DDATA (one message per run of one device's rows).

        Stops at the first device that is not born in this session (its rows wait for its DBIRTH), and after half
        a poll period so that a long backlog never delays live polling by more than that.
        """
        budget_end = time.monotonic() + 0.5 * self.config.poll_period_s
        while self._can_publish() and not self._session.birth_pending and time.monotonic() < budget_end:
            rows = self._store.oldest(self.config.replay_batch)
            if not rows:
                return
            sent: list[int] = []
            try:
                for group in runs_by_device(rows):
                    device_id = group[0].device_id
                    if device_id not in self._session.born_devices:
                        return
                    values = [(r.metric, r.timestamp, r.value) for r in group]
                    if not self._publish_seq(
                        MessageType.DDATA,
                        device_id,
                        lambda seq, d=device_id, v=values: ddata_payload(
                            d, v, self._aliases, timestamp=_now_ms(), seq=seq, historical=True
                        ),
                    ):
                        return
                    sent.extend(r.row_id for r in group)
                    self._remember_sent(device_id, values)
                    self.counters.replayed += len(group)
            finally:
                self._store.delete(sent)
            await asyncio.sleep(0)

    # -- helpers -----------------------------------------------------------------------------------------------
    def _remember_sent(self, device_id: str, values: list[tuple[str, int, Value]]) -> None:
        """Keep what was just handed to MQTT at QoS 0 for ``resend_window_s``: a connection loss may swallow it."""
        now = time.monotonic()
        unconfirmed = self._unconfirmed
        unconfirmed.extend((now, device_id, m, ts, v) for m, ts, v in values)
        horizon = now - self.config.resend_window_s
        while unconfirmed and unconfirmed[0][0] < horizon:
            unconfirmed.popleft()

    def _requeue_unconfirmed(self) -> None:
        """After a connection loss or the Primary Host going offline, values sent within the resend window go back to
        the disk store (at-least-once; the host drops a replayed value it already has, by metric and timestamp)."""
        if self._unconfirmed:
            rows = [(d, m, ts, v) for _, d, m, ts, v in self._unconfirmed]
            self._unconfirmed.clear()
            self._store.append(rows)
            logger.info("%d values sent just before the loss will be replayed", len(rows))

    def _forget(self, device_id: str) -> None:
        for tag in self._devices[device_id].tags:
            self._rbe.forget((device_id, tag.metric))

    def _observe(self, device_id: str, values: list[tuple[str, int, Value]]) -> None:
        if self._on_sample is not None:
            for metric, ts, value in values:
                self._on_sample(device_id, metric, ts, value)

    def _publish_seq(self, kind: MessageType, device_id: str, build: Callable[[int], bytes]) -> bool:
        """Publish a message that carries the node's next seq; the seq advances only when it was sent."""
        session = self._session
        seq = next_seq(session.seq)
        if not self._publish(kind, device_id, build(seq)):
            return False
        session.seq = seq
        return True

    def _publish(self, kind: MessageType, device_id: str | None, payload: bytes) -> bool:
        topic = str(Topic(self.config.group_id, kind, self.config.edge_node_id, device_id))
        ok = self._link.publish(topic, payload)
        if ok:
            self.counters.published += 1
        return ok

