"""The optimiser's answer as plain data (JSON-ready): schedule, replay, baseline, rounds, identification."""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.optimise.inputs import Inputs
from twin.optimise.loop import Outcome
from twin.optimise.milp import Schedule
from twin.optimise.replay import Replay


def _r(x: float, digits: int = 4) -> float:
    return float(round(float(x), digits))


def schedule_dict(s: Schedule, inputs: Inputs) -> dict[str, Any]:
    return {
        "dt_h": s.dt_h,
        "time_h": [_r(s.start_h + k * s.dt_h) for k in range(s.steps)],
        "status": s.status,
        "demand_MW": [_r(v, 3) for v in s.demand_MW],
        "import_MW": [_r(v, 3) for v in s.import_MW],
        "export_MW": [_r(v, 3) for v in s.export_MW],
        "renewables_MW": [_r(v, 3) for v in s.renewables_MW],
        "coal_MW": {u.name: [_r(v, 3) for v in s.coal_MW[g]] for g, u in enumerate(inputs.plant.coal_units)},
        "coal_on": {u.name: [int(v) for v in s.on[g]] for g, u in enumerate(inputs.plant.coal_units)},
        "line_current_kA": {p.name: [_r(v, 3) for v in s.current_kA[n]] for n, p in enumerate(inputs.plant.potlines)},
        "exchanger_duty_kW": {p.name: [_r(v, 2) for v in s.duty_kW[n]] for n, p in enumerate(inputs.plant.potlines)},
        "predicted_ledge_cm": {p.name: [_r(v, 3) for v in s.ledge_cm[n]] for n, p in enumerate(inputs.plant.potlines)},
        "predicted_superheat_K": {p.name: [_r(v, 3) for v in s.superheat_K[n]]
                                  for n, p in enumerate(inputs.plant.potlines)},
    }


def replay_dict(run: Replay, carbon: dict[str, Any]) -> dict[str, Any]:
    c = run.costs
    return {
        "cost": _r(c.total, 2),
        "cost_breakdown": {k: _r(v, 3) for k, v in c.as_dict().items()},
        "production_t": _r(run.production_t, 3),
        "kWh_per_t": _r(c.kWh_per_t, 1),
        "co2e_t_per_t": _r(carbon.get("co2e_t_per_t", float("nan")), 4),
        "carbon": carbon,
        "thermal_margins": {line: {k: _r(v, 3) for k, v in m.items()} for line, m in run.margins.items()},
        "min_mean_superheat_K": {line: _r(float(np.min(run.superheat_mean_K[n])), 3)
                                 for n, line in enumerate(run.margins)},
        "ae_per_cell_day": [_r(v, 4) for v in run.ae_per_cell_day],
        "violations": [v.as_dict() for v in run.violations],
        "shortfall_MWh": _r(run.shortfall_MWh, 3),
        "replay_s": _r(run.run_s, 3),
    }


def model_vs_twin(s: Schedule, run: Replay, base: Replay, sh0: list[float], names: list[str]
                  ) -> dict[str, dict[str, float]]:
    """How far the reduced model's prediction along the schedule was from what the twin did, per line: the
    identification error measured again on the schedule actually shown. As in the identification, the twin's
    effect of the schedule is its replay minus the merit-order replay on the same seed (which removes the
    plant's own drift, operations and noise), against the model's deviation from its operating point."""
    out = {}
    n = min(s.steps, run.ledge_mean_cm.shape[1], base.ledge_mean_cm.shape[1])
    for k, name in enumerate(names):
        pairs = {"ledge_cm": (s.x[k, :n], run.ledge_mean_cm[k, :n] - base.ledge_mean_cm[k, :n]),
                 "temp_degC": (s.z[k, :n], run.temp_mean_degC[k, :n] - base.temp_mean_degC[k, :n]),
                 "superheat_K": (s.superheat_K[k, :n] - sh0[k],
                                 run.superheat_mean_K[k, :n] - base.superheat_mean_K[k, :n])}
        out[name] = {}
        for key, (pred, true) in pairs.items():
            out[name][f"{key}_rmse"] = _r(float(np.sqrt(np.mean((pred - true) ** 2))), 4)
            out[name][f"{key}_max"] = _r(float(np.max(np.abs(pred - true))), 4)
            out[name][f"{key}_range"] = _r(float(np.ptp(true)), 4)
    return out


