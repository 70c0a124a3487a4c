"""Plan a horizon: identify the reduced models, build the window, solve the MILP, build the merit-order
baseline on the same inputs and price both with the same evaluator; a rolling horizon for longer spans.

Rolling horizon: windows of ``horizon_h`` solved every ``commit_h``; the first ``commit_h`` of each is kept
and its end state (units' outputs and commitment with time in state, line currents, the reduced ledge and
bath-temperature states, production still owed) is the next window's boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from twin.errors import ModelError
from twin.optimise.baseline import merit_order
from twin.optimise.costs import Costs, Tier, evaluate, tier_from
from twin.optimise.identify import identify
from twin.optimise.inputs import Inputs
from twin.optimise.milp import InfeasibleError, Schedule, solve
from twin.optimise.problem import Boundary, Window, initial_boundary, line_data, unit_data, window
from twin.optimise.reduced import ReducedLine


@dataclass(frozen=True)
class Plan:
    """An optimised schedule and its merit-order baseline over the same span, with their costs."""

    schedule: Schedule
    baseline: Schedule
    costs: Costs
    baseline_costs: Costs
    solve_s: tuple[float, ...]  # one per window solved
    windows: int
    tier: Tier  # the tiered surcharge as linearised for the first window (used to price replays)


def reduced_models(inputs: Inputs, dt_h: float) -> dict[str, ReducedLine]:
    """The identified reduced model of every potline (cached per technology and range)."""
    out = {}
    for spec, disp in zip(inputs.plant.potlines, inputs.dispatch.potlines, strict=True):
        nominal = spec.technology.number("cell.line_current_nominal_kA")
        rng = (disp["current_min_fraction"] * nominal, disp["current_max_fraction"] * nominal)
        out[spec.name] = identify(spec.technology, duty_capacity_kW=spec["heat_exchanger_capacity_kW"],
                                  current_range_kA=rng, dt_h=dt_h)
    return out


def evaluate_schedule(w: Window, s: Schedule) -> Costs:
    production = sum(line.metal_t(s.current_kA[n], w.dt_h) for n, line in enumerate(w.lines))
    return evaluate(units=[_unit_component(u) for u in w.units], curves=[u.curve for u in w.units],
                    coal_MW=s.coal_MW, startups=s.startups, startup_costs=[u.startup_cost for u in w.units],
                    import_MW=s.import_MW, export_MW=s.export_MW, renewables_MW=s.renewables_MW,
                    demand_MW=s.demand_MW, production_t=production, tariff_per_MWh=w.tariff_per_MWh,
                    export_fraction=w.export_fraction, co2_price=w.co2_price, tier=w.tier, dt_h=w.dt_h)


def _unit_component(u: object) -> dict[str, float]:
    return {"fuel_price_per_GJ": u.fuel_price, "co2_t_per_TJ": u.co2_t_per_GJ * 1000.0}  # type: ignore[attr-defined]


def _tier(inputs: Inputs, w: Window) -> Tier:
    base = merit_order(w, inputs.plant)
    production = sum(line.metal_t(base.current_kA[n], w.dt_h) for n, line in enumerate(w.lines))
    energy = float(np.sum(base.demand_MW) * w.dt_h)
    share = 1.0 if inputs.dispatch.tariff["tier_applies_to_captive"] else float(
        np.sum(base.import_MW) * w.dt_h / max(energy, 1e-9))
    return tier_from(inputs.dispatch.tariff, energy / max(production, 1e-12), share)


def check_window(horizon_h: float, step_min: float, *, prefix: str = "") -> None:
    """The optimisation window's limits: a step that divides the hour, in [1, 60] min, and a horizon of at least one
    step and at most two weeks. ``prefix`` names the options as the caller's user wrote them (``--``)."""
    if not 1.0 <= step_min <= 60.0 or abs(60.0 / step_min - round(60.0 / step_min)) > 1e-9:
        name = f"{prefix}step-min" if prefix else "step_min"
        raise ModelError(f"{name} = {step_min!r} is invalid; expected a divisor of 60 minutes in [1, 60]")
    if not step_min / 60.0 <= horizon_h <= 24 * 14:
        name = f"{prefix}horizon-h" if prefix else "horizon_h"
        raise ModelError(f"{name} = {horizon_h!r} is invalid; expected hours in [{step_min / 60.0:g}, 336]")


