"""Per-edge-node state of the host application: session, stale marking, decoding metrics into samples; messages
in seq order through :class:`~twin.telemetry.seq_order.SeqOrder`, the BIRTHs' definitions (aliases, names, devices,
duplicate windows, last values) in :class:`~twin.telemetry.metric_registry.MetricRegistry`.

No MQTT here: the host feeds parsed topics and raw payloads in arrival order, and the tracker calls ``emit``
with samples in *seq* order and ``request_rebirth`` when the spec says to. Spec (Operational Behavior):

- NBIRTH starts a session: expected seq = NBIRTH seq + 1 (any 0..255 accepted, iiot.md §1.4); the bdSeq is kept.
- NDATA/DBIRTH/DDATA/DDEATH are applied in seq order; a message ahead of the expected seq is buffered and the
  *Reorder Timeout* starts; if the gap is not filled in time, the gap is counted, a rebirth is requested and
  the buffered messages are applied (their data is real; only the missing message is lost).
- NDEATH with the session's bdSeq marks the node and every device metric STALE at the host's receipt time;
  an NDEATH with another bdSeq is a late Will of an older session and is ignored, as is one with none when the
  NBIRTH had one (it cannot be told from a late Will). A message without the seq it must carry is malformed.
- DDEATH marks that device's metrics STALE; a DATA message for an unknown node/device/alias triggers a rebirth.
- A metric stamped more than ``max_future_ms`` ahead of the host's receipt time is dropped (``bad_timestamp``):
  clocks are kept in sync (spec "Timestamps in Sparkplug"), and a year-9999 stamp would otherwise drive the
  consumers' clocks (the live twin would compute every window up to it) and pin the duplicate window.
- Aliases are unique across the edge node, its devices included (tck-id-payloads-alias-uniqueness: "If supplied
  in an NBIRTH or DBIRTH it MUST be a unique number across this Edge Node's entire set of metrics"). A BIRTH
  metric whose alias another metric of the node already holds (in this birth, the NBIRTH or another device's
  DBIRTH) is kept by name, its alias refused (``duplicate_alias``): the first holder keeps its alias and its
  DATA, and DATA of the refused alias for another device is an unknown alias that asks for no rebirth (a rebirth
  would repeat the conflict). A DBIRTH replaces what its device's earlier DBIRTH registered.
- At most ``max_devices`` devices and ``max_metrics`` metric definitions (template members included) per edge
  node and session: a DBIRTH of a device beyond the first is refused whole (``devices_refused``, one warning per
  session), a metric definition beyond the second is refused on its own (``metrics_refused``, in its birth's
  warning) and the rest of the birth kept. Data for what was refused asks for no rebirth (it would be refused
  again). Timestamps and last values of metrics no longer registered are forgotten when they reach twice
  ``max_metrics`` (a device re-born under ever new metric names), so none of it grows without bound.
- Metrics dropped on their own (wrong datatype, bad timestamp, unknown alias, invalid name...) are counted one by
  one but logged once per message (:class:`~twin.telemetry.metric_state.MessageDrops`): a 1 MB payload of bad
  metrics writes one warning line, not 100 000.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from twin.telemetry.byte_budget import ByteBudget
from twin.telemetry.metric_registry import MetricRegistry
from twin.telemetry.metric_state import MessageDrops, MetricInfo, short
from twin.telemetry.samples import IngestCounters, Quality, Sample
from twin.telemetry.seq_order import MAX_HELD, Offer, SeqOrder
from twin_edge.errors import MalformedPayloadError, SparkplugError
from twin_edge.sparkplug import BDSEQ_METRIC, DataType, MessageType, Value
from twin_edge.sparkplug.complex_types import decode_dataset, flatten_template
from twin_edge.sparkplug.compression import decompress, is_compressed
from twin_edge.sparkplug.datatypes import signed_from_wire
from twin_edge.sparkplug.payload import parse_protobuf
from twin_edge.sparkplug.proto import sparkplug_b_pb2 as pb

logger = logging.getLogger(__name__)

_Sequenced = tuple[MessageType, str | None, pb.Payload]  # a message held for seq order: kind, device, payload


class EdgeNodeTracker:
    def __init__(
        self,
        group: str,
        node: str,
        *,
        reorder_timeout_ms: int,
        rebirth_timeout_ms: int,
        duplicate_window_ms: int = 120_000,
        max_payload_bytes: int = 1_048_576,
        max_future_ms: int = 60_000,
        max_devices: int = 2_000,
        max_metrics: int = 100_000,
        counters: IngestCounters,
        emit: Callable[[list[Sample]], None],
        request_rebirth: Callable[[str, str], None],
        reorder_budget: ByteBudget | None = None,
    ) -> None:
        """``reorder_budget``: the host's ceiling on payload bytes held out of order, shared by its edge nodes
        (None: this node's own, ``max_payload_bytes`` x the 127 messages a seq gap may hold)."""
        self.group, self.node = group, node
        self._reorder_timeout_ms = reorder_timeout_ms
        self._rebirth_timeout_ms = rebirth_timeout_ms
        self._duplicate_window_ms = duplicate_window_ms
        self._max_payload_bytes = max_payload_bytes
        self._max_future_ms = max_future_ms
        self._max_devices = max_devices
        self._capped = False  # this session refused a device or a metric for the caps: no rebirth would help
        self._metrics = MetricRegistry(max_devices=max_devices, max_metrics=max_metrics)
        self._counters = counters
        self._emit = emit
        self._request_rebirth = request_rebirth
        self.online = False
        self.bdseq: int | None = None
        self._order: SeqOrder[_Sequenced] = SeqOrder(
            reorder_timeout_ms, reorder_budget or ByteBudget(max_payload_bytes * MAX_HELD)
        )
        self._rebirth_sent_ms: int | None = None
        self._devices_online: set[str] = set()

    # -- queries -------------------------------------------------------------------------------------------
    @property
    def deadline_ms(self) -> int | None:
        """When this node's Reorder Timeout ends (None: no seq gap open)."""
        return self._order.deadline_ms

    def device_online(self, device: str) -> bool:
        return device in self._devices_online

    def birth_datatype(self, device: str | None, name: str) -> DataType | None:
        """The datatype the current BIRTH gave metric ``name`` of ``device``; None if it is not in the BIRTH."""
        info = self._metrics.by_name(device, name)
        return None if info is None else info.datatype

    def birth_alias(self, device: str | None, name: str) -> int | None:
        """The alias the current BIRTH gave metric ``name`` of ``device``; None if it gave none."""
        info = self._metrics.by_name(device, name)
        return None if info is None else info.alias

    # -- input -----------------------------------------------------------------------------------------------
    def on_message(self, kind: MessageType, device: str | None, payload: bytes, now_ms: int) -> None:
        try:
            message = parse_protobuf(payload)
            if is_compressed(message):  # the spec's compressed wrapper (``algorithm`` metric)
                message = decompress(message, max_bytes=self._max_payload_bytes)
                self._counters.decompressed += 1
        except MalformedPayloadError as exc:
            self._drop("malformed")
            logger.warning("%s/%s %s: %s", self.group, self.node, kind, exc)
            return
        self._counters.decoded += 1
        if kind is MessageType.NBIRTH:
            self._on_nbirth(message, now_ms)
        elif kind is MessageType.NDEATH:
            self._on_ndeath(message, now_ms)
        elif kind in (MessageType.NCMD, MessageType.DCMD):
            return
        else:
            self._on_sequenced(kind, device, message, now_ms)

    def on_tick(self, now_ms: int) -> None:
        """Apply the Reorder Timeout: called by the host when ``deadline_ms`` has passed."""
        if self.deadline_ms is not None and now_ms >= self.deadline_ms:
            self._give_up_gap(now_ms, "missing after the Reorder Timeout")

    def mark_all_stale(self, now_ms: int) -> None:
        """Broker connection lost: every metric of this node goes STALE and the session is forgotten."""
        if self.online:
            self._stale(None, now_ms, whole_node=True)
        self.online = False
        self.forget_buffered()

    # -- session ------------------------------------------------------------------------------------------------
    def _on_nbirth(self, message: pb.Payload, now_ms: int) -> None:
        if not message.HasField("seq"):
            self._no_seq(MessageType.NBIRTH)
            return
        bdseq = None
        for m in message.metrics:
            if m.name == BDSEQ_METRIC:
                bdseq = m.long_value if m.WhichOneof("value") == "long_value" else m.int_value
        self.bdseq = bdseq
        self.online = True
        self._order.restart(message.seq)
        self._rebirth_sent_ms = None
        self._capped = False
        self._devices_online.clear()
        self._metrics.new_session(now_ms, self._duplicate_window_ms)
        self._apply_birth(None, message, now_ms)

    def _on_ndeath(self, message: pb.Payload, now_ms: int) -> None:
        bdseq = None
        for m in message.metrics:
            if m.name == BDSEQ_METRIC:
                bdseq = m.long_value if m.WhichOneof("value") == "long_value" else m.int_value
        if not self.online or (self.bdseq is not None and bdseq != self.bdseq):
            # one without a bdSeq cannot be told from an older session's (tck-id-payloads-ndeath-bdseq: it MUST
            # carry the NBIRTH's); only a node whose NBIRTH had none either is ended by one without
            logger.info(
                "%s/%s: NDEATH bdSeq %s does not end the current session (bdSeq %s); ignored",
                self.group,
                self.node,
                bdseq,
                self.bdseq,
            )
            return
        self._counters.node_deaths += 1
        logger.warning(
            "%s/%s: edge node offline (NDEATH bdSeq %s); its metrics are STALE", self.group, self.node, bdseq
        )
        self._stale(None, now_ms, whole_node=True)
        self.online = False
        self.forget_buffered()

    def _on_sequenced(self, kind: MessageType, device: str | None, message: pb.Payload, now_ms: int) -> None:
        if not message.HasField("seq"):
            self._no_seq(kind, device)
            return
        if not self.online:
            self._rebirth(now_ms, f"{kind} before NBIRTH")
            return
        outcome, ready = self._order.offer(message.seq, (kind, device, message), message.ByteSize, now_ms)
        if outcome is Offer.LATE:
            logger.warning(
                "%s/%s: late or duplicate seq %d (expected %d) dropped",
                self.group,
                self.node,
                message.seq % 256,
                self._order.expected,
            )
            self._drop("seq_gaps")
            return
        for ready_kind, ready_device, ready_message in ready:
            self._apply(ready_kind, ready_device, ready_message, now_ms)
        if outcome is Offer.FULL:
            budget = self._order.budget
            self._give_up_gap(
                now_ms,
                f"not waited for: {budget.used} bytes held out of order reach the host's "
                f"max_reorder_bytes ({budget.limit})",
            )

    def forget_buffered(self) -> None:
        """Drop the messages held out of order (their bytes go back to the host's budget)."""
        self._order.forget()

    def _give_up_gap(self, now_ms: int, why: str) -> None:
        """Stop waiting for the missing seq: count the gap, ask for a rebirth, apply what is held in seq order."""
        self._drop("seq_gaps")
        logger.warning("%s/%s: seq %d %s; requesting rebirth", self.group, self.node, self._order.expected, why)
        self._rebirth(now_ms, "seq gap")
        for kind, device, message in self._order.give_up():
            self._apply(kind, device, message, now_ms)

    def _rebirth(self, now_ms: int, reason: str) -> None:
        """At most one pending rebirth per node; a pending one expires after the rebirth timeout."""
        sent = self._rebirth_sent_ms
        if sent is not None and now_ms - sent < self._rebirth_timeout_ms:
            return
        self._rebirth_sent_ms = now_ms
        self._counters.rebirths_requested += 1
        logger.info("%s/%s: requesting rebirth (%s)", self.group, self.node, reason)
        self._request_rebirth(self.group, self.node)

    # -- applying messages ------------------------------------------------------------------------------------
    def _apply(self, kind: MessageType, device: str | None, message: pb.Payload, now_ms: int) -> None:
        if kind is MessageType.DBIRTH:
            self._apply_birth(device, message, now_ms)
        elif kind is MessageType.DDEATH:
            if device in self._devices_online:
                # tck-id-...-ddeath-devices-tags-stale: stale "using the timestamp in the DDEATH payload".
                # The alarm of a PLC that went away: counted (device_deaths) and logged at warning.
                self._counters.device_deaths += 1
                logger.warning(
                    "%s/%s: device %s went offline (DDEATH); its metrics are STALE", self.group, self.node, device
                )
                stamp = message.timestamp if message.HasField("timestamp") else now_ms
                self._stale(device, stamp if stamp <= now_ms + self._max_future_ms else now_ms)
                self._devices_online.discard(device)  # type: ignore[arg-type]
        elif kind is MessageType.DDATA and device not in self._devices_online:
            if not self._capped:  # a device refused for max_devices would be refused again
                self._rebirth(now_ms, "DDATA for unknown device")
        else:
            self._apply_data(device, message, now_ms)

    def _apply_birth(self, device: str | None, message: pb.Payload, now_ms: int) -> None:
        default_ts = message.timestamp if message.HasField("timestamp") else now_ms
        samples: list[Sample] = []
        drops = MessageDrops()
        if device is not None and not self._metrics.open_device(device):
            self._refuse_device(device)
            return
        for m in message.metrics:
            name = m.name
            if not isinstance(name, str):  # upb returns bytes for a name that is not valid UTF-8
                self._invalid_name(drops, name)
                continue
            if device is None and (name == BDSEQ_METRIC or name.startswith("Node Control/")):
                continue
            if not name or not m.HasField("datatype"):
                self._drop_metric(drops, "malformed", name, "has no name or no datatype")
                continue
            try:
                datatype = DataType(m.datatype)
            except ValueError:
                self._drop_metric(drops, "wrong_datatype", name, f"datatype {m.datatype}")
                continue
            if datatype is DataType.TEMPLATE:
                alias = m.alias if m.HasField("alias") else None
                # definitions (NBIRTH) are types, not values
                if not m.template_value.is_definition and self._register(device, name, datatype, alias, drops):
                    self._template(device, name, m, default_ts, samples, now_ms, drops, birth=True)
                continue
            info = self._register(device, name, datatype, m.alias if m.HasField("alias") else None, drops)
            if info is None:
                continue
            sample = self._sample(info, m, default_ts, now_ms, drops)
            if sample is not None:
                samples.append(sample)
        if device is not None:
            self._devices_online.add(device)
        self._log_drops("NBIRTH" if device is None else "DBIRTH", device, drops)
        self._deliver(samples)

    def _refuse_device(self, device: str) -> None:
        """A DBIRTH of one device more than ``max_devices``: refused whole, counted, one warning a session."""
        self._drop("devices_refused")
        if not self._capped:
            logger.warning(
                "%s/%s: DBIRTH of device %s refused: the node already has %d devices (HostConfig."
                "max_devices_per_node); further refusals of this session are only counted (devices_refused)",
                self.group,
                self.node,
                short(device),
                self._max_devices,
            )
        self._capped = True

    def _register(
        self, device: str | None, name: str, datatype: DataType, alias: int | None, drops: MessageDrops
    ) -> MetricInfo | None:
        """Register a BIRTH's metric definition (:meth:`MetricRegistry.register`), counting what it refused; None
        if the definition was refused (``max_metrics`` reached: no rebirth would help this session)."""
        info, refusal = self._metrics.register(device, name, datatype, alias)
        if refusal is not None:
            self._drop_metric(drops, refusal.reason, name, refusal.detail)
            self._capped = self._capped or info is None
        return info

    def _template(
        self,
        device: str | None,
        prefix: str,
        m: pb.Payload.Metric,
        default_ts: int,
        samples: list[Sample],
        now_ms: int,
        drops: MessageDrops,
        *,
        birth: bool,
    ) -> None:
        """A Template instance: its leaf members become metrics ``<prefix>/<member>`` (registered from the BIRTH)."""
        try:
            members = list(flatten_template(prefix, m, default_ts))
        except SparkplugError as exc:
            self._drop_metric(drops, "malformed", prefix, short(str(exc), 120))
            return
        for flat, member, ts in members:
            if flat is None:
                self._invalid_name(drops, member.name)
                continue
            if birth:
                try:
                    registered = self._register(device, flat, DataType(member.datatype), None, drops)
                except ValueError:
                    self._drop_metric(drops, "wrong_datatype", flat, f"datatype {member.datatype}")
                    continue
                if registered is None:
                    continue
                info = registered
            else:
                found = self._metrics.by_name(device, flat)
                if found is None:
                    self._drop_metric(drops, "unknown_alias", flat, "(template member not in the BIRTH)")
                    self._rebirth(now_ms, "unknown template member")
                    continue
                info = found
            sample = self._sample(info, member, ts, now_ms, drops)
            if sample is not None:
                samples.append(sample)

    def _apply_data(self, device: str | None, message: pb.Payload, now_ms: int) -> None:
        default_ts = message.timestamp if message.HasField("timestamp") else now_ms
        metrics = self._metrics
        samples: list[Sample] = []
        drops = MessageDrops()
        for m in message.metrics:
            if m.HasField("alias"):
                info = metrics.by_alias(m.alias)
            else:
                name = m.name
                if not isinstance(name, str):
                    self._invalid_name(drops, name)
                    continue
                info = metrics.by_name(device, name)
            if info is None or info.device != device:
                if not m.HasField("alias"):
                    self._drop_metric(drops, "unknown_alias", m.name)
                elif metrics.alias_refused(device, m.alias):  # a rebirth would repeat the conflict
                    self._drop_metric(drops, "unknown_alias", None, f"alias {m.alias} (refused as a duplicate)")
                    continue
                else:
                    self._drop_metric(drops, "unknown_alias", None, f"alias {m.alias}")
                if not self._capped:  # a metric refused for max_metrics would be refused again
                    self._rebirth(now_ms, "unknown metric alias")
                continue
            if info.template:
                self._template(device, info.name, m, default_ts, samples, now_ms, drops, birth=False)
                continue
            sample = self._sample(info, m, default_ts, now_ms, drops)
            if sample is not None:
                samples.append(sample)
        self._log_drops("NDATA" if device is None else "DDATA", device, drops)
        self._deliver(samples)

    def _sample(
        self, info: MetricInfo, m: pb.Payload.Metric, default_ts: int, now_ms: int, drops: MessageDrops
    ) -> Sample | None:
        ts = m.timestamp if m.HasField("timestamp") else default_ts
        if ts > now_ms + self._max_future_ms:
            self._drop_metric(drops, "bad_timestamp", info.name, f"at {ts} ms, {(ts - now_ms) / 1000:.0f} s ahead")
            return None
        field = m.WhichOneof("value")
        if field is None or m.is_null:
            value: Value | None = None
        elif field != info.field:
            self._drop_metric(drops, "wrong_datatype", info.name, f"carries {field}, BIRTH {info.datatype.spec_name}")
            return None
        else:
            value = getattr(m, field)
            if info.bits and value >= 1 << (info.bits - 1):  # type: ignore[operator]
                try:
                    value = signed_from_wire(value, info.bits)  # type: ignore[arg-type]
                except SparkplugError:
                    self._drop_metric(drops, "wrong_datatype", info.name, f"{value} does not fit {info.bits} bits")
                    return None
            elif info.dataset:
                try:
                    value = decode_dataset(value)  # type: ignore[arg-type]
                except SparkplugError as exc:
                    self._drop_metric(drops, "wrong_datatype", info.name, short(str(exc), 120))
                    return None
            elif info.text and not isinstance(value, str):
                self._drop_metric(drops, "invalid_utf8", info.name, "(String value not UTF-8)")
                return None
        historical = m.is_historical
        if not info.delivered.first(ts, self._duplicate_window_ms):
            # The edge replays values it sent just before a connection loss (at-least-once); keep exactly-once.
            self._counters.duplicates += 1
            return None
        if not historical:
            self._metrics.note_last(info, value)
        return Sample(ts, self.group, self.node, info.device, info.name, value, Quality.GOOD, historical)

    def _no_seq(self, kind: MessageType, device: str | None = None) -> None:
        """A message that must carry a seq has none (an empty payload decodes so): malformed, dropped whole."""
        self._drop("malformed")
        logger.warning(
            "%s/%s %s %s: no seq (every NBIRTH and DATA message carries one); dropped",
            self.group,
            self.node,
            kind,
            short(device),
        )

    def _drop(self, reason: str) -> None:
        """Count a dropped message or metric, in total and for this edge node (``/metrics`` labels)."""
        counters = self._counters
        setattr(counters, reason, getattr(counters, reason) + 1)
        counters.count_drop(f"{self.group}/{self.node}", reason)

    def _drop_metric(self, drops: MessageDrops, reason: str, name: object, detail: str = "") -> None:
        """Count one metric of the message at hand dropped for ``reason`` and note it for its summary."""
        self._drop(reason)
        drops.add(reason, name, detail)

    def _invalid_name(self, drops: MessageDrops, raw: object) -> None:
        """A metric name that is not valid UTF-8 (spec: names are UTF-8 strings): counted, never a tag."""
        self._drop_metric(drops, "invalid_utf8", raw, "(name not UTF-8)")

    def _log_drops(self, kind: str, device: str | None, drops: MessageDrops) -> None:
        """One warning for everything a message lost (counts by reason, the first few offenders, cut short)."""
        if drops.counts:
            logger.warning(
                "%s/%s %s %s: %d bad metric(s): %s",
                self.group,
                self.node,
                kind,
                short(device),
                drops.total,
                drops.summary(),
            )

    def _stale(self, device: str | None, now_ms: int, *, whole_node: bool = False) -> None:
        samples = [
            Sample(now_ms, self.group, self.node, dev, name, last, Quality.STALE, False)
            for dev, name, last in self._metrics.stale_values(device, whole_node=whole_node)
        ]
        self._counters.stale_marked += len(samples)
        self._deliver(samples, applied=False)

    def _deliver(self, samples: list[Sample], *, applied: bool = True) -> None:
        if not samples:
            return
        if applied:
            self._counters.applied += len(samples)
        self._emit(samples)
