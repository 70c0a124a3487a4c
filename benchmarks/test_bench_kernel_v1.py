"""The rebuilt cell kernel against the kernel it replaced, in the same run (issue 8 "Speed").

Issue 8 asks that the multi-node heat balance, the ledge chemistry and the Na2O/AE bookkeeping cost at most
10 % of the cell-steps/s with control at slow_every 60. "Today's kernel" is the one on main before the thermal
rebuild, commit ``V1_COMMIT``: it is taken from the repository's own history with ``git archive`` (no copy of
old code is kept in the tree), its package renamed ``twin_v1`` so both load in one process, and run on the
same 400 HAL275 cells, the same hour and the same core, one after the other in each round.

The ratio is reported in ``extra_info`` (``new_over_v1``), never asserted; figures and machine in
benchmarks/README.md. Without git or without the commit (a shallow clone) the benchmark skips and says why.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from ceiling import ceiling_rate

from twin.cell import Potline
from twin.params import load_technology

V1_COMMIT = "5557bdc71438707d62785f3f9895b67f2ab1846e"  # parent of 92dcc81, the thermal rebuild
ROOT = Path(__file__).resolve().parents[1]
N_CELLS, N_STEPS, KA, SLOW_EVERY = 400, 3600, 300.0, 60


@pytest.fixture(scope="module")
def twin_v1(tmp_path_factory):
    """The previous kernel's package, extracted from git history as ``twin_v1`` (or a skip with the reason)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the previous kernel is read from the repository history")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", V1_COMMIT, "src/twin", "models"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {V1_COMMIT[:10]} is not in this clone (shallow?): {archive.stderr.decode().strip()}")
    target = tmp_path_factory.mktemp("v1")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    package = target / "src" / "twin"
    for source in package.rglob("*.py"):  # rename the package so it does not shadow the installed twin
        text = source.read_text(encoding="utf-8")
        text = re.sub(r"\b(from|import) twin\b", r"\1 twin_v1", text)
        text = re.sub(r"([\"'])twin\.", r"\1twin_v1.", text)  # package-data lookups (schema CSVs)
        source.write_text(text, encoding="utf-8")
    package.rename(target / "src" / "twin_v1")
    sys.path.insert(0, str(target / "src"))
    try:
        from twin_v1.cell import Potline as PotlineV1
        from twin_v1.params import load_technology as load_v1
    finally:
        sys.path.remove(str(target / "src"))
    return PotlineV1, load_v1(target / "models" / "hal275.toml")


def _rate(line, rounds: int) -> float:
    line.advance(600, KA)  # compiled and warm
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        line.advance(N_STEPS, KA)
        best = min(best, time.perf_counter() - start)
    return N_CELLS * N_STEPS / best


def _cpu_rate(line) -> float:
    start = time.process_time()
    line.advance(N_STEPS, KA)
    return N_CELLS * N_STEPS / (time.process_time() - start)


def test_kernel_against_the_previous_kernel(benchmark, twin_v1) -> None:
    potline_v1, tech_v1 = twin_v1
    tech = load_technology(ROOT / "models" / "hal275.toml")
    new = Potline(tech, N_CELLS, seed=1, slow_every=SLOW_EVERY, stop_on=())
    old = potline_v1(tech_v1, N_CELLS, seed=1, slow_every=SLOW_EVERY, stop_on=())
    rounds = 1 if benchmark.disabled else 5
    rates = {"v1": [], "new": []}
    for _ in range(rounds):  # interleaved, so a busy spell on a shared machine hits both
        rates["v1"].append(_rate(old, 1))
        rates["new"].append(_rate(new, 1))
    benchmark.pedantic(new.advance, args=(N_STEPS, KA), rounds=1 if benchmark.disabled else 3, iterations=1)
    best_new, best_v1 = max(rates["new"]), max(rates["v1"])
    ceiling = ceiling_rate(N_CELLS, N_STEPS, rounds)  # the arithmetic ceiling (benchmarks/ceiling.py), same run
    cpu = {
        "v1": _cpu_rate(old),
        "new": _cpu_rate(new),
        "ceiling": ceiling_rate(N_CELLS, N_STEPS, 1, clock=time.process_time),
    }
    benchmark.extra_info.update(
        cell_steps_per_s=best_new,
        v1_cell_steps_per_s=best_v1,
        new_over_v1=best_new / best_v1,
        slow_every=SLOW_EVERY,
        ceiling_cell_steps_per_s=ceiling,
        fraction_of_ceiling=best_new / ceiling,
        v1_fraction_of_ceiling=best_v1 / ceiling,
        # by this process's CPU time (one hour each, after the rounds): steadier under other jobs' load
        new_over_v1_cpu=cpu["new"] / cpu["v1"],
        fraction_of_ceiling_cpu=cpu["new"] / cpu["ceiling"],
    )
    # both kernels run the same cell at its operating point: a physical answer, not a timing
    assert 3.9 < float(new.snapshot().outputs["v_cell"].mean()) < 4.5
    assert 3.9 < float(old.snapshot().outputs["v_cell"].mean()) < 4.5
