"""Optimise, replay in the twin, tighten and re-solve until the replay holds or the optimiser cannot.

Each round: :func:`twin.optimise.plan.plan` solves with the current margins; the schedule is replayed
(:mod:`twin.optimise.replay`); every limit the twin crossed tightens that line's bounds and the MILP is solved
again: the margin on the reduced model's matching bound grows by the amount the twin crossed it plus a step
(superheat and AE rate: the superheat margin; ledge: the ledge margin; bath temperature: its margin), and the
line current's band is halved toward nominal on the side that caused it (too cold, too thick a ledge: the
lower bound rises; too hot, too thin a ledge: the upper bound falls; AE rate: both), and so is the exchanger
duty's band toward the design duty (too thin a ledge or too hot a bath: the floor rises; too thick a ledge or
too cold a bath: the ceiling falls). The band matters when
the reduced model is wrong in its gains rather than its offset: a model that thinks the cells barely respond
is not held back by a margin alone. The answer is the first
schedule whose replay holds; if none does within ``max_replays`` rounds, or the tightened MILP has no
schedule, the answer says so and shows the merit-order baseline. The baseline is replayed once, on the
same plant, seed and inputs, first: its anode-effect rate is the floor of the AE check (with a few cells a
random feeder blockage can lift the rate above the limit; it is a violation only if the schedule also does
worse than the merit order on the same seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from twin.optimise.carbon import carbon_report
from twin.optimise.inputs import Inputs
from twin.optimise.milp import InfeasibleError
from twin.optimise.plan import Plan, plan
from twin.optimise.problem import initial_boundary, line_data, unit_data, window
from twin.optimise.reduced import ReducedLine
from twin.optimise.replay import Replay, Violation, replay

STEP = {"superheat": 0.5, "ae_rate": 1.0, "ledge_min": 0.25, "ledge_max": 0.25, "bath_temp": 2.0}
BAND = {"superheat": ("min",), "ledge_max": ("min",), "ledge_min": ("max",), "bath_temp": ("max",),
        "ae_rate": ("min", "max")}
# exchanger duty: more duty freezes ledge and cools the bath; the side of its band that caused the crossing
DUTY_BAND = {"superheat": "max", "ledge_max": "max", "ledge_min": "min", "bath_temp": "min"}
MARGIN = {"superheat": "superheat_margin_K", "ae_rate": "superheat_margin_K", "ledge_min": "ledge_margin_cm",
          "ledge_max": "ledge_margin_cm", "bath_temp": "temp_margin_K"}


@dataclass
class Round:
    """One solve-and-replay round."""

    margins: dict[str, dict[str, float]]
    violations: tuple[Violation, ...] = ()
    status: str = "ok"
    cost: float = float("nan")
    replay_s: float = 0.0
    solve_s: tuple[float, ...] = ()


@dataclass
class Outcome:
    """The answer: the accepted plan and its replay (or none), the baseline's replay, every round."""

    status: str  # "ok", "infeasible" (the MILP has no schedule), "time_limit" (none found in time),
    # "replay_failed" (rounds exhausted)
    plan: Plan | None
    replay: Replay | None
    baseline_plan: Plan
    baseline_replay: Replay
    rounds: list[Round] = field(default_factory=list)
    models: dict[str, ReducedLine] = field(default_factory=dict)
    carbon: dict[str, Any] = field(default_factory=dict)
    baseline_carbon: dict[str, Any] = field(default_factory=dict)


def tightened(margins: dict[str, dict[str, float]], violations: tuple[Violation, ...], inputs: Inputs
              ) -> dict[str, dict[str, float]]:
    """New margins after the replay crossed ``violations`` (module docstring)."""
    out = {name: dict(values) for name, values in margins.items()}
    defaults = {d.name: d for d in inputs.dispatch.potlines}
    done: set[tuple[str, str]] = set()
    for v in violations:
        key = MARGIN[v.limit]
        dkey = "bath_temp_margin_K" if key == "temp_margin_K" else key
        line = out.setdefault(v.line, {})
        current = line.get(key, defaults[v.line][dkey])
        excess = 0.0 if v.limit == "ae_rate" else abs(v.value - v.bound)
        line[key] = current + excess + STEP[v.limit]
        for side in BAND[v.limit]:
            if (v.line, side) in done:
                continue
            done.add((v.line, side))
            name = f"current_{side}_fraction"
            line[name] = 1.0 + 0.5 * (line.get(name, defaults[v.line][name]) - 1.0)
        side = DUTY_BAND.get(v.limit)
        if side is not None and (v.line, f"duty_{side}") not in done:
            done.add((v.line, f"duty_{side}"))
            line[f"duty_{side}_step"] = line.get(f"duty_{side}_step", 0) + 1  # halve toward the design duty
    return out


