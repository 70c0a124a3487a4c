"""Register packing, report by exception, the store-and-forward file and the bdSeq file."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from twin_edge.bdseq_file import BdSeqFile
from twin_edge.errors import EdgeError
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


def _other_programs_table(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE pending (id INTEGER PRIMARY KEY, payload BLOB)")
    db.execute("INSERT INTO pending (payload) VALUES (x'00ff')")
    db.commit()
    db.close()


@pytest.mark.parametrize("damage", ["random bytes", "another program's table"])
def test_an_unreadable_store_file_is_kept_aside_and_a_fresh_store_opened(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway restarted after a power cut must go on publishing: the damaged file is moved aside, byte for
    byte, with an error naming both paths (twin_edge.forward_store)."""
    path = tmp_path / "s.sqlite"
    if damage == "random bytes":
        path.write_bytes(bytes(range(256)) * 12)
    else:
        _other_programs_table(path)
    original = path.read_bytes()
    with caplog.at_level(logging.ERROR, logger="twin_edge.forward_store"):
        store = ForwardStore(path, max_records=5)
    (aside,) = tmp_path.glob("s.sqlite.unreadable-*[0-9]Z")
    assert aside.read_bytes() == original
    assert any(str(aside) in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
    store.append([("pot_001", "v", 1, 4.1)])
    assert [(r.device_id, r.value) for r in store.oldest(10)] == [("pot_001", 4.1)]
    store.close()
    assert ForwardStore(path, max_records=5).count() == 1  # the fresh file is a store: kept on the next start


def test_a_damaged_bdseq_file_counts_as_no_record(tmp_path: Path) -> None:
    """Bytes that are not ASCII digits (0xff 0xfe, a NUL) read as no bdSeq recorded, so the next session starts at
    0, as a gateway without a record does (it used to stop with a UnicodeDecodeError)."""
    path = tmp_path / "x.bdseq"
    for damaged in (b"\xff\xfe\x00garbage", b"", b"256", b"-1", b"\x00\x00"):
        path.write_bytes(damaged)
        assert BdSeqFile(path).load() is None, damaged
        assert BdSeqFile(path).peek_next() == 0
    assert BdSeqFile(path).advance() == 0
    assert BdSeqFile(path).load() == 0


def test_a_full_store_file_loses_only_what_it_cannot_take(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SQLite's own "database or disk is full" (reached here by capping the file's pages, as a full disk would):
    the write that does not fit is lost and counted, logged once, the file stays usable, and what was stored
    before is still there to replay."""
    store = ForwardStore(tmp_path / "s.sqlite", max_records=10**9)
    store.append([("pot_001", "v", 0, 4.0)])
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]  # the file's own size limit, as a full disk
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")
    big = [("pot_001", f"m{i:05d}" + "x" * 200, i, float(i)) for i in range(2000)]
    with caplog.at_level(logging.ERROR, logger="twin_edge.forward_store"):
        for _ in range(3):
            store.append(big)
    assert store.lost == 3 * len(big)
    assert len([r for r in caplog.records if "full" in r.getMessage()]) == 1  # at most once a minute
    assert store.count() == 1
    (kept,) = store.oldest(10)
    assert (kept.metric, kept.value) == ("v", 4.0)
    store.delete([kept.row_id])
    store.append([("pot_001", "v", 1, 4.1)])  # small writes still fit
    assert [r.value for r in store.oldest(10)] == [4.1]
    store.close()


def test_a_store_file_locked_by_another_process_is_left_alone(tmp_path: Path) -> None:
    """Another process holding the file (here a connection with an exclusive lock, as a second gateway
    configured with the same path would) is an error naming the file, not a reason to move it aside."""
    path = tmp_path / "s.sqlite"
    ForwardStore(path, max_records=5).close()
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(EdgeError, match="cannot be opened"):
            ForwardStore(path, max_records=5)
    finally:
        holder.rollback()
        holder.close()
    assert list(tmp_path.glob("*.unreadable-*")) == []
