"""The optimiser's schedule as a scenario event (twin.plant.schedule, twin.optimise.export)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.errors import ScenarioError
from twin.optimise.export import write_schedule_scenario
from twin.params import load_plant
from twin.scenario import load_scenario, scenario_from_text
from twin.scenario.runner import build_plant

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_exported_schedule_runs_and_the_cells_carry_its_currents(tmp_path: Path) -> None:
    """A schedule written as the optimiser writes it runs with twin's scenario loader, and the current the cells
    carried (their own charge counter, per step) is the scheduled one; a decommitted unit makes nothing."""
    plant_spec = load_plant(MODELS / "plant_small_hx.toml")
    steps, dt_h = 4, 0.25
    current = np.array([[300.0, 285.0, 315.0, 300.0]])
    duty = np.array([[100.0, 50.0, 200.0, 100.0]])
    on = np.array([[1, 1, 1, 0]])
    path = write_schedule_scenario(tmp_path / "out", plant_spec, dt_h, current, duty, on, seed=2)
    scenario = load_scenario(path)
    assert scenario.horizon_h == pytest.approx(steps * dt_h)
    plant = build_plant(scenario)
    line = plant.lines[0]
    charges, duties = [], []
    for k in range(steps):
        plant.env.run(until=(k + 1) * dt_h * 3600.0 - 1.0)
        plant.sync()
        charges.append(float(line.potline.values("charge_C").sum()))
        duties.append(float(line.potline.values("q_hx_W").mean()) / 1e3)
        if k == 3:
            assert plant.units_available == [False]
    plant.env.run(until=steps * dt_h * 3600.0)
    plant.close_interval()
    carried = np.diff([0.0, *charges]) / (dt_h * 3600.0 - 1.0) / 1e3 / line.potline.n_cells
    # each step's current (the last one's supply is short without the unit: the plant sheds current then)
    assert carried[:3] == pytest.approx(current[0, :3], rel=2e-3)
    assert carried[3] < current[0, 3]
    for rec in plant.records:
        if rec.start_s >= 0.75 * 3600:
            assert rec.coal_MW == (0.0,)
    assert duties[2] > duties[1]  # the exchangers were asked for more


def test_bad_schedules_are_one_line_errors(tmp_path: Path) -> None:
    plant = (MODELS / "plant_small.toml").as_posix()

    def error(csv: str) -> str:
        (tmp_path / "s.csv").write_text(csv)
        text = f'[scenario]\nname = "s"\nplant = "{plant}"\nhorizon_h = 1\nseed = 1\n'
        text += '[[event]]\nkind = "schedule"\nat_h = 0\ncsv = "s.csv"\n'
        with pytest.raises(ScenarioError) as exc:
            scenario_from_text(text, "s.toml", base_dir=tmp_path)
        assert "\n" not in str(exc.value)
        return str(exc.value)

    assert "unknown column 'P9_current_kA'" in error("time_h,S1_current_kA,P9_current_kA\n0,300,300\n")
    assert "missing column 'S1_current_kA'" in error("time_h,G1_on\n0,1\n")
    assert "expected a number in [0, 700]" in error("time_h,S1_current_kA\n0,900\n")
    assert "expected hours from 0, strictly rising" in error("time_h,S1_current_kA\n0,300\n0,290\n")
    assert "column G1_on = 0.5 is invalid" in error("time_h,S1_current_kA,G1_on\n0,300,0.5\n")
    assert "expected a number in [0, 0]" in error("time_h,S1_current_kA,S1_duty_kW\n0,300,10\n")  # no exchangers
