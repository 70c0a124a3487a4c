"""The host's per-edge-node state machine without a broker: ordering, rebirth, aliases, stale marking."""

from __future__ import annotations

import logging
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.telemetry.byte_budget import ByteBudget
from twin.telemetry.node_tracker import EdgeNodeTracker
from twin.telemetry.samples import IngestCounters, Quality, Sample
from twin_edge.sparkplug import DataType, MessageType, Metric, encode_payload

from .messages import SIGNALS, dbirth, ddata, ddeath, nbirth, ndeath


class Harness:
    def __init__(self, reorder_ms: int = 1000, reorder_budget: ByteBudget | None = None, **limits: int) -> None:
        """``limits``: the tracker's ``max_devices`` / ``max_metrics`` (its defaults when not given)."""
        self.counters = IngestCounters()
        self.samples: list[Sample] = []
        self.rebirths: list[tuple[str, str]] = []
        self.tracker = EdgeNodeTracker(
            "potline1",
            "gw",
            reorder_timeout_ms=reorder_ms,
            rebirth_timeout_ms=5000,
            counters=self.counters,
            emit=self.samples.extend,
            request_rebirth=lambda g, n: self.rebirths.append((g, n)),
            reorder_budget=reorder_budget,
            **limits,
        )

    def send(self, kind: MessageType, payload: bytes, device: str | None = None, now: int = 10_000) -> None:
        self.tracker.on_message(kind, device, payload, now)

    def born(self, bdseq: int = 3) -> Harness:
        self.send(MessageType.NBIRTH, nbirth(bdseq, seq=0))
        self.send(MessageType.DBIRTH, dbirth(0, 1), "pot_001")
        self.samples.clear()
        return self

    def counts(self) -> list[int]:
        return [s.value for s in self.samples if s.metric == "feed_count"]  # type: ignore[misc]


def test_in_order_data_is_applied_with_birth_datatypes() -> None:
    h = Harness().born()
    for i in range(3):
        h.send(MessageType.DDATA, ddata(0, 2 + i, i + 1), "pot_001")
    assert h.counts() == [1, 2, 3]
    offsets = [s.value for s in h.samples if s.metric == "offset"]
    assert offsets == [-1, -2, -3]  # Int32 sign restored from the BIRTH datatype
    assert all(s.quality is Quality.GOOD and s.device == "pot_001" for s in h.samples)
    assert h.counters.applied == 3 + 6
    assert h.rebirths == []  # DBIRTH + 3 DDATA x 2


def test_tck_id_operational_behavior_host_reordering_success() -> None:
    """tck-id-operational-behavior-host-reordering-start/-success: an early message waits for the missing one."""
    h = Harness().born()
    h.send(MessageType.DDATA, ddata(0, 3, 2), "pot_001")
    assert h.counts() == []
    assert h.tracker.deadline_ms == 11_000
    h.send(MessageType.DDATA, ddata(0, 2, 1), "pot_001")
    assert h.counts() == [1, 2]
    assert h.tracker.deadline_ms is None
    assert h.rebirths == []
    assert h.counters.seq_gaps == 0


def test_tck_id_operational_behavior_host_reordering_rebirth() -> None:
    """tck-id-operational-behavior-host-reordering-rebirth: after the Reorder Timeout a gap causes a rebirth
    request (only one while pending) and the buffered data is applied in seq order."""
    h = Harness().born()
    h.send(MessageType.DDATA, ddata(0, 4, 3), "pot_001")
    h.send(MessageType.DDATA, ddata(0, 3, 2), "pot_001")
    h.tracker.on_tick(10_500)
    assert h.rebirths == []
    h.tracker.on_tick(11_000)
    assert h.rebirths == [("potline1", "gw")]
    assert h.counters.seq_gaps == 1
    assert h.counts() == [2, 3]
    h.send(MessageType.DDATA, ddata(0, 9, 9), "pot_001", now=11_100)
    h.tracker.on_tick(12_200)
    assert len(h.rebirths) == 1  # at most one pending rebirth per node
    h.send(MessageType.NBIRTH, nbirth(3), now=12_300)
    h.send(MessageType.DBIRTH, dbirth(0, 1), "pot_001", now=12_300)
    h.send(MessageType.DDATA, ddata(0, 2, 10), "pot_001", now=12_300)
    assert h.counts()[-1] == 10


