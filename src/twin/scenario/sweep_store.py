"""Where a sweep's results go as its tasks finish: a directory of Parquet parts, or memory.

The directory (``twin sweep --out DIR``) holds one part per finished task::

    DIR/part-0000012.parquet   # the rows of one task's variants, named after its smallest variant number
    DIR/.part-0000012.parquet.tmp   # a part being written; linked into place only when complete

A part is written to a hidden temporary file and then hard-linked to its final name, which fails if that name
exists: a part is never overwritten and never seen half-written, so a crash (of a worker, of the driver, of the
machine) leaves only whole parts, and the next run removes the temporary leftovers. Each part's Parquet key-value
metadata ``twin.sweep`` holds JSON ``{"sweep": name, "digests": {"<variant>": "<sha256 of its scenario>"},
"ran_by": "host:pid"}``: a resumed sweep skips exactly the variants it finds there with an unchanged scenario.

Readers see the directory as one table: ``pyarrow.parquet.read_table(DIR)``, DuckDB
``read_parquet('DIR/*.parquet')``, ``pandas.read_parquet(DIR)`` (hidden files are ignored).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from twin.errors import ScenarioError

META_KEY = b"twin.sweep"
PART_GLOB = "part-*.parquet"


def _concat(tables: list[pa.Table]) -> pa.Table:
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables, promote_options="permissive").sort_by("variant").replace_schema_metadata(None)


class MemoryResults:
    """Finished parts kept in memory (``run_sweep`` without ``out``)."""

    def __init__(self) -> None:
        self._tables: list[pa.Table] = []
        self._finished: dict[int, str] = {}

    def finished(self) -> dict[int, str]:
        """Variant number -> scenario digest of every variant already in the results."""
        return dict(self._finished)

    def write(self, table: pa.Table, digests: Mapping[int, str], ran_by: str) -> None:
        _refuse_twice(self._finished, digests, "memory")
        self._tables.append(table)
        self._finished.update(digests)

    def table(self) -> pa.Table:
        return _concat(self._tables)


class PartsDirectory:
    """A sweep's results directory: opened fresh (must be new or empty) or to resume (``resume=True``)."""

    def __init__(self, path: str | Path, sweep_name: str, *, resume: bool) -> None:
        self.path = Path(path)
        self.sweep_name = sweep_name
        if self.path.exists() and not self.path.is_dir():
            raise ScenarioError(
                f"--out {self.path}: exists and is not a directory; expected a new or a sweep directory"
            )
        if self.path.is_dir():
            parts = sorted(self.path.glob(PART_GLOB))
            others = [p.name for p in self.path.iterdir() if not p.name.startswith(".") and p not in parts]
            if others:
                raise ScenarioError(
                    f"--out {self.path}: holds other files ({', '.join(sorted(others)[:3])}); expected a new "
                    "directory or one that holds only a sweep's parts"
                )
            if parts and not resume:
                raise ScenarioError(
                    f"--out {self.path}: already holds {len(parts)} parts of a sweep; pass --resume to continue it, "
                    "or choose another --out"
                )
        self.path.mkdir(parents=True, exist_ok=True)
        for leftover in self.path.glob(".part-*.tmp"):
            leftover.unlink()
        self._finished = self._read_finished()

    def _read_finished(self) -> dict[int, str]:
        finished: dict[int, str] = {}
        for part in sorted(self.path.glob(PART_GLOB)):
            try:
                meta = json.loads((pq.read_schema(part).metadata or {})[META_KEY])
                digests = {int(k): str(v) for k, v in meta["digests"].items()}
                name = meta["sweep"]
            except (OSError, KeyError, ValueError, TypeError, pa.ArrowException) as exc:
                raise ScenarioError(f"{part}: not a part written by twin sweep ({type(exc).__name__}: {exc})") from None
            if name != self.sweep_name:
                raise ScenarioError(
                    f"{part}: holds results of sweep {name!r}, not {self.sweep_name!r}; choose another --out"
                )
            _refuse_twice(finished, digests, str(self.path))
            finished.update(digests)
        return finished

    def finished(self) -> dict[int, str]:
        """Variant number -> scenario digest of every variant already in the directory."""
        return dict(self._finished)

    def write(self, table: pa.Table, digests: Mapping[int, str], ran_by: str) -> Path:
        """Write one task's rows as a new part; never overwrites, never writes a variant twice."""
        _refuse_twice(self._finished, digests, str(self.path))
        name = f"part-{min(digests):07d}.parquet"
        meta = {"sweep": self.sweep_name, "digests": {str(k): v for k, v in digests.items()}, "ran_by": ran_by}
        tmp = self.path / f".{name}.tmp"
        final = self.path / name
        pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(meta)}), tmp)
        try:
            os.link(tmp, final)  # fails if the name exists: a part is never overwritten
        finally:
            tmp.unlink()
        self._finished.update(digests)
        return final

    def table(self) -> pa.Table:
        """Every finished variant, one row each, in variant order."""
        return _concat([pq.read_table(part) for part in sorted(self.path.glob(PART_GLOB))])


def _refuse_twice(finished: Mapping[int, str], digests: Mapping[int, str], where: str) -> None:
    again = sorted(set(finished) & set(digests))
    if again:
        raise ScenarioError(f"{where}: variants {again[:5]} are already in the results; a variant is written once")
