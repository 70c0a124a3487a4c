"""Results of a scenario run: KPIs, interval time series, hourly cell snapshots and cell events.

Saved as a directory: ``kpis.json`` (plant and potline KPIs plus the run's identity), and
``timeseries``, ``cells`` and ``events`` tables as Parquet (or CSV on request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from twin.errors import ScenarioError

TABLES = ("timeseries", "cells", "events")


def prepare_directory(directory: str | Path) -> Path:
    """The results directory ``directory``, created if needed; a :class:`ScenarioError` naming it when it is a file
    or cannot be created (``twin run --out`` calls it before the run, so a bad path costs no simulation)."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out = {str(directory)!r} is a file; expected a directory (new or existing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(
            f"--out = {str(directory)!r} cannot be created ({exc.strerror or exc}); expected a writable directory"
        ) from None
    return out


@dataclass
class Results:
    """Everything a run produced. Same scenario + seed → identical results."""

    scenario: str
    seed: int
    horizon_h: float
    kpis: dict[str, float]
    potline_kpis: dict[str, dict[str, float]]
    timeseries: pa.Table
    cells: pa.Table
    events: pa.Table
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: str | Path, *, fmt: str = "parquet") -> Path:
        """Write the results into ``directory`` (created if needed); ``fmt`` is parquet or csv."""
        if fmt not in ("parquet", "csv"):
            raise ScenarioError(f"--format = {fmt!r} is invalid; expected 'parquet' or 'csv'")
        out = prepare_directory(directory)
        doc = {
            "scenario": self.scenario,
            "seed": self.seed,
            "horizon_h": self.horizon_h,
            "kpis": self.kpis,
            "potline_kpis": self.potline_kpis,
            "meta": self.meta,
        }
        (out / "kpis.json").write_text(json.dumps(doc, indent=2, sort_keys=True), encoding="utf-8")
        for name in TABLES:
            table = getattr(self, name)
            if fmt == "parquet":
                pq.write_table(table, out / f"{name}.parquet")
            else:
                pacsv.write_csv(table, out / f"{name}.csv")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Results:
        """Read results written by :meth:`save` (Parquet or CSV)."""
        path = Path(directory)
        try:
            doc = json.loads((path / "kpis.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ScenarioError(f"{path}: not a results directory (kpis.json: {exc})") from None
        tables = {}
        for name in TABLES:
            if (path / f"{name}.parquet").exists():
                tables[name] = pq.read_table(path / f"{name}.parquet")
            elif (path / f"{name}.csv").exists():
                tables[name] = pacsv.read_csv(path / f"{name}.csv")
            else:
                tables[name] = pa.table({})
        return cls(
            doc["scenario"],
            doc["seed"],
            doc["horizon_h"],
            doc["kpis"],
            doc["potline_kpis"],
            tables["timeseries"],
            tables["cells"],
            tables["events"],
            doc.get("meta", {}),
        )


def table_from_rows(rows: list[Mapping[str, Any]]) -> pa.Table:
    """A table from a list of same-keyed dicts (empty table when there are no rows)."""
    if not rows:
        return pa.table({})
    return pa.table({key: [row[key] for row in rows] for key in rows[0]})