def test_seq_wraps_from_255_to_0() -> None:
    h = Harness()
    h.send(MessageType.NBIRTH, nbirth(1, seq=254))
    h.send(MessageType.DBIRTH, dbirth(0, 255), "pot_001")
    h.send(MessageType.DDATA, ddata(0, 0, 1), "pot_001")
    h.send(MessageType.DDATA, ddata(0, 1, 2), "pot_001")
    assert h.counts() == [0, 1, 2]
    assert h.counters.seq_gaps == 0  # DBIRTH value, then 1, 2


def test_data_before_birth_requests_rebirth() -> None:
    """A host that joins late (DATA before any NBIRTH) asks for a rebirth and applies nothing."""
    h = Harness()
    h.send(MessageType.DDATA, ddata(0, 5, 1), "pot_001")
    assert h.rebirths
    assert h.samples == []


def test_unknown_alias_and_wrong_datatype_are_counted_not_applied() -> None:
    h = Harness().born()
    bad_alias = encode_payload(
        [Metric(alias=999, timestamp=1, value=1.0, value_field="float_value")], timestamp=1, seq=2
    )
    h.send(MessageType.DDATA, bad_alias, "pot_001")
    wrong_type = encode_payload(
        [Metric(alias=1, timestamp=1, value="x", value_field="string_value")], timestamp=1, seq=3
    )
    h.send(MessageType.DDATA, wrong_type, "pot_001")
    h.send(MessageType.DDATA, ddata(0, 4, 7), "pot_001")
    assert h.counters.unknown_alias == 1
    assert h.counters.wrong_datatype == 1
    assert h.counts() == [7]
    assert len(h.rebirths) == 1


def test_tck_id_operational_behavior_edge_node_termination_host_action_ndeath_node_tags_stale() -> None:
    """tck-id-...-ndeath-node-offline/-node-tags-stale/-devices-tags-stale: NDEATH with the session's bdSeq
    marks every metric STALE at the host's receipt time; an NDEATH with another bdSeq is ignored."""
    h = Harness().born(bdseq=3)
    h.send(MessageType.DDATA, ddata(0, 2, 5), "pot_001")
    h.samples.clear()
    h.send(MessageType.NDEATH, ndeath(2), now=20_000)  # a late Will from an older session
    assert h.samples == []
    assert h.tracker.online
    h.send(MessageType.NDEATH, ndeath(3), now=20_000)
    assert not h.tracker.online
    assert {s.metric for s in h.samples} == {"cell_voltage_V", "feed_count", "offset"}
    assert all(s.quality is Quality.STALE and s.timestamp_ms == 20_000 for s in h.samples)
    assert next(s.value for s in h.samples if s.metric == "feed_count") == 5  # last known value


def test_an_ndeath_without_bdseq_does_not_end_a_session_that_has_one() -> None:
    """tck-id-payloads-ndeath-bdseq: an NDEATH MUST carry its NBIRTH's bdSeq. One without cannot be told from an
    older session's late Will, so it does not end a session whose NBIRTH had a bdSeq (it used to: any client could
    mark the whole node STALE with an empty NDEATH); a node whose NBIRTH had none is ended by one without."""
    h = Harness().born(bdseq=3)
    h.send(MessageType.DDATA, ddata(0, 2, 5), "pot_001")
    h.samples.clear()
    h.send(MessageType.NDEATH, encode_payload([], timestamp=None), now=20_000)
    assert h.tracker.online
    assert h.samples == []
    without = Harness()
    without.send(MessageType.NBIRTH, encode_payload([], timestamp=1_000, seq=0))
    without.send(MessageType.DBIRTH, dbirth(0, 1), "pot_001")
    without.send(MessageType.NDEATH, encode_payload([], timestamp=None), now=20_000)
    assert not without.tracker.online


def test_a_message_without_seq_is_dropped_counted_and_logged(caplog) -> None:
    h = Harness().born()
    with caplog.at_level(logging.WARNING, logger="twin.telemetry.node_tracker"):
        h.send(MessageType.DDATA, b"", "pot_001")  # an empty payload decodes as a message with no seq
        h.send(MessageType.NBIRTH, encode_payload([], timestamp=1_000))
    assert h.counters.malformed == 2
    assert h.samples == []
    assert [r.getMessage().count("no seq") for r in caplog.records] == [1, 1]
    assert "DDATA" in caplog.records[0].getMessage()
    assert "pot_001" in caplog.records[0].getMessage()


