"""The scenario's own events as a run records them: kind, window and target, for reports and comparisons.

A run writes this list into its results' ``meta["scenario_events"]`` (``kpis.json``), so a report shades
the windows the scenario set, not windows guessed from the series. Each record::

    {"kind": "unit_trip", "start_h": 2.0, "end_h": 10.0, "target": "G3", "detail": "duration 8 h"}

The window of each kind (times in hours from the start of the run, clipped to the horizon):

* events with ``duration_h`` (outage, curtailment, unit/rectifier/tie trip, reserve call, alumina shortfall
  or quality, cell cut-out): ``[at_h, at_h + duration_h]``, the span the change is applied (a curtailment's
  current ramp back and an outage's restart treatment come after ``end_h``);
* ``amperage_creep``: ``[at_h, until_h]`` (the horizon when the creep has no end);
* ``frequency_response``: ``[at_h, at_h + last profile time]``;
* ``schedule``: ``[at_h, at_h + last row time]`` (the last row holds after that);
* step changes (``line_current``, ``feed_strategy``, ``resistance_target``): ``start_h == end_h``.

An event set to start at or after the horizon never ran and is not recorded.
"""

from __future__ import annotations

from typing import Any

from twin.scenario.spec import Scenario

HOUR_S = 3600.0
STEP_KINDS = frozenset({"line_current", "feed_strategy", "resistance_target"})


def scenario_events(scenario: Scenario) -> list[dict[str, Any]]:
    """The windows of ``scenario``'s events that start inside its horizon, in the scenario's order (by start)."""
    out = []
    for event in scenario.events:
        if event.at_h >= scenario.horizon_h:
            continue
        rest_h = scenario.horizon_h - event.at_h
        end_h = event.at_h + min(_length_h(event.kind, event.fields, event.at_h, rest_h), rest_h)
        out.append({"kind": event.kind, "start_h": event.at_h, "end_h": end_h,
                    "target": _target(event.fields), "detail": _detail(event.fields)})
    return out


def _length_h(kind: str, fields: Any, at_h: float, rest_h: float) -> float:
    if kind in STEP_KINDS:
        return 0.0
    if "duration_h" in fields:
        return float(fields["duration_h"])
    if kind == "amperage_creep":  # until_h is a time of the run, not a length
        return max(float(fields["until_h"]) - at_h, 0.0) if "until_h" in fields else rest_h
    if kind == "frequency_response":
        return float(fields["points"][-1][0]) / HOUR_S
    if kind == "schedule":
        return float(fields["steps"].times_h[-1])
    return 0.0


def _target(fields: Any) -> str:
    for key in ("unit", "potline"):
        if key in fields:
            return str(fields[key])
    return "plant"


def _detail(fields: Any) -> str:
    """The event's main settings in a few words (the window and target are recorded apart)."""
    parts = []
    for key in ("value_kA", "fraction", "units", "rate_kA_per_week", "strategy", "voltage_V", "delta_mV",
                "dissolution_factor"):
        if key in fields:
            value = fields[key]
            parts.append(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}")
    return ", ".join(parts)
