"""The `twin` command line as a user runs it: a real subprocess (issue 3, design.md input rules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.scenario.conftest import DATA

TWIN = [sys.executable, "-m", "twin.cli"]


def _twin(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TWIN, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    done = _twin("run", str(DATA / "small_base.toml"), "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "production_t" in done.stdout
    return out


def test_run_prints_kpis_as_json():
    done = _twin("run", str(DATA / "small_base.toml"), "--json", "--no-progress")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["scenario"] == "small_base"
    assert doc["kpis"]["production_t"] > 0


def test_run_writes_parquet_time_series(results_dir):
    assert (results_dir / "kpis.json").exists()
    import pyarrow.parquet as pq

    table = pq.read_table(results_dir / "timeseries.parquet")
    assert table.num_rows == 6 * 12  # one row per 5-min interval over 6 h
    assert "S1_current_kA" in table.column_names


def test_run_writes_csv_on_request(tmp_path):
    done = _twin("run", str(DATA / "small_base.toml"), "--out", str(tmp_path), "--format", "csv", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "timeseries.csv").read_text().startswith('"time_h"')


def test_compare_two_results_shows_deltas(results_dir, tmp_path):
    other = tmp_path / "b"
    done = _twin("run", str(DATA / "small_base.toml"), "--seed", "9", "--out", str(other), "--no-progress")
    assert done.returncode == 0, done.stderr
    done = _twin("compare", str(results_dir), str(other), "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["kpi"]: r for r in json.loads(done.stdout)}
    row = rows["mean_power_MW"]
    assert row["delta"] == pytest.approx(row["b"] - row["a"])


def test_report_is_html_with_plots(results_dir):
    done = _twin("report", str(results_dir), "--baseline", str(results_dir))
    assert done.returncode == 0, done.stderr
    html = (results_dir / "report.html").read_text()
    # current, supply, import cost, voltage histogram, alumina, superheat, ledge
    assert html.count("data:image/png;base64,") == 8  # with the power-side CO2 rate
    assert "production_t" in html


def test_user_error_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\nplant = "p.toml"\nhorizon_h = "long"\nseed = 1\n')
    done = _twin("run", str(bad))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "scenario.horizon_h = 'long' is invalid" in done.stderr
    assert str(bad) in done.stderr


def test_an_out_path_that_is_a_file_is_one_line_before_the_run(tmp_path):
    """`--out` naming an existing file used to end a finished run with a FileExistsError traceback: the whole
    simulation was lost. It is now a user error before the run, and the file is left alone."""
    existing = tmp_path / "afile"
    existing.write_text("keep me")
    done = _twin("run", str(DATA / "small_base.toml"), "--out", str(existing), "--no-progress")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"--out = {str(existing)!r} is a file" in done.stderr
    assert "production_t" not in done.stdout  # refused before the run
    assert existing.read_text() == "keep me"


def test_missing_results_directory_is_a_user_error(tmp_path):
    done = _twin("report", str(tmp_path / "none"))
    assert done.returncode == 2
    assert "not a results directory" in done.stderr


def _damaged_copy(results_dir: Path, tmp_path: Path, damage: str) -> tuple[Path, str]:
    """A copy of a real results directory with one file damaged; returns it and the error the user must see."""
    copy = tmp_path / "damaged"
    copy.mkdir()
    for f in results_dir.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    doc = json.loads((results_dir / "kpis.json").read_text())
    if damage == "parquet":
        (copy / "timeseries.parquet").write_bytes(b"PAR1" + os.urandom(500))
        return copy, f"{copy / 'timeseries.parquet'}: not a readable parquet table"
    if damage == "list":
        (copy / "kpis.json").write_text("[1, 2]")
        return copy, f"{copy / 'kpis.json'}: not a results file; expected a JSON object, found list"
    if damage == "missing":
        del doc["kpis"]
        (copy / "kpis.json").write_text(json.dumps(doc))
        return copy, f"{copy / 'kpis.json'}: kpis is missing; expected an object of KPI name = number"
    doc["kpis"]["production_t"] = "lots"
    (copy / "kpis.json").write_text(json.dumps(doc))
    return copy, f"{copy / 'kpis.json'}: kpis = "


@pytest.mark.parametrize("damage", ["parquet", "list", "missing", "text_kpi"])
@pytest.mark.parametrize("command", ["report", "compare"])
def test_a_damaged_results_directory_is_one_line_naming_the_file(results_dir, tmp_path, damage, command):
    """Each of these was a traceback (ArrowInvalid, KeyError, TypeError) from `twin report` or `twin compare`."""
    damaged, message = _damaged_copy(results_dir, tmp_path, damage)
    args = ("report", str(damaged)) if command == "report" else ("compare", str(results_dir), str(damaged))
    done = _twin(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert message in done.stderr


def test_a_report_that_cannot_be_written_is_one_line(results_dir, tmp_path):
    done = _twin("report", str(results_dir), "-o", str(tmp_path))  # a directory
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"--output = {str(tmp_path)!r}: the report cannot be written there (Is a directory)" in done.stderr


def _unreadable(kind: str, tmp_path: Path) -> tuple[Path, str]:
    import os

    if kind == "non-utf8":
        path = tmp_path / "latin1.toml"
        path.write_bytes('[scenario]\nname = "Fonderie à Dunkerque"\n'.encode("latin-1"))
        return path, "not UTF-8 text (byte 0xe0"
    if kind == "directory":
        return tmp_path, "it is a directory; expected a regular file"
    if kind == "fifo":
        path = tmp_path / "pipe.toml"
        os.mkfifo(path)
        return path, "it is a FIFO; expected a regular file"
    return Path("/dev/zero"), "it is a character device; expected a regular file"


@pytest.mark.parametrize("kind", ["non-utf8", "directory", "fifo", "dev-zero"])
def test_run_on_an_unreadable_file_is_one_line_naming_it(tmp_path, kind):
    """Issue 9 item 13: a non-UTF-8 file, a directory, /dev/zero or a FIFO gives one line, no traceback,
    no hang (the subprocess timeout would fail the test), no unbounded read."""
    path, fragment = _unreadable(kind, tmp_path)
    done = subprocess.run([*TWIN, "run", str(path), "--no-progress"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"twin: error: {path}: ")
    assert fragment in lines[0]


def test_a_plant_file_that_is_a_device_is_one_line(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text('[scenario]\nname = "x"\nplant = "/dev/zero"\nhorizon_h = 1.0\nseed = 1\n')
    done = subprocess.run([*TWIN, "run", str(scenario), "--no-progress"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "/dev/zero: cannot read file (it is a character device; expected a regular file)" in done.stderr


def test_run_on_two_threads_gives_the_same_kpis_as_on_one(tmp_path):
    """`twin run --threads 2` advances the reference plant's two potlines in parallel threads; the KPIs are the
    same as on one thread (the lines are booked in order); a bad count is a one-line error."""
    models = Path(__file__).resolve().parents[2] / "models"
    scenario = tmp_path / "two_lines.toml"
    scenario.write_text(
        f'[scenario]\nname = "two_lines"\nplant = "{models / "plant_reference.toml"}"\nhorizon_h = 2.0\nseed = 7\n'
    )
    one = _twin("run", str(scenario), "--json", "--no-progress", "--threads", "1")
    two = _twin("run", str(scenario), "--json", "--no-progress", "--threads", "2")
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert json.loads(one.stdout)["kpis"] == json.loads(two.stdout)["kpis"]
    bad = _twin("run", str(scenario), "--threads", "0")
    assert bad.returncode != 0
    assert "--threads = 0 is invalid; expected an integer in [1, 64]" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_reader_that_stops_early_ends_the_command_quietly(unbuffered):
    """`twin run ... | head -1` where head has gone before the KPIs are printed: no traceback, SIGPIPE's status, with
    stdout block-buffered (the error then comes at the final flush) and unbuffered (at the first print)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    run = subprocess.Popen(
        [*TWIN, "run", str(DATA / "small_base.toml"), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert run.stdout is not None
    run.stdout.close()  # the reader is gone long before the run (imports, compile cache, 6 h) prints anything
    stderr = run.stderr.read() if run.stderr is not None else ""
    assert run.wait(timeout=300) == 141, stderr
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
