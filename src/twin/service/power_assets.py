"""The plant file's power side as assets of the live service: captive units, renewables, the grid tie and
each potline's rectifier units, with their static attributes and, where the service has one, a live value.

Identifiers (also Handle local names under ``/v1/id``):

* ``unit:<name>``: a ``[[coal_unit]]`` of the plant file (kind ``unit``, type ``coal_unit``);
* ``unit:renewables``: the ``[renewables]`` block, listed when its ``capacity_MW`` is above 0 (type ``renewables``);
* ``grid:tie``: the ``[grid]`` tie (kind ``grid``);
* ``rectifier:<n>-R<k>``: rectifier unit k of the n-th ``[[potline]]`` of the plant file, which feeds the
  live ``potline:<n>`` (the demo's one line is ``potline1`` → ``potline:1``; kind ``rectifier``).

Static attributes are the plant file's values, each ``{"value", "unit", "description", "source"}`` (unit and
description from ``twin/params/schema/plant.csv``, source the file's own). Live values are ``{"value", "unit",
"time", "source", "tag"}``: the units', renewables' and tie's come from the service's dispatch of the plant's
power system for the measured potline load (:mod:`twin.service.power_view`, ``source = "dispatch model"``),
at the time of the telemetry they were dispatched for. The live twin has no rectifier model (telemetry
carries a potline's line current and cell voltages, not per-rectifier values), so a rectifier's ``live`` is
``None`` with a ``live_reason``; so is every asset's before the first dispatch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from twin.params import PlantSpec
from twin.params.plant import Component
from twin.params.schema import plant_schema
from twin.plant.power import Dispatch

SOURCE = "dispatch model"
RENEWABLES = "renewables"
TIE_ID = "grid:tie"
RECTIFIER_FIELDS = ("rectifier_units", "rectifier_unit_current_kA", "rectifier_voltage_max_V", "rectifier_efficiency")
NOT_YET = "no potline load measured yet: the power system has not been dispatched"


def static_assets(plant: PlantSpec, live_potlines: Sequence[str]) -> list[dict[str, Any]]:
    """The power-side assets of ``plant`` with their plant-file attributes and ``live`` = None (not yet).

    ``live_potlines`` are the live twin's potline labels; the n-th plant-file potline's rectifiers are
    listed when ``str(n)`` is one of them (the rectifiers of a line the service does not follow are not
    assets of the live plant)."""
    common = {"plant": plant.name, "plant_file": Path(plant.origin).name}
    out = [
        _asset(f"unit:{u.name}", "unit", f"Coal unit {u.name}", None, {"type": "coal_unit", **common}, u, "coal_unit")
        for u in plant.coal_units
    ]
    if plant.renewables["capacity_MW"] > 0:
        out.append(_asset(f"unit:{RENEWABLES}", "unit", "Renewables", None, {"type": RENEWABLES, **common},
                          plant.renewables, "renewables"))
    out.append(_asset(TIE_ID, "grid", "Grid tie", None, {"type": "grid_tie", **common}, plant.grid, "grid"))
    for n, line in enumerate(plant.potlines, 1):
        if str(n) not in live_potlines:
            continue
        for k in range(1, int(line["rectifier_units"]) + 1):
            meta = {"type": "rectifier_unit", "unit_number": k, "plant_potline": line.name, **common}
            asset = _asset(f"rectifier:{n}-R{k}", "rectifier", f"Rectifier unit R{k} of potline {n}",
                           f"potline:{n}", meta, line, "potline", RECTIFIER_FIELDS)
            asset["live_reason"] = (
                f"the live twin has no rectifier model: telemetry carries potline {n}'s line current and cell "
                f"voltages, not per-rectifier values (see potline:{n}: kpi:potline:{n}/line_current_kA, "
                f"live:potline:{n}/power_MW)"
            )
            out.append(asset)
    return out


def with_live(assets: Sequence[Mapping[str, Any]], plant: PlantSpec, d: Dispatch, time: datetime) -> list[dict]:
    """``assets`` with the live values of dispatch ``d`` (for the load measured at ``time``) filled in."""
    at = time.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def value(v: float, unit: str, tag: str | None) -> dict[str, Any]:
        return {"value": float(v), "unit": unit, "time": at, "source": SOURCE, "tag": tag}

    live: dict[str, dict[str, Any]] = {
        f"unit:{u.name}": {"power_MW": value(p, "MW", f"live:unit:{u.name}/power_MW")}
        for u, p in zip(plant.coal_units, d.coal_MW, strict=True)
    }
    live[f"unit:{RENEWABLES}"] = {"power_MW": value(d.renewables_MW, "MW", f"live:unit:{RENEWABLES}/power_MW"),
                                  "curtailed_MW": value(d.curtailed_MW, "MW", None)}
    live[TIE_ID] = {"import_MW": value(d.import_MW, "MW", None), "export_MW": value(d.export_MW, "MW", None)}
    out = []
    for asset in assets:
        values = live.get(asset["id"])
        if values is None:
            out.append(dict(asset))
        else:
            out.append({**asset, "live": values, "live_reason": None})
    return out


def _asset(asset_id: str, kind: str, name: str, parent: str | None, meta: dict[str, Any], component: Component,
           section: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
    schema = plant_schema()
    keys = fields if fields is not None else list(component.values)
    attributes = {
        key: {"value": _plain(component.values[key]), "unit": schema[f"{section}.{key}"].unit,
              "description": schema[f"{section}.{key}"].description, "source": component.sources.get(key, "")}
        for key in keys
    }
    return {"id": asset_id, "kind": kind, "name": name, "parent": parent,
            "metadata": {**meta, "attributes": attributes}, "live": None, "live_reason": NOT_YET}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple | list) else value
