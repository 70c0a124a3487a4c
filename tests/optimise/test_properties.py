"""Properties of the optimiser's schedules on random small plants (built from the small test plant with its
values drawn at random within their schema ranges): supply = demand every step, every limit held, never
dearer than the merit-order baseline on the same inputs and the same cost model."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pytest

from twin.optimise.inputs import Inputs
from twin.optimise.plan import plan, reduced_models
from twin.params import Component

STEP_MIN = 60.0


def _with(component: Component, **values: object) -> Component:
    return replace(component, values=MappingProxyType({**component.values, **values}))


def random_inputs(base: Inputs, seed: int) -> Inputs:
    rng = np.random.default_rng(seed)
    plant, disp = base.plant, base.dispatch
    units, dunits = [], []
    for n in range(int(rng.integers(1, 3))):
        full = float(rng.uniform(9.5, 11.0))
        units.append(replace(_with(plant.coal_units[0], capacity_MW=float(rng.uniform(12, 30)),
                                   min_stable_fraction=float(rng.uniform(0.3, 0.6)),
                                   ramp_MW_per_min=float(rng.uniform(0.1, 1.0)),
                                   heat_rate_full_GJ_per_MWh=full,
                                   heat_rate_min_GJ_per_MWh=full + float(rng.uniform(-0.5, 1.5)),
                                   fuel_price_per_GJ=float(rng.uniform(2, 6))), name=f"G{n + 1}"))
        dunits.append(replace(_with(disp.coal_units[0], min_up_h=float(rng.integers(1, 5)),
                                    min_down_h=float(rng.integers(1, 5)),
                                    startup_cost=float(rng.uniform(0, 3000)),
                                    heat_rate_segments=int(rng.integers(1, 4))), name=f"G{n + 1}"))
    tariff = tuple(float(v) for v in rng.uniform(20, 150, 24).round(1))
    grid = _with(plant.grid, import_max_MW=80.0, export_max_MW=float(rng.uniform(0, 20)))
    ren = _with(plant.renewables, capacity_MW=float(rng.uniform(0, 15)),
                profile=tuple(float(v) for v in rng.uniform(0, 1, 24)))
    lo = float(rng.uniform(0.9, 1.0))
    line = _with(disp.potlines[0], current_min_fraction=lo, current_max_fraction=float(rng.uniform(1.0, 1.08)),
                 ramp_fraction_per_h=float(rng.uniform(0.02, 0.2)))
    tar = _with(disp.tariff, time_of_use_per_MWh=tariff, export_price_fraction=float(rng.uniform(0.2, 0.9)),
                tier_surcharge_CNY_per_kWh=float(rng.choice([0.0, 0.01])))
    solver = _with(disp.solver, mip_rel_gap=1e-6)
    new_plant = replace(plant, coal_units=tuple(units), grid=grid, renewables=ren)
    new_disp = replace(disp, coal_units=tuple(dunits), potlines=(line,), tariff=tar, solver=solver)
    return Inputs(new_plant, new_disp, base.plant_path)


@pytest.mark.parametrize("seed", range(8))
def test_random_plant_schedule_properties(small_inputs, seed):
    inputs = random_inputs(small_inputs, seed)
    models = reduced_models(inputs, STEP_MIN / 60.0)
    p = plan(inputs, horizon_h=12.0, step_min=STEP_MIN, models=models)
    s = p.schedule
    # supply = demand every step
    supply = s.coal_MW.sum(axis=0) + s.renewables_MW + s.import_MW - s.export_MW
    np.testing.assert_allclose(supply, s.demand_MW, rtol=1e-6, atol=1e-6)
    # limits
    grid = inputs.plant.grid
    assert np.all(s.import_MW <= grid["import_max_MW"] + 1e-6)
    assert np.all(s.export_MW <= grid["export_max_MW"] + 1e-6)
    assert np.all(s.renewables_MW <= inputs.plant.renewables["capacity_MW"] + 1e-6)
    for g, unit in enumerate(inputs.plant.coal_units):
        cap, p_min = unit["capacity_MW"], unit["min_stable_fraction"] * unit["capacity_MW"]
        on = s.on[g] == 1
        assert np.all(s.coal_MW[g][on] >= p_min - 1e-6)
        assert np.all(s.coal_MW[g][on] <= cap + 1e-6)
        assert np.all(s.coal_MW[g][~on] == 0.0)
        ramp = unit["ramp_MW_per_min"] * STEP_MIN
        both_on = on[1:] & on[:-1]
        assert np.all(np.abs(np.diff(s.coal_MW[g]))[both_on] <= ramp + 1e-6)
        # minimum up and down times inside the window
        up = int(np.ceil(inputs.dispatch.coal_units[g]["min_up_h"]))
        down = int(np.ceil(inputs.dispatch.coal_units[g]["min_down_h"]))
        for k in np.flatnonzero(np.diff(s.on[g]) == 1) + 1:
            assert np.all(s.on[g][k:k + up] == 1)
        for k in np.flatnonzero(np.diff(s.on[g]) == -1) + 1:
            assert np.all(s.on[g][k:k + down] == 0)
    disp = inputs.dispatch.potlines[0]
    model = models["S1"]
    nominal = model.I_nom_kA
    cur = s.current_kA[0]
    assert cur.min() >= disp["current_min_fraction"] * nominal - 1e-6
    assert cur.max() <= disp["current_max_fraction"] * nominal + 1e-6
    steps = np.abs(np.diff(np.concatenate([[nominal], cur])))
    assert steps.max() <= disp["ramp_fraction_per_h"] * nominal + 1e-6
    assert cur.sum() >= disp["production_fraction"] * nominal * len(cur) - 1e-6
    assert s.ledge_cm[0].min() >= model.ledge_min_cm + disp["ledge_margin_cm"] - 1e-6
    assert s.ledge_cm[0].max() <= model.ledge_max_cm - disp["ledge_margin_cm"] + 1e-6
    assert s.superheat_K[0].min() >= disp["superheat_min_K"] + disp["superheat_margin_K"] - 1e-6
    # never dearer than the merit-order baseline on the same inputs and cost model
    assert p.costs.total <= p.baseline_costs.total * (1 + 1e-6) + 1e-6