def test_tck_id_operational_behavior_edge_node_termination_host_action_ddeath_devices_tags_stale() -> None:
    """DDEATH marks that device's metrics STALE with the DDEATH payload's timestamp; DATA for it then asks
    for a rebirth."""
    h = Harness().born()
    h.send(MessageType.DBIRTH, dbirth(1, 2), "pot_002")
    h.samples.clear()
    h.send(MessageType.DDEATH, ddeath(3, ts=7_777), "pot_001")
    assert {(s.device, s.quality, s.timestamp_ms) for s in h.samples} == {("pot_001", Quality.STALE, 7_777)}
    assert not h.tracker.device_online("pot_001")
    assert h.tracker.device_online("pot_002")
    h.send(MessageType.DDATA, ddata(0, 4, 1), "pot_001")
    assert h.rebirths


def test_historical_metrics_keep_their_timestamps() -> None:
    h = Harness().born()
    h.send(MessageType.DDATA, ddata(0, 2, 1, ts=123, historical=True), "pot_001")
    assert {(s.timestamp_ms, s.historical) for s in h.samples} == {(123, True)}


def test_malformed_payload_is_counted() -> None:
    h = Harness().born()
    h.send(MessageType.DDATA, b"\xff\x00garbage", "pot_001")
    assert h.counters.malformed == 1
    assert h.samples == []


def test_int_datatype_in_birth_is_enforced() -> None:
    h = Harness()
    h.send(MessageType.NBIRTH, nbirth(0))
    birth = encode_payload(
        [Metric(name="x", alias=1, timestamp=1, datatype=DataType.INT8, value=-5)], timestamp=1, seq=1
    )
    h.send(MessageType.DBIRTH, birth, "d")
    assert [s.value for s in h.samples] == [-5]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.randoms(use_true_random=False))
def test_any_reordering_within_the_window_is_applied_in_seq_order(n: int, rnd: random.Random) -> None:
    """Property: messages shuffled locally (random swaps at most 5 apart), seq wrapping past 255, are applied
    exactly once in seq order with no rebirth, as long as they all arrive within the Reorder Timeout."""
    h = Harness().born()
    order = list(range(n))
    for i in range(n):
        j = min(n - 1, i + rnd.randint(0, 5))
        order[i], order[j] = order[j], order[i]
    for k in order:
        h.send(MessageType.DDATA, ddata(0, (2 + k) % 256, k + 1), "pot_001")
    h.tracker.on_tick(10_500)
    assert h.counts() == list(range(1, n + 1))
    assert h.rebirths == []
    assert h.counters.seq_gaps == 0


@pytest.mark.parametrize(("second_nbirth_ms", "forgotten"), [(1_000 + 120_000 + 1, True), (1_000 + 120_000, False)])
def test_nbirth_forgets_timestamps_and_last_values_not_delivered_within_the_duplicate_window(
    second_nbirth_ms: int, forgotten: bool
) -> None:
    """At an NBIRTH the node forgets the delivered timestamps and last values of metrics last delivered before
    the duplicate window (120 s here; 40 made-up devices of an earlier session would otherwise be kept for ever),
    and keeps what a replay could still repeat. Seen from outside: a DBIRTH replaying a stamp of the earlier
    session is delivered again once forgotten (a duplicate while kept), and a device whose new birth values are
    all dropped goes STALE with no last value once forgotten (its old one while kept)."""
    h = Harness()
    h.send(MessageType.NBIRTH, nbirth(1, seq=0), now=10_000)
    for i in range(40):
        h.send(MessageType.DBIRTH, dbirth(i, 1 + i, ts=1_000), f"fake_{i}", now=10_000)
    assert h.counters.applied == 40 * 3
    h.samples.clear()

    h.send(MessageType.NBIRTH, nbirth(2, seq=0), now=second_nbirth_ms)
    h.send(MessageType.DBIRTH, dbirth(0, 1, ts=1_000), "fake_0", now=second_nbirth_ms)
    future = second_nbirth_ms + 60_000 + 1  # beyond max_future_ms: every birth value of fake_1 is dropped
    h.send(MessageType.DBIRTH, dbirth(1, 2, ts=future), "fake_1", now=second_nbirth_ms)
    h.send(MessageType.DDEATH, ddeath(3, ts=second_nbirth_ms), "fake_1", now=second_nbirth_ms)

    replayed = [s for s in h.samples if s.device == "fake_0" and s.quality is Quality.GOOD]
    stale = {s.metric: s.value for s in h.samples if s.device == "fake_1" and s.quality is Quality.STALE}
    assert h.counters.bad_timestamp == 3
    if forgotten:
        assert {(s.metric, s.timestamp_ms) for s in replayed} == {(name, 1_000) for name, _ in SIGNALS}
        assert h.counters.duplicates == 0
        assert stale == {name: None for name, _ in SIGNALS}
    else:
        assert replayed == []
        assert h.counters.duplicates == 3
        assert stale == {"cell_voltage_V": pytest.approx(4.0), "feed_count": 0, "offset": -1}