def plan(inputs: Inputs, *, horizon_h: float = 48.0, step_min: float = 15.0, total_h: float | None = None,
         commit_h: float = 24.0, models: dict[str, ReducedLine] | None = None,
         margins: dict[str, dict[str, float]] | None = None) -> Plan:
    """Optimise ``total_h`` (default: one window of ``horizon_h``) in windows of ``horizon_h``.

    Raises :class:`~twin.optimise.milp.InfeasibleError` when a window has no schedule within its limits.
    """
    check_window(horizon_h, step_min)
    dt_h = step_min / 60.0
    total_h = horizon_h if total_h is None else total_h
    models = models or reduced_models(inputs, dt_h)
    lines = line_data(inputs, models, dt_h, margins)
    units = unit_data(inputs, dt_h)
    boundary = initial_boundary(inputs, lines, units, dt_h)
    steps_total = round(total_h / dt_h)
    horizon = round(horizon_h / dt_h)
    commit = steps_total if steps_total <= horizon else round(min(commit_h, horizon_h) / dt_h)
    pieces, base_pieces, windows, times = [], [], [], []
    base_boundary = boundary
    start = 0
    while start < steps_total:
        steps = min(horizon, steps_total - start)  # the last windows shrink to the span's end
        keep = min(commit, steps_total - start)
        w0 = window(inputs, lines, units, Tier(0.0, 0.0), boundary, start * dt_h, steps, dt_h)
        w = replace(w0, tier=_tier(inputs, w0))
        sched = solve(w, mip_rel_gap=inputs.dispatch.solver["mip_rel_gap"],
                      time_limit_s=inputs.dispatch.solver["time_limit_s"])
        wb = replace(w, boundary=base_boundary)
        base = merit_order(wb, inputs.plant)
        times.append(sched.solve_s)
        pieces.append((w, _cut(sched, keep)))
        base_pieces.append((wb, _cut(base, keep)))
        windows.append(w)
        boundary = _carry(sched, keep, boundary, w)
        base_boundary = _carry(base, keep, base_boundary, wb)
        start += keep
    schedule, baseline = _join([p[1] for p in pieces]), _join([p[1] for p in base_pieces])
    full = window(inputs, lines, units, windows[0].tier, initial_boundary(inputs, lines, units, dt_h), 0.0,
                  steps_total, dt_h)
    return Plan(schedule, baseline, evaluate_schedule(full, schedule), evaluate_schedule(full, baseline),
                tuple(times), len(windows), windows[0].tier)


def _carry(s: Schedule, keep: int, previous: Boundary, w: Window) -> Boundary:
    b = s.boundary_after(keep, previous)
    owed = []
    for n, line in enumerate(w.lines):
        target = line.production_fraction * line.model.I_nom_kA * keep * w.dt_h
        # negative: produced ahead of the target, credited to the next window
        owed.append(previous.owed_kAh[n] + target - float(np.sum(s.current_kA[n, :keep]) * w.dt_h))
    return replace(b, owed_kAh=tuple(owed))


def _cut(s: Schedule, keep: int) -> Schedule:
    def c(a: np.ndarray) -> np.ndarray:
        return a[..., :keep]

    return replace(s, coal_MW=c(s.coal_MW), on=c(s.on), startups=c(s.startups), import_MW=c(s.import_MW),
                   export_MW=c(s.export_MW), renewables_MW=c(s.renewables_MW), demand_MW=c(s.demand_MW),
                   current_kA=c(s.current_kA), duty_kW=c(s.duty_kW), ledge_cm=c(s.ledge_cm), temp_degC=c(s.temp_degC),
                   superheat_K=c(s.superheat_K), x=c(s.x), z=c(s.z))


def _join(parts: list[Schedule]) -> Schedule:
    if len(parts) == 1:
        return parts[0]
    cat = np.concatenate
    first = parts[0]
    fields = ("coal_MW", "on", "startups", "import_MW", "export_MW", "renewables_MW", "demand_MW", "current_kA",
              "duty_kW", "ledge_cm", "temp_degC", "superheat_K", "x", "z")
    joined = {f: cat([getattr(p, f) for p in parts], axis=-1) for f in fields}
    return replace(first, **joined, objective=float(sum(p.objective for p in parts)),
                   solve_s=float(sum(p.solve_s for p in parts)))


__all__ = ["InfeasibleError", "Plan", "plan", "reduced_models"]
