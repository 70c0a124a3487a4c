"""Root of the test tree (tests/, benchmarks/, edge/tests/): how pytest-xdist shares the suite between workers.

``scripts/test`` runs the suite on two worker processes (``-n 2 --dist loadgroup``): the CPU-bound tests (cell
kernels, plant, scenarios, validation, the optimiser, the compute benchmarks) are spread over both, while every
test that uses a shared service or the network (the Mosquitto broker on 127.0.0.1:1883, PostgreSQL's ``test``
database, HTTP and Modbus servers, a Dask cluster, a browser) is put in one group, ``io``, which one worker runs
in order, as the whole suite ran before. So no two tests contend for one broker topic, database schema or
port, and the suite takes about half its single-process time on a 2-core machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
#: directories and files (relative to the repository) whose tests use shared services, ports or processes
IO_PATHS = (
    "tests/api", "tests/telemetry", "tests/service", "tests/store", "tests/live/test_end_to_end.py",
    "tests/live/test_advice_api.py", "edge/tests",
    "tests/optimise/test_api.py", "tests/scenario/test_sweep_dask.py", "tests/test_readme.py",
    "benchmarks/test_bench_api.py", "benchmarks/test_bench_gateway.py", "benchmarks/test_bench_ingest.py",
    "benchmarks/test_bench_soak.py", "benchmarks/test_bench_store.py", "benchmarks/test_bench_sweep.py",
    "benchmarks/test_bench_live.py",
)


def _uses_io(path: Path) -> bool:
    try:
        relative = path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return True  # outside the repository: run it with the io group, in order
    return any(relative == p or relative.startswith(p + "/") for p in IO_PATHS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    io = pytest.mark.xdist_group(name="io")
    for item in items:
        if _uses_io(Path(str(item.path))) or any(item.iter_markers(m) for m in ("mqtt", "postgres", "browser")):
            item.add_marker(io)
