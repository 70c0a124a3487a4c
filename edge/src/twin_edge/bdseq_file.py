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
        try:
            text = self._path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
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
