"""Sweeps: grid and Monte-Carlo expansion, local process pool, Dask LocalCluster (issue 3); the results directory,
resume, per-variant failures and the command line's progress bar (issue 12 item 5). The Dask cluster of separate
processes with a killed worker is tests/scenario/test_sweep_dask.py."""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ProcessPoolExecutor

import pyarrow.parquet as pq
import pytest
from tests.scenario.conftest import DATA

from twin.cli import main
from twin.errors import ScenarioError
from twin.scenario import load_scenario, run_scenario
from twin.scenario.dask_executor import dask_executor
from twin.scenario.sweep import (
    MAX_AUTO_BATCH,
    Sweep,
    SweepIncompleteError,
    Variant,
    auto_batch,
    auto_batches,
    execute_sweep,
    load_sweep,
    run_batch,
    run_sweep,
)
from twin.scenario.sweep_store import META_KEY


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
        (4.15, 1),
        (4.15, 2),
        (4.25, 1),
        (4.25, 2),
    }


def test_local_pool_gives_each_variant_the_same_kpis_as_running_it_alone(sweep, local_table, tmp_path):
    """A variant in the sweep equals the same scenario run by itself (same file + seed → same results)."""
    rows = local_table.to_pylist()
    variant = sweep.variants[3]
    text = (
        (DATA / "small_base.toml")
        .read_text()
        .replace("horizon_h = 6.0", "horizon_h = 2.0")
        .replace("seed = 3", f"seed = {variant.settings['scenario.seed']}")
    )
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
scenario = "{DATA / "small_base.toml"}"
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


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('[sweep]\nscenario = "small_base.toml"\n', "exactly one of [grid] or [monte_carlo]"),
        ('[sweep]\nscenario = "nope.toml"\n[grid]\n"scenario.seed" = [1]\n', "sweep.scenario = 'nope.toml'"),
        ('[sweep]\nscenario = "small_base.toml"\n[grid]\n"scenario.seed" = 3\n', "grid.scenario.seed = 3"),
        ('[sweep]\nscenario = "small_base.toml"\n[grid]\n"plant.cells" = [1]\n', 'a key "scenario.<field>"'),
        (
            '[sweep]\nscenario = "small_base.toml"\n[grid]\n"overrides.control.target_voltage_V" = [9.9]\n',
            "control.target_voltage_V = 9.9 is invalid",
        ),
        ('[sweep]\nscenario = "small_base.toml"\n[monte_carlo]\nsamples = 0\n', "monte_carlo.samples = 0"),
        (
            '[sweep]\nscenario = "small_base.toml"\n[monte_carlo]\nsamples = 2\n[monte_carlo.parameters]\n'
            '"scenario.seed" = { distribution = "poisson" }\n',
            "distribution = 'poisson' is invalid",
        ),
        ("[sweep\n", "not valid TOML"),
    ],
)
def test_bad_sweep_files_are_rejected_with_a_clear_message(tmp_path, body, fragment):
    path = DATA / f"_bad_sweep_{os.getpid()}.toml"  # beside the data it names; one per test process (xdist)
    path.write_text(body)
    try:
        with pytest.raises(ScenarioError) as err:
            load_sweep(path)
    finally:
        path.unlink()
    assert fragment in str(err.value)
    assert path.name in str(err.value)


MC_TEXT = """[sweep]
scenario = "{base}"
[sweep.set]
"scenario.horizon_h" = 1.0
[monte_carlo]
samples = {samples}
seed = 5
[monte_carlo.parameters]
"overrides.control.target_voltage_V" = {{ distribution = "uniform", low = 4.1, high = 4.3 }}
"overrides.alumina.dissolution_rate_per_s" = {{ distribution = "loguniform", low = 0.001, high = 0.004 }}
"overrides.bath.alf3_excess_wtpct" = {{ distribution = "normal", mean = 13.5, sd = 1.5, low = 12.0, high = 15.0 }}
"scenario.seed" = {{ distribution = "integer", low = 1, high = 3 }}
"overrides.control.feed_strategy" = {{ distribution = "choice", values = ["tracking", "fixed"] }}
"""


def _mc(tmp_path, samples):
    path = tmp_path / f"mc{samples}.toml"
    path.write_text(MC_TEXT.format(base=DATA / "small_base.toml", samples=samples))
    return load_sweep(path)


