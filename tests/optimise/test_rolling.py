"""Rolling horizon: windows solved in turn, each starting from the state the previous one committed."""

from __future__ import annotations

import json

import numpy as np

from twin.cli import main
from twin.optimise.plan import plan, reduced_models

from .conftest import MODELS


def test_rolling_horizon_carries_the_boundary(small_inputs):
    models = reduced_models(small_inputs, 1.0)
    p = plan(small_inputs, horizon_h=24.0, step_min=60.0, total_h=72.0, commit_h=12.0, models=models)
    s = p.schedule
    assert p.windows == 6
    assert s.steps == 72
    model = models["S1"]
    disp = small_inputs.dispatch.potlines[0]
    # the reduced states run on across the joins: the stitched schedule's states are one open-loop recursion
    sim = model.simulate(s.current_kA[0], s.duty_kW[0])
    np.testing.assert_allclose(s.x[0], sim["x"], atol=1e-6)
    # the current ramp holds across the joins too
    steps = np.abs(np.diff(np.concatenate([[model.I_nom_kA], s.current_kA[0]])))
    assert steps.max() <= disp["ramp_fraction_per_h"] * model.I_nom_kA + 1e-6
    # production over the whole span: what each window owed is made up later
    assert s.current_kA[0].sum() >= disp["production_fraction"] * model.I_nom_kA * 72 - 1e-6
    # minimum up and down times across the joins
    up = int(small_inputs.dispatch.coal_units[0]["min_up_h"])
    down = int(small_inputs.dispatch.coal_units[0]["min_down_h"])
    on = s.on[0]
    for k in np.flatnonzero(np.diff(on) == 1) + 1:
        assert np.all(on[k:k + up] == 1)
    for k in np.flatnonzero(np.diff(on) == -1) + 1:
        assert np.all(on[k:k + down] == 0)
    assert p.costs.total <= p.baseline_costs.total * (1 + 1e-3)


def test_cli_json(capsys):
    code = main(["optimise", str(MODELS / "plant_small.toml"), "--horizon-h", "12", "--step-min", "60", "--json"])
    out = capsys.readouterr().out
    d = json.loads(out)
    assert code == 0
    assert d["status"] == "ok"
    assert len(d["optimised"]["schedule"]["line_current_kA"]["S1"]) == 12
    assert d["identification"]["S1"]["held_out_error"]["random_steps"]["ledge_cm_rmse"] >= 0
    assert d["optimised"]["replay"]["violations"] == []


def test_cli_says_when_the_optimiser_cannot(tmp_path, capsys):
    """More metal than the current band can make: no schedule; the answer says so and shows the baseline."""
    text = (MODELS / "dispatch_small.toml").read_text().replace("production_fraction = { value = 1.0",
                                                                "production_fraction = { value = 1.1")
    path = tmp_path / "d.toml"
    path.write_text(text)
    code = main(["optimise", str(MODELS / "plant_small.toml"), "--dispatch", str(path), "--horizon-h", "12",
                 "--step-min", "60", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 1
    assert d["status"] == "infeasible"
    assert d["message"].startswith("the optimiser cannot")
    assert "optimised" not in d
    assert d["baseline"]["replay"]["production_t"] > 0
