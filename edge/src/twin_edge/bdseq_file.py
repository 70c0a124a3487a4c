"""The bdSeq persisted across gateway restarts (tck-id-topics-nbirth-bdseq-increment) in a tiny text file.

The file holds the bdSeq of the last CONNECT the broker *accepted*: the next Will uses the one after it
(:meth:`BdSeqFile.peek_next`) and :meth:`BdSeqFile.commit` records it on CONNACK. A Will prepared for a reconnect
that never happened (the gateway died during a broker outage) therefore does not skip a value.
Written atomically (temp file + rename) because it is updated from paho's network thread.
"""

from __future__ import annotations

import os
from pathlib import Path

from twin_edge.sparkplug import next_bdseq


class BdSeqFile:
    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> int | None:
        """The recorded bdSeq, or None if there is none: no file, or one that does not hold 0-255 in ASCII digits
        (a damaged file; the next session then starts at 0, as a gateway without a record does). Found by
        starting the gateway with bytes 0xff 0xfe in the file (2026-12-07): a UnicodeDecodeError traceback."""
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return None
        text = raw.strip()
        return int(text) if text.isdigit() and int(text) < 256 else None

    def peek_next(self) -> int:
        """The bdSeq for the next CONNECT (not persisted until :meth:`commit`)."""
        return next_bdseq(self.load())

    def commit(self, value: int) -> None:
        """Record ``value`` as used by an accepted CONNECT."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(str(value), encoding="ascii")
        os.replace(tmp, self._path)

    def advance(self) -> int:
        """Return the next bdSeq and persist it at once."""
        value = self.peek_next()
        self.commit(value)
        return value
