"""Dispatch co-optimiser speed (issue 10): the reference plant (3 x 350 MW coal, 2 x 352-cell potlines, the grid
tie and solar) over 48 h at 15 min in one window, and over a week on a rolling horizon (48 h windows, 24 h kept);
the twin replay's time; each with the cost against the merit-order heuristic on the same inputs in the same run.

Figures go to ``benchmark.extra_info`` and benchmarks/README.md; nothing here asserts a time.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from twin.optimise.inputs import load_inputs
from twin.optimise.plan import plan, reduced_models
from twin.optimise.problem import line_data, unit_data
from twin.optimise.replay import replay

ROOT = Path(__file__).resolve().parents[1]
STEP_MIN = 15.0


@pytest.fixture(scope="module")
def reference():
    inputs = load_inputs(ROOT / "models/plant_reference.toml")
    start = time.perf_counter()
    models = reduced_models(inputs, STEP_MIN / 60.0)
    return inputs, models, time.perf_counter() - start


@pytest.fixture(scope="module")
def plan_48h(reference):
    """The 48 h plan the replays run (solved once: each solve takes 10-25 s)."""
    inputs, models, _ = reference
    return plan(inputs, horizon_h=48.0, step_min=STEP_MIN, models=models)


def _costs(p):
    return {"cost": p.costs.total, "baseline_cost": p.baseline_costs.total,
            "saving_pct": 100.0 * (p.baseline_costs.total - p.costs.total) / p.baseline_costs.total,
            "solve_s": list(p.solve_s), "status": p.schedule.status}


@pytest.mark.benchmark(group="optimise")
def test_48h_one_window(benchmark, reference, plan_48h):
    """One 48 h window, timed; as a smoke test (``--benchmark-disable``) the module's solve of the same window."""
    inputs, models, identify_s = reference
    solve = (lambda: plan_48h) if benchmark.disabled else (
        lambda: plan(inputs, horizon_h=48.0, step_min=STEP_MIN, models=models))
    p = benchmark.pedantic(solve, rounds=1, iterations=1, warmup_rounds=0)
    assert p.schedule.steps == 192
    assert p.costs.total <= p.baseline_costs.total * 1.002  # within the MIP gap of the baseline or better
    benchmark.extra_info.update({"units": 3, "potlines": 2, "steps": 192, "identify_s": identify_s, **_costs(p)})


@pytest.mark.benchmark(group="optimise")
def test_week_rolling(benchmark, reference):
    """A week in 48 h windows, 24 h kept; as a smoke test (``--benchmark-disable``, the suite) a day and a half in
    24 h windows, 12 h kept, solved to a 5 % gap instead of the dispatch file's 0.2 %: two windows and their
    hand-over, the code path and not the schedule's quality (three days in 48 h windows to 0.2 % took 52 s of the
    suite on a Zen 3 VM; tests/optimise/test_rolling.py checks the rolling itself)."""
    inputs, models, _ = reference
    horizon_h, commit_h, total_h = (24.0, 12.0, 36.0) if benchmark.disabled else (48.0, 24.0, 168.0)
    if benchmark.disabled:
        solver = inputs.dispatch.solver
        loose = replace(solver, values={**solver.values, "mip_rel_gap": 0.05})
        inputs = replace(inputs, dispatch=replace(inputs.dispatch, solver=loose))
    p = benchmark.pedantic(lambda: plan(inputs, horizon_h=horizon_h, step_min=STEP_MIN, total_h=total_h,
                                        commit_h=commit_h, models=models), rounds=1, iterations=1, warmup_rounds=0)
    assert p.schedule.steps == round(total_h * 60 / STEP_MIN)
    benchmark.extra_info.update({"windows": p.windows, **_costs(p)})


@pytest.mark.benchmark(group="optimise")
@pytest.mark.parametrize("cells", [4, 352])
def test_replay_48h(benchmark, reference, plan_48h, cells):
    """The twin replay of the 48 h schedule: both potlines with 4 cells each (scaled to 352) or all 352, potroom
    loops and routine operations on, 1 s steps; and the merit-order baseline's replay for its cost."""
    inputs, models, _ = reference
    p = plan_48h
    lines, units = line_data(inputs, models, STEP_MIN / 60.0), unit_data(inputs, STEP_MIN / 60.0)
    run = benchmark.pedantic(lambda: replay(inputs, p.schedule, lines, units, p.tier, cells=cells), rounds=1,
                             iterations=1, warmup_rounds=0)
    base = replay(inputs, p.baseline, lines, units, p.tier, cells=cells, impose_duty=False)
    assert run.production_t > 0
    benchmark.extra_info.update({
        "replay_s": run.run_s, "cells_per_line": cells, "violations": len(run.violations),
        "replay_cost": run.costs.total, "baseline_replay_cost": base.costs.total,
        "replay_saving_pct": 100.0 * (base.costs.total - run.costs.total) / base.costs.total,
    })
