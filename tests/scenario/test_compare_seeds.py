"""`twin compare A B --seeds N`: a difference told apart from the runs' own noise (docs/validation.md's review:
"`twin compare` gives no noise band: a seed moves AEs by ±1–2 and bath tapped by up to 50 %").

Both scenarios run for each of N seeds (paired); per KPI the mean of each and the range of the paired differences,
flagged when the seeds disagree on its sign. Through the real command line, as a user runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.scenario.conftest import DATA

from twin.errors import ScenarioError
from twin.scenario.compare import seed_bands

TWIN = [sys.executable, "-m", "twin.cli"]
BASE = DATA / "small_base.toml"
OUTAGE = '\n[[event]]\nkind = "outage"\nat_h = 2.0\nduration_h = 1.0\npotline = "all"\n'


def _twin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TWIN, *args], capture_output=True, text=True, timeout=300)


def _variant(tmp_path: Path) -> Path:
    text = BASE.read_text().replace("../../models/", f"{(DATA.parents[1] / 'models').as_posix()}/")
    path = tmp_path / "small_outage.toml"
    path.write_text(text.replace('name = "small_base"', 'name = "small_outage"') + OUTAGE)
    return path


def test_the_same_scenario_against_itself_differs_in_nothing_on_any_seed() -> None:
    done = _twin("compare", str(BASE), str(BASE), "--seeds", "3", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["seeds"] == [3, 4, 5]  # the baseline's seed (3) and the next two
    assert all(d == 0.0 for row in doc["kpis"] for d in row["deltas"])  # paired: each seed run by both alike
    assert all(row["within_noise"] for row in doc["kpis"])
    production = next(row for row in doc["kpis"] if row["kpi"] == "production_t")
    assert production["a_mean"] > 0


def test_an_outage_is_told_apart_from_the_noise_and_a_small_effect_is_not(tmp_path: Path) -> None:
    done = _twin("compare", str(BASE), str(_variant(tmp_path)), "--seeds", "2", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["kpi"]: row for row in json.loads(done.stdout)["kpis"]}
    # an hour without current costs an hour's metal on every seed
    production = rows["production_t"]
    assert production["delta_max"] < 0.0
    assert not production["within_noise"]
    assert len(production["deltas"]) == 2
    assert production["delta_mean"] == pytest.approx(sum(production["deltas"]) / 2)


def test_the_table_names_the_seeds_and_flags_noise(tmp_path: Path) -> None:
    done = _twin("compare", str(BASE), str(_variant(tmp_path)), "--seeds", "2")
    assert done.returncode == 0, done.stderr
    assert "KPIs over seeds 3–4, each run by both scenarios" in done.stdout
    line = next(x for x in done.stdout.splitlines() if x.startswith("production_t "))
    assert "within noise" not in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--seeds", "1"), "--seeds = 1 is invalid; expected a whole number in [2, 20]"),
        (("--seeds", "500"), "--seeds = 500 is invalid"),
        (("--seeds", "2", "--per-day"), "--per-day is for runs of different horizons"),
    ],
)
def test_bad_seed_requests_are_refused_in_one_line(args: tuple[str, ...], message: str) -> None:
    done = _twin("compare", str(BASE), str(BASE), *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_results_directory_is_refused_naming_it(tmp_path: Path) -> None:
    done = _twin("compare", str(BASE), str(tmp_path), "--seeds", "2")
    assert done.returncode != 0
    assert f"{tmp_path} is a results directory" in done.stderr


def test_seed_bands_pairs_the_runs_seed_by_seed() -> None:
    pairs = [({"x": 1.0, "y": 5.0}, {"x": 2.0, "y": 4.0}), ({"x": 3.0, "y": 5.0}, {"x": 3.5, "y": 6.0})]
    x, y = seed_bands(pairs)
    assert (x.a_mean, x.b_mean, x.deltas) == (2.0, 2.75, (1.0, 0.5))
    assert not x.within_noise  # both seeds say up
    assert y.deltas == (-1.0, 1.0)
    assert y.within_noise  # the seeds disagree on the sign
    assert (x.verdict, y.verdict) == ("", "within noise")
    (z,) = seed_bands([({"z": 2.0}, {"z": 2.0}), ({"z": 3.0}, {"z": 3.0})])
    assert z.verdict == "no difference"
    with pytest.raises(ScenarioError):
        seed_bands([])


def test_a_kpi_equal_on_every_seed_is_flagged_as_no_difference() -> None:
    done = _twin("compare", str(BASE), str(BASE), "--seeds", "2")
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("production_t "))
    assert line.rstrip().endswith("no difference")


def test_runs_of_other_horizons_are_refused_naming_both(tmp_path: Path) -> None:
    longer = tmp_path / "small_longer.toml"
    longer.write_text(_variant(tmp_path).read_text().replace("horizon_h = 6.0", "horizon_h = 8.0"))
    done = _twin("compare", str(BASE), str(longer), "--seeds", "2")
    assert done.returncode != 0
    assert "horizons differ: small_base ran 6 h, small_outage ran 8 h" in done.stderr
    assert "Traceback" not in done.stderr
