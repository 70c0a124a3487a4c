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


def prepare_directory(directory: str | Path, option: str = "--out") -> Path:
    """The results directory ``directory``, created if needed; a :class:`ScenarioError` naming it (as ``option``)
    when it is a file or cannot be created (``twin run --out`` calls it before the run, so a bad path costs no
    simulation)."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"{option} = {str(directory)!r} is a file; expected a directory (new or existing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(
            f"{option} = {str(directory)!r} cannot be created ({exc.strerror or exc}); expected a writable directory"
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
        except (OSError, ValueError) as exc:  # ValueError: bad JSON or bad UTF-8
            raise ScenarioError(f"{path}: not a results directory (kpis.json: {exc})") from None
        _check_document(path / "kpis.json", doc)
        tables = {}
        for name in TABLES:
            parquet, csv = path / f"{name}.parquet", path / f"{name}.csv"
            source = parquet if parquet.exists() else csv if csv.exists() else None
            try:
                tables[name] = (
                    pa.table({}) if source is None
                    else pq.read_table(source) if source is parquet
                    else pacsv.read_csv(source)
                )
            except (OSError, pa.ArrowException) as exc:  # ArrowInvalid: damaged or not Parquet/CSV at all
                raise ScenarioError(f"{source}: not a readable {source.suffix[1:]} table ({exc})") from None
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


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kpi_table(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _number(v) for k, v in value.items())


# What kpis.json must hold for the commands that read it (compare, report): key, test, what is valid.
_DOCUMENT = (
    ("scenario", lambda v: isinstance(v, str), "a string"),
    ("seed", lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    ("horizon_h", lambda v: _number(v) and v > 0, "a number of hours > 0"),
    ("kpis", _kpi_table, "an object of KPI name = number"),
    ("potline_kpis", lambda v: isinstance(v, dict) and all(_kpi_table(t) for t in v.values()),
     "an object of potline = {KPI name = number}"),
)


def _check_document(source: Path, doc: object) -> None:
    """Refuse a kpis.json that `save` could not have written, naming the file, the key and what is valid."""
    if not isinstance(doc, dict):
        raise ScenarioError(f"{source}: not a results file; expected a JSON object, found {type(doc).__name__}")
    for key, valid, expected in _DOCUMENT:
        if key not in doc:
            raise ScenarioError(f"{source}: {key} is missing; expected {expected}")
        if not valid(doc[key]):
            shown = repr(doc[key])
            raise ScenarioError(f"{source}: {key} = {shown[:80]} is invalid; expected {expected}")
    if not isinstance(doc.get("meta", {}), dict):
        raise ScenarioError(f"{source}: meta is invalid; expected an object")


def table_from_rows(rows: list[Mapping[str, Any]]) -> pa.Table:
    """A table from a list of same-keyed dicts (empty table when there are no rows)."""
    if not rows:
        return pa.table({})
    return pa.table({key: [row[key] for row in rows] for key in rows[0]})