def optimise(inputs: Inputs, *, horizon_h: float = 48.0, step_min: float = 15.0, total_h: float | None = None,
             commit_h: float = 24.0, replay_cells: int = 4, seed: int = 1,
             models: dict[str, ReducedLine] | None = None, max_rounds: int | None = None) -> Outcome:
    """Solve, replay and tighten (module docstring)."""
    from twin.optimise.plan import check_window, reduced_models

    check_window(horizon_h, step_min)  # before the reduced models, whose size the step sets
    dt_h = step_min / 60.0
    models = models or reduced_models(inputs, dt_h)
    rounds_max = max_rounds or int(inputs.dispatch.solver["max_replays"])
    margins: dict[str, dict[str, float]] = {}
    rounds: list[Round] = []
    accepted: tuple[Plan, Replay] | None = None
    status = "replay_failed"
    first_plan: Plan | None = None
    base_run: Replay | None = None
    for _ in range(rounds_max):
        record = Round(margins={k: dict(v) for k, v in margins.items()})
        rounds.append(record)
        try:
            p = plan(inputs, horizon_h=horizon_h, step_min=step_min, total_h=total_h, commit_h=commit_h,
                     models=models, margins=margins)
        except InfeasibleError as exc:
            record.status = f"no schedule ({exc})"
            status = "time_limit" if "time" in str(exc) else "infeasible"
            break
        if first_plan is None:
            first_plan = p
            base_run = _baseline_replay(inputs, models, dt_h, p, replay_cells, seed)
        lines, units, tier = _context(inputs, models, dt_h, margins, p)
        run = replay(inputs, p.schedule, lines, units, tier, cells=replay_cells, seed=seed,
                     ae_floor=base_run.ae_per_cell_day)
        record.violations, record.cost, record.replay_s, record.solve_s = (run.violations, run.costs.total,
                                                                            run.run_s, p.solve_s)
        if not run.violations:
            accepted, status = (p, run), "ok"
            break
        record.status = "rejected by the twin"
        margins = tightened(margins, run.violations, inputs)
    base_plan = first_plan or plan_baseline_only(inputs, models, horizon_h, step_min, total_h, commit_h)
    if base_run is None:
        base_run = _baseline_replay(inputs, models, dt_h, base_plan, replay_cells, seed)
    out = Outcome(status, accepted[0] if accepted else None, accepted[1] if accepted else None, base_plan, base_run,
                  rounds, dict(models))
    out.baseline_carbon = carbon_report(inputs, base_run)
    if accepted:
        out.carbon = carbon_report(inputs, accepted[1])
    return out


def _baseline_replay(inputs: Inputs, models: dict[str, ReducedLine], dt_h: float, p: Plan, cells: int, seed: int
                     ) -> Replay:
    """The merit-order schedule in the twin (same plant, seed and inputs; the plant's own exchanger control)."""
    lines, units, tier = _context(inputs, models, dt_h, {}, p)
    return replay(inputs, p.baseline, lines, units, tier, cells=cells, seed=seed, impose_duty=False)


def _context(inputs: Inputs, models: dict[str, ReducedLine], dt_h: float, margins: dict[str, dict[str, float]],
             p: Plan) -> tuple[Any, Any, Any]:
    lines = line_data(inputs, models, dt_h, margins)
    units = unit_data(inputs, dt_h)
    tier = p.tier
    return lines, units, tier


def plan_baseline_only(inputs: Inputs, models: dict[str, ReducedLine], horizon_h: float, step_min: float,
                       total_h: float | None, commit_h: float) -> Plan:
    """A plan holding only the merit-order baseline (when the MILP has no schedule)."""
    from twin.optimise.baseline import merit_order
    from twin.optimise.plan import _tier, evaluate_schedule

    dt_h = step_min / 60.0
    lines = line_data(inputs, models, dt_h)
    units = unit_data(inputs, dt_h)
    steps = round((total_h or horizon_h) / dt_h)
    from twin.optimise.costs import Tier

    w0 = window(inputs, lines, units, Tier(0.0, 0.0), initial_boundary(inputs, lines, units, dt_h), 0.0, steps, dt_h)
    w = replace(w0, tier=_tier(inputs, w0))
    base = merit_order(w, inputs.plant)
    costs = evaluate_schedule(w, base)
    return Plan(base, base, costs, costs, (), 0, w.tier)