def test_monte_carlo_draws_stay_in_the_file_ranges_and_do_not_depend_on_the_sample_count(tmp_path):
    many, few = _mc(tmp_path, 120), _mc(tmp_path, 5)
    assert [v.settings for v in few.variants] == [v.settings for v in many.variants[:5]]
    values = {key: [v.settings[key] for v in many.variants] for key in many.variants[0].settings}
    assert all(4.1 <= x <= 4.3 for x in values["overrides.control.target_voltage_V"])
    rate = values["overrides.alumina.dissolution_rate_per_s"]
    assert all(0.001 <= x <= 0.004 for x in rate)
    # log-uniform: half the draws below the geometric mean 0.002 (binomial sd 0.046 for 120 draws; uniform: 1/3)
    assert 0.35 < sum(x < 0.002 for x in rate) / len(rate) < 0.65
    alf3 = values["overrides.bath.alf3_excess_wtpct"]
    assert all(12.0 <= x <= 15.0 for x in alf3)
    assert min(alf3) < 12.5
    assert max(alf3) > 14.5
    assert set(values["scenario.seed"]) == {1, 2, 3}
    assert set(values["overrides.control.feed_strategy"]) == {"tracking", "fixed"}
    # the documented generator: variant k draws from PCG64(SeedSequence([seed, k])), parameters in file order
    import numpy as np

    assert values["overrides.control.target_voltage_V"][7] == np.random.default_rng([5, 7]).uniform(4.1, 4.3)


@pytest.mark.parametrize(
    ("distribution", "fragment"),
    [
        ('{ distribution = "uniform", low = 4.3, high = 4.1 }', "low = 4.3 is invalid; expected at most high = 4.1"),
        ('{ distribution = "uniform", low = 4.1 }', "missing field high; expected uniform {low, high}"),
        (
            '{ distribution = "uniform", low = 4.1, hi = 4.3 }',
            "hi = 4.3 is invalid; expected only the fields of uniform",
        ),
        ('{ distribution = "loguniform", low = 0.0, high = 1.0 }', "low = 0.0 is invalid; expected a number > 0"),
        ('{ distribution = "integer", low = 1.5, high = 3 }', "low = 1.5 is invalid; expected a whole number"),
        ('{ distribution = "normal", mean = 4.2, sd = -1 }', "sd = -1.0 is invalid"),
        ('{ distribution = "normal", mean = 4.2, sd = 0.001, low = 4.5, high = 4.6 }', "none in 1000 draws"),
        ('{ distribution = "uniform", low = 4.1, high = "x" }', "high = 'x' is invalid; expected a finite number"),
        ('{ distribution = "uniform", low = 1.0, high = 9.0 }', "control.target_voltage_V = "),
    ],
)
def test_bad_monte_carlo_parameters_are_rejected_in_one_line(tmp_path, distribution, fragment):
    path = tmp_path / "bad_mc.toml"
    path.write_text(
        f'[sweep]\nscenario = "{DATA / "small_base.toml"}"\n[monte_carlo]\nsamples = 3\n'
        f'[monte_carlo.parameters]\n"overrides.control.target_voltage_V" = {distribution}\n'
    )
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    message = str(err.value)
    assert fragment in message
    assert "bad_mc.toml" in message
    assert "\n" not in message


