"""The bdSeq persisted across gateway restarts (tck-id-topics-nbirth-bdseq-increment) in a tiny text file.

Written atomically (temp file + rename) because it is updated from paho's network thread right before reconnects.
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

    def advance(self) -> int:
        """Return the bdSeq for the next CONNECT and persist it before it is used."""
        value = next_bdseq(self.load())
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(str(value), encoding="ascii")
        os.replace(tmp, self._path)
        return value
