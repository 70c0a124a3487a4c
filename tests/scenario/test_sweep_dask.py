"""A Monte-Carlo sweep on a Dask cluster of separate processes (`dask scheduler` + two `dask worker`), one worker
killed mid-sweep (issue 12 item 5): its tasks rerun on the other, every variant is written exactly once, and the
results equal the local process-pool runner's for the same variants; a crashed `twin sweep` resumes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.scenario.conftest import DATA

from twin.scenario import load_scenario, run_scenario
from twin.scenario.dask_executor import dask_executor
from twin.scenario.sweep import execute_sweep, load_sweep, run_sweep
from twin.scenario.sweep_store import META_KEY

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VARIANTS = 20


class DaskProcesses:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, started with the CLIs as a user would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: list[subprocess.Popen[bytes]] = []
        scheduler_file = directory / "scheduler.json"
        self._start(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--dashboard-address",
            "127.0.0.1:0",
            "--scheduler-file",
            str(scheduler_file),
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, (directory / "scheduler.log").read_text()
            time.sleep(0.05)
        time.sleep(0.1)  # the file is written in one go; let it land
        self.address = json.loads(scheduler_file.read_text())["address"]

    def _start(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{role}-{len(self.processes)}.log").open("wb")
        env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
        command = [str(BIN / "dask"), role, *args]
        process = subprocess.Popen(command, stdout=log, stderr=log, env=env, cwd=self.directory)
        self.processes.append(process)
        return process

    def add_worker(self) -> subprocess.Popen[bytes]:
        """One worker process with one thread and no nanny (so killing it is a real worker death)."""
        return self._start(
            "worker",
            self.address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--no-nanny",
            "--dashboard-address",
            "127.0.0.1:0",
            "--memory-limit",
            "0",
            "--local-directory",
            str(self.directory),
        )

    def stop(self) -> None:
        """Workers first, then the scheduler (a worker whose scheduler left first can hang on its way out)."""
        for group in (self.processes[1:], self.processes[:1]):
            for process in group:
                if process.poll() is None:
                    process.terminate()
            for process in group:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def mc_sweep_file(directory: Path, samples: int = VARIANTS, horizon_h: float = 12.0) -> Path:
    """The shipped 1 000-variant sweep (sweeps/monte_carlo_1000.toml) cut to `samples` variants."""
    text = (ROOT / "sweeps/monte_carlo_1000.toml").read_text()
    text = text.replace("samples = 1000", f"samples = {samples}")
    text = text.replace('"scenario.horizon_h" = 24.0', f'"scenario.horizon_h" = {horizon_h}')
    text = text.replace('"../scenarios/baseline.toml"', f'"{ROOT / "scenarios/baseline.toml"}"')
    path = directory / "mc.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    # compile (or load from the on-disk cache) the kernels once here, so the worker processes only load them
    run_scenario(load_scenario(DATA / "small_base.toml"))
    return load_sweep(mc_sweep_file(tmp_path_factory.mktemp("mc")))


@pytest.fixture(scope="module")
def local_table(sweep):
    return run_sweep(sweep, workers=2)


@pytest.fixture
def cluster(tmp_path):
    processes = DaskProcesses(tmp_path)
    try:
        yield processes
    finally:
        processes.stop()


def _parts(directory: Path) -> dict[str, dict]:
    return {p.name: json.loads(pq.read_schema(p).metadata[META_KEY]) for p in sorted(directory.glob("part-*.parquet"))}


def test_killed_worker_tasks_rerun_and_results_equal_the_local_runner(sweep, local_table, cluster, tmp_path):
    workers = {cluster.add_worker().pid: None, cluster.add_worker().pid: None}
    out = tmp_path / "out"
    killed: dict = {}
    with dask_executor(cluster.address, None) as executor:
        executor.client.wait_for_workers(2, timeout=60)
        pid_of = executor.client.run(os.getpid)  # worker address -> its process id
        assert set(pid_of.values()) == set(workers)

        def progress(done: int, total: int) -> None:
            if done and not killed:  # the first task has finished; the others are queued or running
                busy = {a: keys for a, keys in executor.client.processing().items() if keys}
                assert busy, "no worker is running a task; the sweep ended before the kill"
                victim = next(iter(busy))
                os.kill(pid_of[victim], signal.SIGKILL)
                killed.update(
                    address=victim,
                    pid=pid_of[victim],
                    tasks=list(busy[victim]),
                    done=done,
                    parts={p.name for p in out.glob("part-*.parquet")},
                )

        run = execute_sweep(sweep, executor, out=out, batch=2, slots=executor.slots, progress=progress)
        # the scheduler's log of each task the victim held: released by the worker's clean-up, then run to memory
        story = executor.client.story(*killed["tasks"])

    assert killed["tasks"], "the killed worker held no task"
    for key in killed["tasks"]:
        moves = [(e[2], e[3], e[5]) for e in story if e[0] == "scheduler" and e[1] == key]
        # lost with the worker (released from processing, or from memory when its result could not be gathered),
        # then run again to memory on the survivor
        released = [n for n, (_a, b, _why) in enumerate(moves) if b == "released"]
        assert released, moves
        assert ("processing", "memory") in [(a, b) for a, b, _ in moves[released[0]:]], moves
    assert killed["done"] < VARIANTS
    assert run.failed == {}
    assert run.ran == tuple(range(VARIANTS))
    # every variant is in exactly one part; the surviving worker ran the rest of the sweep
    parts = _parts(out)
    assert len(parts) == run.tasks == VARIANTS // 2
    ids = [int(k) for meta in parts.values() for k in meta["digests"]]
    assert sorted(ids) == list(range(VARIANTS))
    survivor = next(pid for pid in workers if pid != killed["pid"])
    after = [meta["ran_by"] for name, meta in parts.items() if name not in killed["parts"]]
    assert after
    # the survivor ran what was left; a task the victim finished just before the kill may still reach the driver
    # (and be written) after it, so not every later part is the survivor's (seen once on a clean-clone CI run)
    assert any(ran_by.endswith(f":{survivor}") for ran_by in after)
    victim_parts = [meta for meta in parts.values() if meta["ran_by"].endswith(f":{killed['pid']}")]
    assert len(victim_parts) < len(parts)
    # the same variants give identical results on Dask and on the local process pool
    assert run.table.to_pylist() == local_table.to_pylist()
    assert pq.read_table(out).sort_by("variant").to_pylist() == local_table.to_pylist()

    # run again on the same directory: everything is resumed, nothing run or rewritten
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("part-*.parquet")}
    with dask_executor(cluster.address, None) as executor:
        again = execute_sweep(sweep, executor, out=out, resume=True)
    assert again.ran == ()
    assert again.resumed == tuple(range(VARIANTS))
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("part-*.parquet")} == stamps


def test_a_killed_twin_sweep_resumes_where_it_stopped(sweep, local_table, tmp_path):
    """`twin sweep` killed (SIGKILL, with its pool) after its first parts: `--resume` keeps them and runs the rest."""
    out = tmp_path / "out"
    command = [str(BIN / "twin"), "sweep", sweep.origin, "--out", str(out), "--workers", "1", "--batch", "2", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # generous: a cold numba cache compiles in the CLI's worker first
        while len(list(out.glob("part-*.parquet"))) < 2:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its worker process (its own session)
        process.communicate()
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("part-*.parquet")}
    assert 2 <= len(before) < VARIANTS // 2

    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    done = sum(len(meta["digests"]) for name, meta in _parts(out).items() if name in before)
    assert f"{VARIANTS - done} run now" in resumed.stdout
    assert f"{done} resumed" in resumed.stdout
    assert {
        n: s
        for n, s in ((p.name, (p.stat().st_ino, p.stat().st_mtime_ns)) for p in out.glob("part-*.parquet"))
        if n in before
    } == before
    assert pq.read_table(out).sort_by("variant").to_pylist() == local_table.to_pylist()
