"""Sweeps: grid and Monte-Carlo expansion, local process pool, Dask LocalCluster (issue 3)."""

from __future__ import annotations

import pytest
from tests.scenario.conftest import DATA

from twin.errors import ScenarioError
from twin.scenario import load_scenario, run_scenario
from twin.scenario.dask_executor import dask_executor
from twin.scenario.sweep import load_sweep, run_sweep


@pytest.fixture(scope="module")
def sweep():
    return load_sweep(DATA / "small_sweep.toml")


@pytest.fixture(scope="module")
def local_table(sweep):
    return run_sweep(sweep, workers=2)


def test_grid_expands_to_the_full_factorial(sweep):
    settings = [dict(v.settings) for v in sweep.variants]
    assert len(settings) == 4
    assert {(s["overrides.control.target_voltage_V"], s["scenario.seed"]) for s in settings} == {
        (4.15, 1), (4.15, 2), (4.25, 1), (4.25, 2)}


def test_local_pool_gives_each_variant_the_same_kpis_as_running_it_alone(sweep, local_table, tmp_path):
    """A variant in the sweep equals the same scenario run by itself (same file + seed → same results)."""
    rows = local_table.to_pylist()
    variant = sweep.variants[3]
    text = (DATA / "small_base.toml").read_text() .replace("horizon_h = 6.0", "horizon_h = 2.0").replace(
        "seed = 3", f"seed = {variant.settings['scenario.seed']}")
    text += f'\n[overrides]\n"control.target_voltage_V" = {variant.settings["overrides.control.target_voltage_V"]}\n'
    path = tmp_path / "alone.toml"
    path.write_text(text.replace("../../models", str(DATA.parent.parent / "models")))
    alone = run_scenario(load_scenario(path))
    assert rows[3]["production_t"] == alone.kpis["production_t"]
    assert rows[3]["mean_power_MW"] == alone.kpis["mean_power_MW"]
    # a higher target voltage draws more power
    assert rows[2]["mean_power_MW"] > rows[0]["mean_power_MW"]


def test_dask_local_cluster_gives_the_same_results_as_the_local_runner(sweep, local_table):
    with dask_executor(None, 2) as executor:
        dask_table = run_sweep(sweep, executor=executor)
    assert dask_table.to_pylist() == local_table.to_pylist()


def test_monte_carlo_draws_are_reproducible_and_in_range(tmp_path):
    text = f'''[sweep]
scenario = "{DATA / 'small_base.toml'}"
[monte_carlo]
samples = 5
seed = 11
[monte_carlo.parameters]
"overrides.control.target_voltage_V" = {{ distribution = "uniform", low = 4.1, high = 4.3 }}
'''
    path = tmp_path / "mc.toml"
    path.write_text(text)
    first = [v.settings["overrides.control.target_voltage_V"] for v in load_sweep(path).variants]
    again = [v.settings["overrides.control.target_voltage_V"] for v in load_sweep(path).variants]
    assert first == again
    assert len(set(first)) == 5
    assert all(4.1 <= x <= 4.3 for x in first)


@pytest.mark.parametrize(("body", "fragment"), [
    ('[sweep]\nscenario = "small_base.toml"\n', "exactly one of [grid] or [monte_carlo]"),
    ('[sweep]\nscenario = "nope.toml"\n[grid]\n"scenario.seed" = [1]\n', "sweep.scenario = 'nope.toml'"),
    ('[sweep]\nscenario = "small_base.toml"\n[grid]\n"scenario.seed" = 3\n', "grid.scenario.seed = 3"),
    ('[sweep]\nscenario = "small_base.toml"\n[grid]\n"plant.cells" = [1]\n', 'a key "scenario.<field>"'),
    ('[sweep]\nscenario = "small_base.toml"\n[grid]\n"overrides.control.target_voltage_V" = [9.9]\n',
     "control.target_voltage_V = 9.9 is invalid"),
    ('[sweep]\nscenario = "small_base.toml"\n[monte_carlo]\nsamples = 0\n', "monte_carlo.samples = 0"),
    ('[sweep]\nscenario = "small_base.toml"\n[monte_carlo]\nsamples = 2\n[monte_carlo.parameters]\n'
     '"scenario.seed" = { distribution = "poisson" }\n', "distribution = 'poisson' is invalid"),
    ("[sweep\n", "not valid TOML"),
])
def test_bad_sweep_files_are_rejected_with_a_clear_message(tmp_path, body, fragment):
    path = DATA / "_bad_sweep.toml"
    path.write_text(body)
    try:
        with pytest.raises(ScenarioError) as err:
            load_sweep(path)
    finally:
        path.unlink()
    assert fragment in str(err.value)
    assert "_bad_sweep.toml" in str(err.value)