def test_results_stream_to_parts_and_a_resume_runs_only_what_is_missing(sweep, local_table, tmp_path):
    out = tmp_path / "out"
    seen = []
    first = execute_sweep(sweep, workers=2, out=out, batch=1, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert first.ran == (0, 1, 2, 3)
    assert first.tasks == 4
    assert first.table.to_pylist() == local_table.to_pylist() == pq.read_table(out).sort_by("variant").to_pylist()
    # a part lost (say the driver died before writing it): the resume reruns exactly its variant
    (out / "part-0000002.parquet").unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    again = execute_sweep(sweep, workers=1, out=out, resume=True)
    assert again.ran == (2,)
    assert again.resumed == (0, 1, 3)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet") if p.name in stamps} == stamps
    assert again.table.to_pylist() == local_table.to_pylist()
    meta = json.loads(pq.read_schema(out / "part-0000002.parquet").metadata[META_KEY])
    assert meta["digests"] == {"2": sweep.variants[2].digest}


def test_a_results_directory_is_never_overwritten_or_mixed_with_another_sweep(sweep, tmp_path):
    out = tmp_path / "out"
    execute_sweep(sweep, workers=1, out=out, batch=4)
    with pytest.raises(ScenarioError, match="already holds 1 parts of a sweep; pass --resume"):
        execute_sweep(sweep, workers=1, out=out)
    changed = Sweep(
        sweep.name,
        sweep.origin,
        sweep.base_dir,
        (*sweep.variants[:3], Variant(3, sweep.variants[3].settings, {**sweep.variants[3].document, "potroom": {}})),
    )
    with pytest.raises(ScenarioError, match="variant 3 was run with another scenario"):
        execute_sweep(changed, workers=1, out=out, resume=True)
    other = Sweep("other", sweep.origin, sweep.base_dir, sweep.variants)
    with pytest.raises(ScenarioError, match="holds results of sweep 'small-grid', not 'other'"):
        execute_sweep(other, workers=1, out=out, resume=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(ScenarioError, match="holds other files"):
        execute_sweep(sweep, workers=1, out=tmp_path / "mine")
    with pytest.raises(ScenarioError, match=r"--batch = 0 is invalid"):
        execute_sweep(sweep, workers=1, batch=0)


def test_a_failing_variant_costs_only_itself(sweep, tmp_path):
    bad_doc = {**sweep.variants[1].document, "scenario": {**sweep.variants[1].document["scenario"], "plant": "no.toml"}}
    broken = Sweep(
        sweep.name,
        sweep.origin,
        sweep.base_dir,
        (sweep.variants[0], Variant(1, sweep.variants[1].settings, bad_doc), *sweep.variants[2:]),
    )
    result = run_batch([(1, bad_doc), (0, sweep.variants[0].document)], sweep.origin, str(sweep.base_dir))
    assert set(result.kpis) == {0}
    assert "variant 1: scenario.plant = 'no.toml'" in result.errors[1]
    out = tmp_path / "out"
    run = execute_sweep(broken, workers=1, out=out, batch=2)
    assert run.ran == (0, 2, 3)
    assert set(run.failed) == {1}
    assert pq.read_table(out).num_rows == 3
    with pytest.raises(SweepIncompleteError, match=r"1 of 4 variants failed \(variant 1: "):
        run_sweep(broken, workers=1, out=out, resume=True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("flags", "terminal", "bar"), [((), True, True), (("--quiet",), True, False), ((), False, False)]
)
def test_the_progress_bar_goes_to_a_terminal_unless_quiet(tmp_path, monkeypatch, capsys, flags, terminal, bar):
    stderr = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    code = main(["sweep", str(DATA / "small_sweep.toml"), "--workers", "1", "--out", str(tmp_path / "o"), *flags])
    assert code == 0
    assert "sweep small-grid: 4 of 4 variants" in capsys.readouterr().out
    assert ("4/4" in stderr.getvalue()) == bar


@pytest.mark.parametrize("flags", [
    ("--workers", "0"),
    ("--workers", "1000"),  # accepted before (up to 1024 processes)
    ("--dask-local", "0"),  # ran the local pool instead, in silence
    ("--dask-local", "500"),  # started 500 Dask worker processes on a 2-core machine
    ("--dask-local", "-3"),
])
def test_local_worker_counts_beyond_the_machine_are_refused_before_anything_starts(tmp_path, capsys, flags):
    most = 4 * (os.cpu_count() or 1)
    if 1 <= int(flags[1]) <= most:  # a machine with 250+ CPUs may take 1000 workers; nothing to check there
        pytest.skip(f"{flags[1]} workers are within this machine's {most}")
    code = main(["sweep", str(DATA / "small_sweep.toml"), "--out", str(tmp_path / "o"), "--quiet", *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{flags[0]} = {flags[1]} is invalid; expected an integer in [1, {most}]" in err
    assert not (tmp_path / "o").exists()  # nothing ran


def test_a_scheduler_and_a_local_cluster_together_are_refused(tmp_path, capsys):
    code = main(["sweep", str(DATA / "small_sweep.toml"), "--scheduler", "tcp://127.0.0.1:1", "--dask-local", "2",
                 "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2
    assert "--scheduler and --dask-local are exclusive" in capsys.readouterr().err


class _CountingPool(ProcessPoolExecutor):
    """A real process pool that records how many of its tasks were unfinished at most when one was submitted."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.unfinished: list = []
        self.most = 0

    def submit(self, fn, /, *args, **kwargs):
        future = super().submit(fn, *args, **kwargs)
        self.unfinished = [f for f in self.unfinished if not f.done()] + [future]
        self.most = max(self.most, len(self.unfinished))
        return future


def test_only_a_window_of_tasks_is_handed_to_the_executor(sweep, local_table, monkeypatch):
    monkeypatch.setattr("twin.scenario.sweep.MIN_IN_FLIGHT", 2)
    monkeypatch.setattr("twin.scenario.sweep.IN_FLIGHT_PER_SLOT", 1)
    with _CountingPool() as pool:
        run = execute_sweep(sweep, pool, batch=1, slots=1)
    assert run.tasks == 4
    assert pool.most == 2
    assert run.table.to_pylist() == local_table.to_pylist()


@pytest.mark.parametrize(("variants", "slots"), [(1, 1), (4, 1), (20, 2), (32, 2), (128, 2), (1000, 2), (3, 8)])
def test_automatic_batches_cover_the_sweep_and_shrink_to_one_variant(variants, slots):
    sizes = auto_batches(variants, slots)
    assert sum(sizes) == variants  # every variant in exactly one task
    assert all(1 <= size <= MAX_AUTO_BATCH for size in sizes)
    assert sizes == sorted(sizes, reverse=True)  # large tasks first, so the slots end within one variant
    assert sizes[-1] == 1
    assert auto_batch(variants, slots) == sizes[0]


def test_automatic_batches_on_the_local_pool_give_the_same_table(sweep, local_table):
    run = execute_sweep(sweep, workers=1, slots=1)
    assert run.tasks == len(auto_batches(len(sweep.variants), 1)) > 1
    assert run.table.to_pylist() == local_table.to_pylist()