def outcome_dict(o: Outcome, inputs: Inputs) -> dict[str, Any]:
    """Everything the command line's ``--json`` and ``POST /v1/schedules`` return."""
    messages = {
        "ok": "the schedule holds in the twin",
        "infeasible": "the optimiser cannot: no schedule meets the limits (after the bounds the twin asked for); "
                      "the merit-order baseline is shown",
        "time_limit": "the optimiser found no schedule within its time limit (solver.time_limit_s); "
                      "the merit-order baseline is shown",
        "replay_failed": f"the optimiser cannot: the twin rejected every schedule in {len(o.rounds)} rounds; "
                         "the merit-order baseline is shown",
    }
    out: dict[str, Any] = {
        "status": o.status,
        "message": messages.get(o.status, o.status),
        "plant": inputs.plant.name,
        "dispatch": inputs.dispatch.name,
        "rounds": [{"margins": r.margins, "status": r.status, "replay_cost": _r(r.cost, 2),
                    "solve_s": [_r(t, 3) for t in r.solve_s], "replay_s": _r(r.replay_s, 3),
                    "violations": [v.as_dict() for v in r.violations]} for r in o.rounds],
        "identification": {name: {**{k: (v if isinstance(v, str) else _r(v, 6)) for k, v in m.__dict__.items()
                                     if k != "errors"},
                                  "held_out_error": {e: {k: _r(v, 4) for k, v in d.items()}
                                                     for e, d in m.errors.items()}}
                           for name, m in o.models.items()},
        "baseline": {"model_cost": _r(o.baseline_plan.baseline_costs.total, 2),
                     "replay": replay_dict(o.baseline_replay, o.baseline_carbon),
                     "schedule": schedule_dict(o.baseline_plan.baseline, inputs)},
    }
    if o.plan is not None and o.replay is not None:
        out["optimised"] = {"model_cost": _r(o.plan.costs.total, 2),
                            "model_cost_breakdown": {k: _r(v, 3) for k, v in o.plan.costs.as_dict().items()},
                            "solve_s": [_r(t, 3) for t in o.plan.solve_s], "windows": o.plan.windows,
                            "replay": replay_dict(o.replay, o.carbon),
                            "model_vs_twin": model_vs_twin(
                                o.plan.schedule, o.replay, o.baseline_replay,
                                [o.models[p.name].sh0_K for p in inputs.plant.potlines],
                                [p.name for p in inputs.plant.potlines]),
                            "schedule": schedule_dict(o.plan.schedule, inputs)}
        base = o.baseline_replay.costs.total
        # the twin has the last word: a schedule that holds but costs more in the replay than the merit order
        # (the reduced power model's error times the tiered price can do that) is not recommended
        out["recommended"] = "optimised" if o.replay.costs.total <= base else "baseline"
        out["saving"] = {"replay_cost": _r(base - o.replay.costs.total, 2),
                         "replay_cost_pct": _r(100 * (base - o.replay.costs.total) / base, 3),
                         "model_cost": _r(o.plan.baseline_costs.total - o.plan.costs.total, 2)}
    return out


def summary_lines(d: dict[str, Any]) -> list[str]:
    """A short table for the terminal."""
    lines = [f"status: {d['status']}  plant: {d['plant']}  rounds: {len(d['rounds'])}  "
             f"recommended: {d.get('recommended', 'baseline')}", d["message"]]
    rows = [("baseline (merit order)", d["baseline"]["replay"])]
    if "optimised" in d:
        rows.insert(0, ("optimised", d["optimised"]["replay"]))
    lines.append(f"{'schedule':24s} {'cost USD':>14s} {'Al t':>10s} {'kWh/t':>9s} {'CO2e t/t':>9s}  min margins")
    for name, r in rows:
        margins = "; ".join(f"{line}: " + ", ".join(f"{k} {v:+.2f}" for k, v in m.items())
                            for line, m in r["thermal_margins"].items())
        lines.append(f"{name:24s} {r['cost']:14,.0f} {r['production_t']:10.2f} {r['kWh_per_t']:9.0f} "
                     f"{r['co2e_t_per_t']:9.3f}  {margins}")
    if "saving" in d:
        saving = d["saving"]
        lines.append(f"saving in the replay: {saving['replay_cost']:,.0f} USD ({saving['replay_cost_pct']:.2f} %)")
    return lines