def _named_dbirth(seq: int, names: list[str]) -> bytes:
    """A DBIRTH of Float metrics ``names`` (no aliases), each 1.0 stamped 1 000 ms."""
    metrics = [Metric(name=n, timestamp=1_000, datatype=DataType.FLOAT, value=1.0) for n in names]
    return encode_payload(metrics, timestamp=1_000, seq=seq)


@pytest.mark.parametrize(("rebirths_under_new_names", "forgotten"), [(0, False), (10, True)])
def test_a_device_reborn_under_new_names_is_bounded_by_max_metrics(
    rebirths_under_new_names: int, forgotten: bool
) -> None:
    """A DBIRTH replaces its device's metrics; the timestamps of metrics no BIRTH registers any more are forgotten
    once they reach twice ``max_metrics`` (10 here), so a device re-born under ever new names cannot grow them
    within a session. Seen from outside: a re-birth of the first names replaying their stamp is a duplicate
    without the churn and delivered again after it (those stamps were forgotten)."""
    h = Harness(max_metrics=10)
    first = [f"a{j}" for j in range(5)]
    h.send(MessageType.NBIRTH, nbirth(1, seq=0))
    h.send(MessageType.DBIRTH, _named_dbirth(1, first), "pot_001")
    for k in range(rebirths_under_new_names):
        h.send(MessageType.DBIRTH, _named_dbirth(2 + k, [f"b{k}_{j}" for j in range(5)]), "pot_001")
    h.samples.clear()
    h.send(MessageType.DBIRTH, _named_dbirth(2 + rebirths_under_new_names, first), "pot_001")
    replayed = sorted(s.metric for s in h.samples if s.quality is Quality.GOOD)
    assert replayed == (first if forgotten else [])
    assert h.counters.duplicates == (0 if forgotten else len(first))
    assert h.counters.metrics_refused == 0
    assert h.tracker.birth_datatype("pot_001", "a0") is DataType.FLOAT
    assert h.tracker.birth_datatype("pot_001", "b0_0") is None  # replaced by the last DBIRTH


def test_out_of_order_bytes_beyond_the_hosts_budget_end_the_wait_at_once() -> None:
    """The reorder buffer is bounded in bytes across the host's edge nodes, not only in messages: when the budget
    is full the node stops waiting for the missing message (a seq gap and a rebirth, as after a Reorder Timeout),
    applies what it holds in seq order and gives every byte back."""
    size = len(ddata(0, 3, 2))
    budget = ByteBudget(3 * size + size // 2)  # room for three held messages, not four
    h = Harness(reorder_ms=60_000, reorder_budget=budget).born()
    for seq, count in ((3, 2), (4, 3), (5, 4)):  # seq 2 is missing
        h.send(MessageType.DDATA, ddata(0, seq, count), "pot_001")
    assert h.counts() == []
    assert budget.used == 3 * size
    assert h.rebirths == []
    h.send(MessageType.DDATA, ddata(0, 6, 5), "pot_001")  # the fourth does not fit
    assert h.counts() == [2, 3, 4, 5]
    assert h.counters.seq_gaps == 1
    assert h.rebirths == [("potline1", "gw")]
    assert budget.used == 0
    assert h.tracker.deadline_ms is None
    h.send(MessageType.DDATA, ddata(0, 7, 6), "pot_001")  # in order again: applied at once
    assert h.counts() == [2, 3, 4, 5, 6]


def test_a_forgotten_session_gives_its_held_bytes_back() -> None:
    budget = ByteBudget(1_000_000)
    h = Harness(reorder_ms=60_000, reorder_budget=budget).born()
    h.send(MessageType.DDATA, ddata(0, 4, 3), "pot_001")
    assert budget.used > 0
    h.tracker.mark_all_stale(20_000)  # the broker was lost: the session and what it held are gone
    assert budget.used == 0
