"""Register packing, report by exception, the store-and-forward file and the bdSeq file."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin_edge.bdseq_file import BdSeqFile
from twin_edge.forward_store import ForwardStore
from twin_edge.registers import Encoding, decode_registers, encode_registers
from twin_edge.report_by_exception import DeadbandFilter


@pytest.mark.parametrize(
    ("encoding", "value"),
    [
        (Encoding.UINT16, 65535),
        (Encoding.INT16, -300),
        (Encoding.UINT32, 4_000_000_000),
        (Encoding.INT32, -70000),
        (Encoding.FLOAT32, 4.25),
    ],
)
def test_register_round_trip(encoding: Encoding, value: float) -> None:
    regs = encode_registers(encoding, value)
    assert len(regs) == encoding.register_count
    assert all(0 <= r <= 0xFFFF for r in regs)
    assert decode_registers(encoding, regs) == value


def test_integer_encodings_clamp() -> None:
    assert decode_registers(Encoding.UINT16, encode_registers(Encoding.UINT16, 70000)) == 65535
    assert decode_registers(Encoding.UINT16, encode_registers(Encoding.UINT16, -5)) == 0


def test_deadband_reports_only_moves_beyond_deadband() -> None:
    rbe = DeadbandFilter()
    assert rbe.should_report("v", 4.0, 0.01)
    assert not rbe.should_report("v", 4.005, 0.01)
    assert not rbe.should_report("v", 3.995, 0.01)  # compared with the last *reported* value
    assert rbe.should_report("v", 4.02, 0.01)
    assert rbe.should_report("b", False, 0.5)
    assert not rbe.should_report("b", False, 0.5)
    assert rbe.should_report("b", True, 0.5)
    assert rbe.should_report("c", 3, 0.0)
    assert not rbe.should_report("c", 3, 0.0)
    assert rbe.should_report("c", 4, 0.0)


def test_forward_store_is_fifo_persistent_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = ForwardStore(path, max_records=5)
    store.append([("pot_001", "v", 1, 4.1), ("pot_001", "ae", 1, True), ("pot_002", "n", 2, 7)])
    store.close()
    store = ForwardStore(path, max_records=5)  # survives a restart
    rows = store.oldest(10)
    assert [(r.device_id, r.metric, r.timestamp, r.value) for r in rows] == [
        ("pot_001", "v", 1, 4.1),
        ("pot_001", "ae", 1, True),
        ("pot_002", "n", 2, 7),
    ]
    assert rows[1].value is True
    store.delete([rows[0].row_id, rows[1].row_id])
    assert [r.metric for r in store.oldest(10)] == ["n"]
    store.append([("d", f"m{i}", 3 + i, i) for i in range(6)])
    assert store.count() == 5
    assert store.dropped == 2
    assert [r.metric for r in store.oldest(10)] == ["m1", "m2", "m3", "m4", "m5"]
    store.delete([r.row_id for r in store.oldest(2)])
    store.append([("d", "early", 0, 1.0)])  # re-stored after a connection loss: replayed by timestamp
    assert [r.metric for r in store.oldest(2)] == ["early", "m3"]
    store.close()


def test_bdseq_file_advances_and_wraps(tmp_path: Path) -> None:
    f = BdSeqFile(tmp_path / "x.bdseq")
    assert f.load() is None
    assert [f.advance() for _ in range(3)] == [0, 1, 2]
    assert BdSeqFile(tmp_path / "x.bdseq").load() == 2
    (tmp_path / "x.bdseq").write_text("255")
    assert f.advance() == 0
